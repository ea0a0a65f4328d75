"""Settings from a TOML file plus CONTACTCENTER_* environment variables.

Precedence: defaults < TOML file < environment < command-line flags. Channel
sections are TOML tables (``[email]``, ``[slack]``) and ``CONTACTCENTER_NAME_KEY``
in the environment (``CONTACTCENTER_SLACK_BOT_TOKEN`` -> channels.slack.bot_token),
so a third-party channel gets configuration without the core knowing its keys.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "CONTACTCENTER_"
# Keys whose values are never logged or shown.
SECRET_MARKERS = ("token", "secret", "password", "key")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: SQLite file under data_dir
    database_schema: str | None = None  # PostgreSQL schema (search_path), if not the default
    api_token: str | None = None  # default: generated once into data_dir/api_token
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    channels: tuple[str, ...] = ("api",)
    desks: tuple[str, ...] = ()
    answerer: str | None = None  # entry point name in contactcenter.answerers
    # A resolved conversation reopens when the customer writes within this window.
    reopen_window_hours: float = 72.0
    # Consecutive bot misses (suggestions without an answer) before escalation.
    max_bot_misses: int = 2
    outbox_max_age_seconds: float = 3600.0
    outbox_base_delay_seconds: float = 1.0
    outbox_max_delay_seconds: float = 300.0
    outbox_poll_seconds: float = 1.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    demo: bool = False
    channel_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'contactcenter.db').resolve()}"

    def channel(self, name: str) -> Mapping[str, Any]:
        return self.channel_config.get(name, {})

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict with every secret replaced, for logs."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "channel_config":
                value = {k: _redact_map(v) for k, v in value.items()}
            elif _is_secret(f.name) and value:
                value = "***"
            elif f.name == "database_url" and value:
                value = _redact_url(value)
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def _is_secret(name: str) -> bool:
    return any(marker in name.lower() for marker in SECRET_MARKERS)


def _redact_map(m: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("***" if _is_secret(k) and v else v) for k, v in m.items()}


def _redact_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


_INT = {"port", "max_bot_misses"}
_FLOAT = {
    "reopen_window_hours",
    "outbox_max_age_seconds",
    "outbox_base_delay_seconds",
    "outbox_max_delay_seconds",
    "outbox_poll_seconds",
}
_TUPLE = {"channels", "desks"}
_BOOL = {"demo"}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_PATH = {"data_dir"}


def parse_bool(section: str, key: str, value: Any) -> bool:
    """A package's boolean setting, strictly: a typo is an error, not a silent False."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{section}.{key}: {value!r} is not a boolean")


def _coerce(name: str, value: Any) -> Any:
    try:
        if name in _INT:
            return int(value)
        if name in _FLOAT:
            return float(value)
        if name in _TUPLE:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if name in _BOOL:
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            # "ture" or "enabled" read as False would switch a feature off in silence.
            raise ValueError("say yes or no (also true/false, on/off, 1/0)")
        if name in _PATH:
            return Path(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r}: {exc}") from None
    return value


def load_settings(
    config_file: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)} - {"channel_config"}
    values: dict[str, Any] = {}
    channel_config: dict[str, dict[str, Any]] = {}

    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        for key, value in data.items():
            # A table ([email], [slack], ...) is a channel's own section.
            if isinstance(value, dict):
                channel_config.setdefault(key, {}).update(value)
                continue
            if key not in known:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, value)

    for env_key, raw in env.items():
        if not env_key.startswith(ENV_PREFIX) or env_key == ENV_PREFIX + "CONFIG":
            continue
        name = env_key[len(ENV_PREFIX) :].lower()
        if name in known:
            values[name] = _coerce(name, raw)
            continue
        # CONTACTCENTER_<CHANNEL>_<KEY> for channel sections.
        if "_" in name:
            channel, key = name.split("_", 1)
            channel_config.setdefault(channel, {})[key] = raw

    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value)

    settings = Settings(**values)
    return replace(settings, channel_config=channel_config)
