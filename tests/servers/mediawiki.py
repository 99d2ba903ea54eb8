"""A throwaway real MediaWiki for the tests (pytest plugin) and the benchmarks.

Owns starting and stopping one MediaWiki from the Debian ``mediawiki`` package: SQLite in a temp
dir, ``MW_CONFIG_FILE`` pointing at a LocalSettings.php inside that dir (nothing is written outside
it), extensions ParserFunctions and Cite only, uploads enabled (PNG and SVG, files kept in the
wiki dir), two bot-password users (``Reporter@incidentkit``, who may also upload files, and
``Colleague@incidentkit``, who may not; two different users so edit conflicts are real), served by
``php -S`` on 127.0.0.1 and a free port. The session fixture ``mediawiki`` starts it once; the
benchmarks use :func:`running_mediawiki` directly.

The fixture loads pages through the API with plain ``requests`` (its own tiny client), so tests of
``incidentkit.clients.mediawiki`` never check that code with itself.

If php or the ``mediawiki`` package is missing the fixture skips its tests with a clear message,
except in CI (any ``CI`` but empty, ``false`` or ``0``: see ``_common.in_ci``), where a missing wiki
is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.servers._common import free_port, skip_or_fail, stop_processes, wait_for_url

__all__ = ["MediaWiki", "mediawiki", "missing_mediawiki", "running_mediawiki", "free_port"]

MW_ROOT = Path(os.environ.get("MW_ROOT", "/usr/share/mediawiki"))
INSTALL_HINT = (
    "apt-get install -y --no-install-recommends mediawiki php-sqlite3 php-cli php-mbstring php-xml php-intl"
)
REPORTER = "Reporter@incidentkit"
COLLEAGUE = "Colleague@incidentkit"
ADMIN = "Admin"
BOT_GRANTS = "basic,editpage,createeditmovepage,highvolume"
UPLOAD_GRANTS = {"Reporter": ",uploadfile,uploadeditmovefile"}  # upload, and replace; the Colleague cannot
START_TIMEOUT = 30.0

# Appended to the generated LocalSettings.php: keep every cache/log inside the wiki dir (Debian's
# PlatformSettings.php points them at /var), no rate limits, no deferred jobs run inside requests,
# a result size limit of 2 MiB instead of 8 so a test can reach it (continuation) cheaply, and the
# ISBN/RFC/PMID magic links on, as Wikimedia's wikis have them (MediaWiki's default is off).
EXTRA_SETTINGS = """
$wgCacheDirectory = "{dir}/cache";
$wgDBerrorLog = "{dir}/logs/dberror.log";
$wgDebugLogGroups = [
    'exception' => "{dir}/logs/exception.log",
    'error' => "{dir}/logs/error.log",
    'fatal' => "{dir}/logs/fatal.log",
];
$wgUploadDirectory = "{dir}/images";
$wgEnableUploads = true;
$wgFileExtensions = ['png', 'svg'];
$wgRateLimits = [];
$wgJobRunRate = 0;
$wgGroupPermissions['*']['createaccount'] = false;
$wgAPIMaxResultSize = 2 * 1024 * 1024;
$wgEnableMagicLinks = ['ISBN' => true, 'PMID' => true, 'RFC' => true];
"""


def missing_mediawiki() -> str | None:
    """Why a wiki cannot be started here (None when php and MediaWiki are installed)."""
    php = shutil.which("php")
    if php is None:
        return "php is not installed"
    if not (MW_ROOT / "maintenance" / "install.php").exists():
        return f"MediaWiki is not installed at {MW_ROOT}"
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout.lower().split()
    needed = ["pdo_sqlite", "mbstring", "xml", "intl"]
    absent = [name for name in needed if name not in modules]
    if absent:
        return f"php lacks the modules {', '.join(absent)}"
    return None


@dataclass
class MediaWiki:
    """A running throwaway wiki: where it is, who may log in, and helpers to load pages."""

    url: str  # scheme, host and script path of api.php, e.g. "http://127.0.0.1:PORT/"
    users: dict[str, str]  # bot-password user name -> bot password
    root: Path  # the wiki's own directory (database, LocalSettings.php, logs)
    admin_password: str = field(repr=False, default="")  # main account "Admin", the only sysop
    _sessions: dict[str, tuple[requests.Session, str]] = field(default_factory=dict, repr=False)

    @property
    def api_url(self) -> str:
        return self.url + "api.php"

    def api(self, session: requests.Session | None = None, *, post: bool = False, **params: str) -> dict:
        """One API call (format=json, formatversion=2); an API error raises AssertionError."""
        session = session or requests.Session()
        params = {"format": "json", "formatversion": "2", **params}
        if post:
            response = session.post(self.api_url, data=params, timeout=60)
        else:
            response = session.get(self.api_url, params=params, timeout=60)
        response.raise_for_status()
        data = response.json()
        if "error" in data:
            raise AssertionError(
                f"MediaWiki API error {data['error'].get('code')}: {data['error'].get('info')}"
            )
        return data

    def _login(self, user: str) -> tuple[requests.Session, str]:
        """A logged-in session for *user* and its CSRF token (cached)."""
        if user not in self._sessions:
            session = requests.Session()
            token = self.api(session, action="query", meta="tokens", type="login")["query"]["tokens"][
                "logintoken"
            ]
            result = self.api(
                session,
                post=True,
                action="login",
                lgname=user,
                lgpassword=self.admin_password if user == ADMIN else self.users[user],
                lgtoken=token,
            )
            if result["login"]["result"] != "Success":
                raise AssertionError(f"fixture login as {user} failed: {result['login']}")
            csrf = self.api(session, action="query", meta="tokens")["query"]["tokens"]["csrftoken"]
            self._sessions[user] = (session, csrf)
        return self._sessions[user]

    def put_page(self, title: str, text: str, user: str = REPORTER, summary: str = "test fixture") -> int:
        """Create or overwrite page *title* as *user*; returns the new (or unchanged) revision id."""
        session, csrf = self._login(user)
        result = self.api(
            session, post=True, action="edit", title=title, text=text, summary=summary, token=csrf
        )["edit"]
        if result.get("result") != "Success":
            raise AssertionError(f"fixture edit of {title!r} failed: {result}")
        if result.get("nochange"):
            return int(self.api(action="query", titles=title, prop="info")["query"]["pages"][0]["lastrevid"])
        return int(result["newrevid"])

    def get_page(self, title: str) -> str | None:
        """The current wikitext of *title*, or None when the page does not exist."""
        page = self.api(action="query", titles=title, prop="revisions", rvprop="content", rvslots="main")[
            "query"
        ]["pages"][0]
        if page.get("missing") or page.get("invalid"):
            return None
        return str(page["revisions"][0]["slots"]["main"]["content"])

    def delete_page(self, title: str) -> None:
        """Delete *title* as the wiki's sysop (the bot users, like real ones, are not sysops)."""
        session, csrf = self._login(ADMIN)
        self.api(session, post=True, action="delete", title=title, reason="test fixture", token=csrf)

    def protect_page(self, title: str) -> None:
        """Protect existing page *title* so only sysops may edit it."""
        session, csrf = self._login(ADMIN)
        self.api(
            session,
            post=True,
            action="protect",
            title=title,
            protections="edit=sysop",
            reason="test",
            token=csrf,
        )

    def password_env(self, name: str = "ops") -> str:
        """The name of the env var that :meth:`config_env` puts the password of wiki *name* in."""
        return f"MEDIAWIKI_TEST_{name.upper()}_PASSWORD"

    def config_env(
        self, monkeypatch: pytest.MonkeyPatch, name: str = "ops", user: str | None = REPORTER
    ) -> str:
        """Point incidentkit's wiki *name* at this wiki as *user* (None: anonymous).

        Sets INCIDENTKIT_WIKIS_<NAME>_URL/USER/PASSWORD_ENV and the password variable itself;
        returns the name of the password variable.
        """
        prefix = f"INCIDENTKIT_WIKIS_{name.upper()}_"
        secret_env = self.password_env(name)
        monkeypatch.setenv(prefix + "URL", self.url)
        monkeypatch.setenv(prefix + "PASSWORD_ENV", secret_env)
        if user is None:
            monkeypatch.setenv(prefix + "USER", "")
            monkeypatch.delenv(secret_env, raising=False)
        else:
            monkeypatch.setenv(prefix + "USER", user)
            monkeypatch.setenv(secret_env, self.users[user])
        return secret_env


