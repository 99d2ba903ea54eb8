"""Configuration: a TOML file plus ``INCIDENTKIT_*`` environment overrides.

Lookup order for the file: ``--config``, then ``$INCIDENTKIT_CONFIG``, then ``config.toml`` in
the user directory. ``INCIDENTKIT_HOME`` moves all user state (config and database).

Every key can be overridden by ``INCIDENTKIT_<SECTION>_<KEY>`` and, for a wiki,
``INCIDENTKIT_WIKIS_<NAME>_<KEY>``. Secrets are never stored here: keys ending in ``_env`` hold
the *name* of the environment variable that holds the secret. The schema is the dataclasses
below; an unknown key or a wrong type is a ConfigError that names the key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError, IncidentKitError, InputError

__all__ = [
    "Settings",
    "WikiSettings",
    "OncallSettings",
    "BusinessHoursSettings",
    "load_settings",
    "user_dir",
    "cache_dir",
    "config_path",
    "db_path",
    "asset_path",
    "read_secret",
    "read_user_text",
    "read_text_if_file",
    "write_user_text",
    "write_user_file",
    "secret_values",
    "shown_path",
    "user_path",
    "settings_as_dict",
]

ENV_PREFIX = "INCIDENTKIT_"


@dataclass(frozen=True, slots=True)
class WikiSettings:
    """One MediaWiki (``[wikis.NAME]``): where its api.php lives and how to log in."""

    url: str = ""
    user: str = ""
    password_env: str = "INCIDENTKIT_WIKI_PASSWORD"
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class SalSettings:
    """``[sal]``: which wiki and which pages hold the Server Admin Log."""

    wiki: str = ""
    pages: list[str] = field(default_factory=lambda: ["Server Admin Log"])


@dataclass(frozen=True, slots=True)
class PhabricatorSettings:
    """``[phabricator]``: the Conduit endpoint and what counts as incident work."""

    url: str = ""
    token_env: str = "INCIDENTKIT_PHABRICATOR_TOKEN"
    timeout: float = 30.0
    retries: int = 3
    # projects by name, a hashtag or a PHID: names are what Wikimedia's projects are known by
    projects: list[str] = field(default_factory=lambda: ["Wikimedia-production-error"])
    followup_projects: list[str] = field(
        default_factory=lambda: ["Sustainability (Incident Followup)", "SRE-OnFIRE (Pending Review & Scorecard)"]
    )
    comments: bool = False


@dataclass(frozen=True, slots=True)
class PrometheusSettings:
    """``[prometheus]``: a Prometheus or Thanos Query endpoint holding ``ALERTS`` history."""

    url: str = ""
    selector: str = 'ALERTS{alertstate="firing"}'
    step: int = 60
    padding_minutes: int = 60
    timeout: float = 30.0
    thanos: bool = False
    paging_labels: dict[str, str] = field(default_factory=lambda: {"severity": "page"})
    user: str = ""  # HTTP basic auth user (with password_env), e.g. for an authenticating proxy
    password_env: str = ""
    token_env: str = ""  # sent as "Authorization: Bearer <token>"


@dataclass(frozen=True, slots=True)
class AlertmanagerSettings:
    """``[alertmanager]``: live alerts and silences (Alertmanager keeps no alert history).

    ``path`` is an optional webhook payload log (JSON lines, e.g. alertmanager-webhook-logger
    output), a file or a folder, read as alert history.
    """

    url: str = ""
    timeout: float = 30.0
    path: str = ""
    user: str = ""  # HTTP basic auth user (with password_env), e.g. for an authenticating proxy
    password_env: str = ""
    token_env: str = ""  # sent as "Authorization: Bearer <token>"


@dataclass(frozen=True, slots=True)
class LogFileSettings:
    """``[icinga]`` / ``[irc]``: a log file or a folder of log files to read."""

    path: str = ""


@dataclass(frozen=True, slots=True)
class OncallSettings:
    """``[oncall]``: Splunk On-Call (VictorOps) reporting API: who was paged, who acknowledged, who resolved.

    ``routing_keys`` and ``teams`` keep only the pages that went through those routing keys or
    paged those teams/escalation policies (names or slugs); manual pages are always kept, because
    their routing key cannot be seen. ``people`` maps on-call usernames to the names people use on
    IRC, the SAL and Phabricator; ``team_routes`` maps an alert's ``team`` label to the on-call
    team, policy or routing key that should be paged for it.
    """

    url: str = ""  # https://api.victorops.com
    api_id: str = ""
    key_env: str = "INCIDENTKIT_ONCALL_KEY"
    timeout: float = 30.0
    padding_hours: int = 6  # pages that started this long before the window can be acknowledged in it
    routing_keys: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)
    team_routes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BusinessHoursSettings:
    """``[business_hours]``: when people work, to tell pages in and out of business hours.

    Each value reads ``"Europe/Berlin Mon-Fri 09:00-17:00"`` (time zone, days, hours; the zone
    defaults to UTC). A person's own hours win over their team's, which win over ``default``;
    with none of them, whether a page was out of hours is unknown.
    """

    default: str = ""
    people: dict[str, str] = field(default_factory=dict)  # on-call username -> hours
    teams: dict[str, str] = field(default_factory=dict)  # team or escalation policy (name or slug) -> hours


@dataclass(frozen=True, slots=True)
class DraftSettings:
    """``[draft]``: defaults for drafting, and what one source pull may cost.

    ``source_timeout`` is the total time one source may take (connecting, reading, retries and
    paging together; sources are pulled at once, so it is also about the longest a pull waits);
    ``max_response_mb`` caps the size of one answer from a remote.
    """

    max_window_days: int = 14
    lightweight: bool = False
    source_timeout: float = 60.0
    max_response_mb: float = 20.0

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """``[store]``: where the local SQLite index lives (default: the user directory)."""

    path: str = ""


@dataclass(frozen=True, slots=True)
class ActionablesSettings:
    """``[actionables]``: due-date SLAs per severity and what new tasks get."""

    sla_days: dict[str, int] = field(default_factory=lambda: {"1": 15, "2": 30, "3": 60})
    default_sla_days: int = 30
    tags: list[str] = field(default_factory=lambda: ["Sustainability (Incident Followup)"])


@dataclass(frozen=True, slots=True)
class ScorecardSettings:
    """``[scorecard]``: the questions file (default: the bundled ``data/scorecard.toml``)."""

    file: str = ""
    reviewer: str = ""


@dataclass(frozen=True, slots=True)
class TimelineSettings:
    """``[timeline]``: auto-curation rules; explicit overrides always win."""

    pin_kinds: list[str] = field(default_factory=lambda: ["sync", "deploy", "train", "backport", "abort"])
    pin_first_last_alert: bool = True
    # regular expressions (case-insensitive, anywhere in the row); default: routine downtime cookbooks
    hide_matching: list[str] = field(
        default_factory=lambda: [r"- Cookbook sre\.hosts\.(?:remove-)?downtime\b"]
    )
    # the channel's words stay in the raw log (timeline show --all) until pinned; e.g. add "task-comment"
    hide_kinds: list[str] = field(default_factory=lambda: ["chat"])
    impact_deploy_minutes: int = 30  # a deploy this close before the first alert is the suggested impact start


@dataclass(frozen=True, slots=True)
class StatsSettings:
    """``[stats]``: what ``incidents stats`` counts as business hours, and as a repeat."""

    timezone: str = "UTC"  # IANA name, e.g. "Europe/Amsterdam"
    business_hours: str = "09:00-17:00"
    business_days: list[str] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    repeat_days: int = 90  # a similar earlier incident at most this many days before makes a repeat


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration."""

    wikis: dict[str, WikiSettings] = field(default_factory=dict)
    sal: SalSettings = field(default_factory=SalSettings)
    phabricator: PhabricatorSettings = field(default_factory=PhabricatorSettings)
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    icinga: LogFileSettings = field(default_factory=LogFileSettings)
    irc: LogFileSettings = field(default_factory=LogFileSettings)
    oncall: OncallSettings = field(default_factory=OncallSettings)
    business_hours: BusinessHoursSettings = field(default_factory=BusinessHoursSettings)
    draft: DraftSettings = field(default_factory=DraftSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    actionables: ActionablesSettings = field(default_factory=ActionablesSettings)
    scorecard: ScorecardSettings = field(default_factory=ScorecardSettings)
    timeline: TimelineSettings = field(default_factory=TimelineSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    path: Path | None = None  # the file it came from, if any

    def wiki(self, name: str | None = None) -> tuple[str, WikiSettings]:
        """The named wiki, or the first one configured; raises ConfigError if there is none."""
        if not self.wikis:
            raise ConfigError(
                "no wiki is configured",
                hint="add a [wikis.NAME] section with url = ... to the config, or set INCIDENTKIT_WIKIS_<NAME>_URL",
            )
        if name is None:
            name = next(iter(self.wikis))
        if name not in self.wikis:
            raise ConfigError(f"unknown wiki {name!r}", hint=f"configured wikis: {', '.join(self.wikis)}")
        return name, self.wikis[name]


_SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Settings)[f.name]
    for f in fields(Settings)
    if f.name not in ("wikis", "path")
}


