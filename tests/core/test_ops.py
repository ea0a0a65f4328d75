"""Configuration, secrets in logs, migrations, the CLI: what an operator relies on."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from contactcenter.config import ConfigError, load_settings
from contactcenter.logs import JsonFormatter, Redactor
from contactcenter.services import Services
from contactcenter.storage.migrate import current_revision, head_revision
from tests.conftest import Api


def test_env_overrides_toml_and_channel_sections(tmp_path: Path) -> None:
    cfg = tmp_path / "cc.toml"
    cfg.write_text(
        'port = 9000\nchannels = ["api", "webchat"]\n[email]\nimap_host = "mail.example.com"\n'
    )
    env = {
        "CONTACTCENTER_PORT": "9100",
        "CONTACTCENTER_SLACK_BOT_TOKEN": "xoxb-1",
        "CONTACTCENTER_REOPEN_WINDOW_HOURS": "12",
    }
    s = load_settings(cfg, environ=env)
    assert s.port == 9100 and s.channels == ("api", "webchat")
    assert s.reopen_window_hours == 12.0
    assert s.channel("email")["imap_host"] == "mail.example.com"
    assert s.channel("slack")["bot_token"] == "xoxb-1"
    assert s.redacted()["channel_config"]["slack"]["bot_token"] == "***"


@pytest.mark.parametrize(
    "text, message",
    [
        ("port = [", "not valid TOML"),
        ("nonsense = 1", "unknown setting"),
        ('port = "eighty"', "cannot use"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "cc.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


@pytest.mark.parametrize(
    "value, expected", [("yes", True), ("ON", True), ("1", True), ("off", False), ("", False)]
)
def test_boolean_settings_read_the_usual_words(value: str, expected: bool) -> None:
    assert load_settings(None, environ={"CONTACTCENTER_DEMO": value}).demo is expected


@pytest.mark.parametrize("value", ["ture", "enabled", "2"])
def test_a_boolean_setting_that_is_neither_is_an_error_not_false(value: str) -> None:
    with pytest.raises(ConfigError, match=r"setting 'demo': cannot use .*say yes or no"):
        load_settings(None, environ={"CONTACTCENTER_DEMO": value})


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_secrets_never_reach_the_log() -> None:
    redactor = Redactor(["super-secret-token-value"])
    record = logging.makeLogRecord(
        {
            "msg": "calling with %s and Bearer abc.def and xoxb-123-456 and postgresql://u:pw@h/db",
            "args": ("super-secret-token-value",),
            "extra_field": "password=hunter2",
        }
    )
    redactor.filter(record)
    line = JsonFormatter().format(record)
    for secret in ("super-secret-token-value", "abc.def", "xoxb-123-456", ":pw@", "hunter2"):
        assert secret not in line
    assert json.loads(line)["msg"].startswith("calling with ***")


async def test_schema_matches_models_after_migrations(services: Services) -> None:
    assert await current_revision(services.db) == head_revision()

    def diff(conn: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))

    async with services.db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_healthz_and_metrics(api: Api) -> None:
    status, body = await api.call("GET", "/healthz", auth=False)
    assert status == 200 and body["database"] == "ok"
    await api.call("POST", "/api/v1/messages", json={"id": "1", "from": "x", "text": "hi"})
    status, text = await api.call("GET", "/metrics", auth=False)
    assert status == 200
    assert 'contactcenter_messages_in_total{channel="api"} 1.0' in text
    assert "contactcenter_router_seconds_bucket" in text
    assert "contactcenter_deliveries{status=" in text


async def test_healthz_reports_a_dead_database(api: Api) -> None:
    original = api.services.db.ping

    async def broken() -> None:
        raise OSError("connection refused")

    api.services.db.ping = broken  # type: ignore[method-assign]
    try:
        status, body = await api.call("GET", "/healthz", auth=False)
    finally:
        api.services.db.ping = original  # type: ignore[method-assign]
    assert status == 503 and body["status"] == "unhealthy"


def test_cli_migrate_and_help(tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "contactcenter.cli"]
    out = subprocess.run(
        [*exe, "migrate", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "revision 0001" in out.stdout
    assert (tmp_path / "contactcenter.db").exists()
    bad = subprocess.run(
        [*exe, "migrate", "--config", str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_unknown_channel_is_a_clear_error(settings: Any) -> None:
    from dataclasses import replace

    from contactcenter.app import create_app
    from contactcenter.channel import ChannelError

    with pytest.raises(ChannelError, match=r"no contactcenter.channels entry point named 'fax'"):
        create_app(replace(settings, channels=("api", "fax")))


async def test_channels_are_loaded_by_entry_point_name(api: Api) -> None:
    _status, body = await api.call("GET", "/healthz", auth=False)
    assert body["channels"] == ["api"]
    assert type(api.services.registry.get("api")).__module__ == "contactcenter.api_channel"


async def test_a_fresh_data_directory_is_created(tmp_path: Path) -> None:
    from contactcenter.storage.database import Database
    from contactcenter.storage.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'cc.db'}")
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    assert (tmp_path / "new" / "deeper" / "cc.db").exists()
