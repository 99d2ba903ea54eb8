"""Configuration: TOML + env overrides, one-line errors naming the key, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.config import load_settings
from incidentkit.errors import ConfigError
from incidentkit.sources import configured_sources

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert "ops" in settings.wikis and settings.sal.wiki == "ops"
    assert "sal" in configured_sources(settings) and "phabricator" in configured_sources(settings)


def test_env_overrides_every_kind_of_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[wikis.ops]\nurl = "https://a/w/"\n[sal]\nwiki = "ops"\n')
    env = {
        "INCIDENTKIT_PHABRICATOR_URL": "http://127.0.0.1:1/",
        "INCIDENTKIT_SAL_PAGES": "Server Admin Log, Release Engineering/SAL",
        "INCIDENTKIT_WIKIS_OPS_URL": "http://127.0.0.1:2/",
        "INCIDENTKIT_WIKIS_TEST_URL": "http://127.0.0.1:3/",
        "INCIDENTKIT_PROMETHEUS_STEP": "30",
        "INCIDENTKIT_PHABRICATOR_COMMENTS": "true",
        "INCIDENTKIT_ACTIONABLES_SLA_DAYS": '{"1": 7}',
        "INCIDENTKIT_PHABRICATOR_TOKEN": "api-secret-is-not-a-config-key",
        "INCIDENTKIT_WIKI_PASSWORD": "also-a-secret",
    }
    s = load_settings(path, environ=env)
    assert s.phabricator.url == "http://127.0.0.1:1/"
    assert s.sal.pages == ["Server Admin Log", "Release Engineering/SAL"]
    assert s.wikis["ops"].url == "http://127.0.0.1:2/" and s.wikis["test"].url == "http://127.0.0.1:3/"
    assert s.prometheus.step == 30 and s.phabricator.comments is True
    assert s.actionables.sla_days == {"1": 7}


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[sal]\npagez = []\n", {}, "unknown config key sal.pagez"),
        ("[sal]\npages = 3\n", {}, "config key sal.pages must be a list of strings"),
        ("[prometheus]\nstep = \"fast\"\n", {}, "config key prometheus.step must be an integer"),
        ("[nosuch]\nx = 1\n", {}, "unknown config section [nosuch]"),
        ("[sal\n", {}, "is not valid TOML"),
        ("", {"INCIDENTKIT_PROMETHEUS_STEP": "soon"}, "environment variable INCIDENTKIT_PROMETHEUS_STEP must be an integer"),
        ("", {"INCIDENTKIT_PHABRICATOR_TOKENS": "x"}, "unknown config key phabricator.tokens"),
        ('[sal]\nwiki = "nope"\n', {}, "names wiki 'nope', which is not configured"),
    ],
)
def test_bad_config_is_one_line_error_naming_the_key(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=env)
    assert message in info.value.message and "\n" not in info.value.message


def test_config_show_masks_secrets_and_cli_error_has_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[wikis.ops]\nurl = "https://bot:hunter2@wiki.example/w/"\npassword_env = "MY_PW"\n')
    monkeypatch.setenv("MY_PW", "s3cret-value")
    result = CliRunner().invoke(app, ["--config", str(path), "config", "show", "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "s3cret-value" not in result.output and "hunter2" not in result.output
    assert 'password_env = "MY_PW"' in result.output and "password_set = true" in result.output

    bad = write(tmp_path, "[sal]\npages = 3\n")
    result = CliRunner().invoke(app, ["--config", str(bad), "config", "show"])
    assert result.exit_code == 2
    assert "Error: config key sal.pages must be a list of strings" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["--debug", "--config", str(bad), "config", "show"])
    assert "Traceback" in result.output