def user_dir() -> Path:
    """The directory holding user state: ``$INCIDENTKIT_HOME``, else the XDG data dir."""
    home = os.environ.get("INCIDENTKIT_HOME")
    if home:
        return user_path(home, what="INCIDENTKIT_HOME", error=ConfigError)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "incidentkit"


def cache_dir() -> Path:
    """Where rebuildable files go (compiled templates): ``$INCIDENTKIT_HOME/cache``, else the XDG
    cache dir. Deleting it loses nothing."""
    home = os.environ.get("INCIDENTKIT_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "incidentkit"


def db_path(settings: Settings) -> Path:
    """The database: ``[store] path`` if set, else ``incidentkit.db`` in the user directory."""
    if settings.store.path:
        return user_path(settings.store.path, what="config key store.path", error=ConfigError)
    return user_dir() / "incidentkit.db"


def shown_path(path: str | Path) -> str:
    """*path* quoted for a one-line message, its middle elided when it is very long."""
    text = repr(str(path))
    return text if len(text) <= 120 else f"{text[:70]}…{text[-40:]}"


def user_path(value: str | Path, *, what: str, error: type[IncidentKitError] = InputError) -> Path:
    """A path the user gave (an option, an environment variable, a config key), ``~`` expanded.

    Raises *error* (naming *what*) for a value that cannot be a path: a NUL character, or
    ``~name`` of an unknown user.
    """
    text = str(value)
    if "\x00" in text:
        raise error(f"{what} {shown_path(text)} is not a usable path: it holds a NUL character", hint=f"check {what}")
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:  # "~name" of a user that does not exist
        raise error(f"{what} {shown_path(text)} is not a usable path: {exc}", hint=f"check {what}") from exc


def read_user_text(path: Path, *, what: str, hint: str, error: type[IncidentKitError] = InputError) -> str:
    """The UTF-8 text of file *path*, which the user named as *what* ("config file").

    Raises *error* ("cannot read WHAT PATH: why") with *hint* when it is missing, a folder,
    unreadable, not UTF-8, or its name is too long for the system.
    """
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        reason = "it does not exist"
        cause: Exception = exc
    except IsADirectoryError as exc:
        reason, cause = "it is a folder, not a file", exc
    except UnicodeDecodeError as exc:
        reason, cause = f"it is not UTF-8 text (byte {exc.start} cannot be read)", exc
    except (OSError, ValueError) as exc:
        reason, cause = str(getattr(exc, "strerror", None) or exc), exc
    raise error(f"cannot read {what} {shown_path(path)}: {reason}", hint=hint) from cause


def write_user_text(
    path: Path,
    text: str | Iterable[str],
    *,
    what: str,
    hint: str,
    folders: bool = False,
    error: type[IncidentKitError] = InputError,
) -> Path:
    """Write *text* (UTF-8; or its pieces, as they come) to *path*, which the user named as *what*
    ("--output"), as :func:`write_user_file`."""

    def write(target: Path) -> None:
        with target.open("w", encoding="utf-8") as out:
            out.writelines([text] if isinstance(text, str) else text)

    return write_user_file(path, write, what=what, hint=hint, folders=folders, error=error)


def write_user_file(
    path: Path,
    write: Callable[[Path], object],
    *,
    what: str,
    hint: str,
    folders: bool = False,
    error: type[IncidentKitError] = InputError,
) -> Path:
    """Call *write* (it writes a file at the path it is given) for *path*, which the user named as
    *what* ("--chart"), creating its folders only with *folders*. Raises *error* ("cannot write
    WHAT PATH: why") with *hint* when that cannot be done."""
    try:
        if folders:
            path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except (OSError, ValueError) as exc:
        reason = "it is a folder" if isinstance(exc, IsADirectoryError) else str(getattr(exc, "strerror", None) or exc)
        raise error(f"cannot write {what} {shown_path(path)}: {reason}", hint=hint) from exc
    return path


def read_text_if_file(path: Path, *, what: str, hint: str, error: type[IncidentKitError] = InputError) -> str | None:
    """The UTF-8 text of *path* when it names a file; None when it names none (missing, a folder, a
    name the system cannot hold), so that a command can read the value as something else (a slug).
    Raises *error* for a file that cannot be read or is not UTF-8 text."""
    try:
        if not path.is_file():
            return None
    except (OSError, ValueError):
        return None
    return read_user_text(path, what=what, hint=hint, error=error)


def config_path(explicit: str | Path | None = None) -> Path:
    """Where the config file is looked for (it need not exist). Raises ConfigError for an unusable path."""
    if explicit:
        return user_path(explicit, what="--config", error=ConfigError)
    if os.environ.get("INCIDENTKIT_CONFIG"):
        return user_path(os.environ["INCIDENTKIT_CONFIG"], what="INCIDENTKIT_CONFIG", error=ConfigError)
    if os.environ.get("INCIDENTKIT_HOME"):
        return user_dir() / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "incidentkit" / "config.toml"


def asset_path(*parts: str) -> Path:
    """A bundled file under ``templates/`` or ``data/``: the packaged copy, else the checkout."""
    packaged = Path(__file__).parent / "_assets" / Path(*parts)
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parent.parent / Path(*parts)


def read_secret(env_name: str) -> str | None:
    """The secret held by the environment variable *env_name* (never logged)."""
    value = os.environ.get(env_name, "") if env_name else ""
    return value or None


_URL_PASSWORD = re.compile(r"//[^/@:\s]+:([^/@\s]+)@")


def secret_values(settings: Settings) -> tuple[str, ...]:
    """The value of every secret the config names: each ``*_env`` variable that is set, and any
    password written into a ``url``. Clients scrub all of them from every message."""
    found: list[str] = []
    sections = [*settings.wikis.values(), *(getattr(settings, name) for name in _SECTIONS)]
    for section in sections:
        for f in fields(section):
            value = getattr(section, f.name)
            if f.name.endswith("_env") and isinstance(value, str):
                secret = read_secret(value)
                if secret:
                    found.append(secret)
            elif f.name == "url" and isinstance(value, str):
                found.extend(_URL_PASSWORD.findall(value))
    return tuple(dict.fromkeys(found))


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list of strings"
    if origin is dict:
        inner = typing.get_args(tp)[1]
        return f"a table of {'integers' if inner is int else 'strings'}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any, key: str, *, env: str | None = None) -> Any:
    """Check (file) or convert (from the environment variable *env*) *value* to the type *tp*;
    the ConfigError names what the user set: the variable, else the config key."""
    origin = typing.get_origin(tp)
    if env:
        bad = ConfigError(
            f"environment variable {env} must be {_type_name(tp)}, got {value!r}",
            hint=f"fix or unset {env} (it sets config key {key})"
            + ("; lists take commas or JSON, tables JSON" if origin in (list, dict) else ""),
        )
    else:
        bad = ConfigError(f"config key {key} must be {_type_name(tp)}, got {value!r}", hint="fix the value in the config file")
    if env and isinstance(value, str):
        text = value.strip()
        if origin is list:
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise bad from exc
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        elif origin is dict:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise bad from exc
        elif tp is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                value = True
            elif text.lower() in ("0", "false", "no", "off", ""):
                value = False
            else:
                raise bad
        elif tp is int:
            try:
                value = int(text)
            except ValueError as exc:
                raise bad from exc
        elif tp is float:
            try:
                value = float(text)
            except ValueError as exc:
                raise bad from exc
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        return list(value)
    if origin is dict:
        inner = typing.get_args(tp)[1]
        if not isinstance(value, dict) or not all(
            isinstance(v, inner) and not (inner is int and isinstance(v, bool)) for v in value.values()
        ):
            raise bad
        return {str(k): v for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise bad
    if not isinstance(value, tp):
        raise bad
    return value


def _build(cls: type, raw: Mapping[str, Any], where: str, *, env: Mapping[str, str] | None = None) -> Any:
    """*cls* from *raw* values; *env* maps the keys set by environment variables to their names."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    env = env or {}
    for key in raw:
        if key not in known:
            known_keys = ", ".join(sorted(known))
            if key in env:
                raise ConfigError(
                    f"environment variable {env[key]} sets unknown config key {where}.{key}",
                    hint=f"unset {env[key]} or fix its name; known keys in [{where}]: {known_keys}",
                )
            raise ConfigError(f"unknown config key {where}.{key}", hint=f"known keys in [{where}]: {known_keys}")
    values = {k: _coerce(v, hints[k], f"{where}.{k}", env=env.get(k)) for k, v in raw.items()}
    return cls(**values)


def _merge_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Apply INCIDENTKIT_<SECTION>_<KEY> overrides onto the raw TOML data, in place."""
    secret_names = {
        v for section in data.values() if isinstance(section, dict) for k, v in section.items() if k.endswith("_env")
    }
    for wiki in data.get("wikis", {}).values():
        if isinstance(wiki, dict):
            secret_names.update(v for k, v in wiki.items() if k.endswith("_env"))
    secret_names.update(
        f.default
        for cls in (WikiSettings, *_SECTIONS.values())
        for f in fields(cls)
        if f.name.endswith("_env") and f.default
    )
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in secret_names:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if rest.startswith("wikis_"):
            match = re.match(r"wikis_(.+)_(url|user|password_env|timeout)$", rest)
            if not match:
                raise ConfigError(
                    f"cannot read environment variable {name}",
                    hint="use INCIDENTKIT_WIKIS_<NAME>_<KEY> with KEY one of URL, USER, PASSWORD_ENV, TIMEOUT",
                )
            wikis = data.setdefault("wikis", {})
            wiki_name = next((w for w in wikis if w.lower() == match.group(1)), match.group(1))
            wikis.setdefault(wiki_name, {})[match.group(2)] = ("env", value, name)
            continue
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                data.setdefault(section, {})[key] = ("env", value, name)
                break


def _split_env(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(values from the file, values from the environment, the variable that set each of those)."""
    from_env = {k: v for k, v in raw.items() if isinstance(v, tuple) and v and v[0] == "env"}
    plain = {k: v for k, v in raw.items() if k not in from_env}
    return plain, {k: v[1] for k, v in from_env.items()}, {k: v[2] for k, v in from_env.items()}


def _section(cls: type, raw: Mapping[str, Any], where: str) -> Any:
    plain, env, names = _split_env(raw)
    base = _build(cls, plain, where)
    if not env:
        return base
    overridden = _build(cls, env, where, env=names)
    merged = {f.name: getattr(base, f.name) for f in fields(cls)}
    merged.update({k: getattr(overridden, k) for k in env})
    return cls(**merged)


def load_settings(explicit: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load the effective settings. A missing default file means defaults; a missing explicit one is an error."""
    environ = os.environ if environ is None else environ
    path = config_path(explicit)
    data: dict[str, Any] = {}
    found = True
    try:
        text = read_user_text(path, what="config file", hint="check --config / INCIDENTKIT_CONFIG", error=ConfigError)
    except ConfigError:
        if explicit or environ.get("INCIDENTKIT_CONFIG") or _exists(path):
            raise
        text, found = "", False  # no config file at the default place: the defaults
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {shown_path(path)} is not valid TOML: {exc}", hint="fix the syntax of the config file"
        ) from exc
    for key, value in data.items():
        if key != "wikis" and key not in _SECTIONS:
            raise ConfigError(f"unknown config section [{key}]", hint=f"known sections: wikis, {', '.join(_SECTIONS)}")
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key} must be a table ([{key}])", hint=f"write the keys under a [{key}] line")
    _merge_env(data, environ)
    wikis: dict[str, WikiSettings] = {}
    for name, raw in data.get("wikis", {}).items():
        if not isinstance(raw, dict):
            raise ConfigError(
                f"config key wikis.{name} must be a table ([wikis.{name}])", hint=f"write the keys under a [wikis.{name}] line"
            )
        wikis[name] = _section(WikiSettings, raw, f"wikis.{name}")
    sections = {name: _section(cls, data.get(name, {}), name) for name, cls in _SECTIONS.items()}
    settings = Settings(wikis=wikis, path=path if found else None, **sections)
    if settings.sal.wiki and settings.sal.wiki not in settings.wikis:
        raise ConfigError(
            f"config key sal.wiki names wiki {settings.sal.wiki!r}, which is not configured",
            hint="add a [wikis.NAME] section for it or fix sal.wiki",
        )
    _check_limits(settings)
    return settings


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # it cannot be checked, so its error is the one to show


def _check_limits(settings: Settings) -> None:
    for key, value in (
        ("draft.source_timeout", settings.draft.source_timeout),
        ("draft.max_response_mb", settings.draft.max_response_mb),
    ):
        if not value > 0 or value == float("inf"):
            raise ConfigError(f"config key {key} must be a positive number, got {value!r}", hint=f"fix {key}")


def _mask_url(url: str) -> str:
    return re.sub(r"//([^/@:]+):([^/@]+)@", r"//\1:****@", url)


def settings_as_dict(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data for ``config show``, URLs with passwords masked.

    Secret env-var *names* are shown with whether they are set; secret values never are.
    """

    def section(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name == "url":
                value = _mask_url(value)
            out[f.name] = value
            if f.name.endswith("_env"):
                out[f.name.removesuffix("_env") + "_set"] = bool(read_secret(value))
        return out

    result: dict[str, Any] = {"wikis": {name: section(w) for name, w in settings.wikis.items()}}
    for name in _SECTIONS:
        result[name] = section(getattr(settings, name))
    return result

