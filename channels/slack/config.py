"""The desk's settings, read from the ``[slack]`` section / ``CONTACTCENTER_SLACK_*``.

Values from the environment are strings, so everything is parsed here once and
checked at factory time: a missing token should stop the server at start with
a message that names the variable, not fail on the first escalation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contactcenter.config import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_NOTE_PREFIXES = ("!note",)
MODES = ("socket", "http")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackConfig:
    bot_token: str
    channel: str  # the queue channel id (C... or G...), where escalations are posted
    mode: str = "socket"
    app_token: str | None = None  # xapp-..., Socket Mode only
    signing_secret: str | None = None  # HTTP mode only
    api_url: str = DEFAULT_API_URL
    slash_command: str = "/cc"
    # A thread message starting with one of these is an internal note (case-insensitive).
    note_prefixes: tuple[str, ...] = DEFAULT_NOTE_PREFIXES
    # How long a handler may run before Slack is acknowledged anyway (Slack allows 3 s).
    ack_budget_seconds: float = 2.0

    @property
    def note_prefix(self) -> str:
        """The prefix shown to agents (the first one configured)."""
        return self.note_prefixes[0]


def _str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def load_config(raw: Mapping[str, Any]) -> SlackConfig:
    """Parse and check the section; every error names the environment variable."""

    def need(key: str, why: str) -> str:
        value = _str(raw, key)
        if value is None:
            raise ConfigError(f"slack: {key} is required {why} (CONTACTCENTER_SLACK_{key.upper()})")
        return value

    mode = (_str(raw, "mode") or "socket").lower()
    if mode not in MODES:
        raise ConfigError(f"slack: mode must be one of {', '.join(MODES)}, not {mode!r}")
    bot_token = need("bot_token", "(the xoxb- bot token)")
    channel = need("channel", "(the id of the queue channel, e.g. C0123456)")
    if channel.startswith("#"):
        raise ConfigError("slack: channel must be the channel id (C0123...), not its #name")
    app_token = _str(raw, "app_token")
    signing_secret = _str(raw, "signing_secret")
    if mode == "socket":
        app_token = need("app_token", "in Socket Mode (the xapp- app-level token)")
    else:
        signing_secret = need("signing_secret", "in HTTP mode (Basic Information > Signing Secret)")
    command = _str(raw, "slash_command") or "/cc"
    if not command.startswith("/"):
        command = "/" + command
    prefixes_raw = _str(raw, "note_prefix")
    prefixes = (
        tuple(p.strip() for p in prefixes_raw.split(",") if p.strip())
        if prefixes_raw
        else DEFAULT_NOTE_PREFIXES
    )
    if not prefixes:
        raise ConfigError("slack: note_prefix must not be empty")
    api_url = _str(raw, "api_url") or DEFAULT_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    try:
        budget = float(raw.get("ack_budget_seconds", 2.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"slack: {exc}") from None
    if not 0 < budget < 3:
        raise ConfigError("slack: ack_budget_seconds must be between 0 and 3 (Slack waits 3 s)")
    return SlackConfig(
        bot_token=bot_token,
        channel=channel,
        mode=mode,
        app_token=app_token,
        signing_secret=signing_secret,
        api_url=api_url,
        slash_command=command,
        note_prefixes=prefixes,
        ack_budget_seconds=budget,
    )