def _password() -> str:
    """A strong main-account password that cannot be mistaken for a command-line option."""
    return "Pw" + secrets.token_hex(16)


def _run_php(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(
            ["php", *args],
            cwd=MW_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=120,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"php {args[0]} failed (exit {result.returncode}); see {log}:\n{log.read_text()[-2000:]}"
        )


def _install(root: Path, port: int, env: dict[str, str]) -> tuple[dict[str, str], str]:
    """Install the wiki into *root* and create the two bot users.

    Returns (bot user -> bot password, Admin's password).
    """
    (root / "data").mkdir(parents=True)
    log = root / "install.log"
    admin_password = _password()
    _run_php(
        [
            "maintenance/install.php", "--quiet", "--dbtype=sqlite", f"--dbpath={root / 'data'}",
            "--dbname=wiki", f"--confpath={root}", f"--server=http://127.0.0.1:{port}", "--scriptpath=",
            "--lang=en", f"--pass={admin_password}", "--skins=Vector",
            "--extensions=ParserFunctions,Cite", "IncidentWiki", "Admin",
        ],
        env,
        log,
    )  # fmt: skip
    for sub in ("cache", "logs", "images"):
        (root / sub).mkdir()
    with (root / "LocalSettings.php").open("a") as settings:
        settings.write(EXTRA_SETTINGS.format(dir=root))
    users: dict[str, str] = {}
    for account in ("Reporter", "Colleague"):
        _run_php(
            ["maintenance/createAndPromote.php", "--bot", account, _password()],
            env,
            log,
        )
        bot_password = secrets.token_hex(16)  # exactly 32 characters
        _run_php(
            [
                "maintenance/createBotPassword.php",
                "--appid",
                "incidentkit",
                "--grants",
                BOT_GRANTS + UPLOAD_GRANTS.get(account, ""),
                account,
                bot_password,
            ],
            env,
            log,
        )
        users[f"{account}@incidentkit"] = bot_password
    return users, admin_password


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    wait_for_url(
        url + "api.php?action=query&meta=siteinfo&format=json",
        timeout=START_TIMEOUT,
        process=process,
        log=log,
        what="MediaWiki (php -S)",
    )


@contextmanager
def running_mediawiki(root: Path) -> Iterator[MediaWiki]:
    """Install a fresh wiki in *root* (which must not exist), serve it, stop it on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PHP_CLI_SERVER_WORKERS"}
    env["MW_CONFIG_FILE"] = str(root / "LocalSettings.php")
    users, admin_password = _install(root, port, env)
    log = root / "php-server.log"
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(MW_ROOT)],
            cwd=MW_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_ready(process, url, log)
        yield MediaWiki(url=url, users=users, root=root, admin_password=admin_password)
    finally:
        stop_processes([process])


@pytest.fixture(scope="session")
def mediawiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaWiki]:
    """A real MediaWiki on 127.0.0.1 for the whole test session (see the module docstring)."""
    reason = missing_mediawiki()
    if reason is not None:
        skip_or_fail(f"real MediaWiki unavailable: {reason} (install with: {INSTALL_HINT})")
    with running_mediawiki(tmp_path_factory.mktemp("mediawiki") / "wiki") as wiki:
        yield wiki
