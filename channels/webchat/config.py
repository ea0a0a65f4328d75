"""The ``[webchat]`` settings: parsed once, checked, frozen.

Values arrive from TOML (typed) or from ``CONTACTCENTER_WEBCHAT_*`` environment
variables (strings), so every field is coerced here and a bad value fails the
app build with a message naming the key, not a socket error at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contactcenter.config import ConfigError, parse_bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WebchatConfig:
    # Signs visitor tokens; default: generated once into data_dir/webchat_secret.
    secret: str | None = None
    # The site's identity secret: user_hash = hex HMAC-SHA256(identity_secret, user_id).
    identity_secret: str | None = None
    # Refuse every connection that does not carry a valid user_hash.
    enforce_identity: bool = False
    # Several server processes: emits fan out through Redis.
    redis_url: str | None = None
    # Origins allowed to open a socket ("*": any site may embed the widget).
    allowed_origins: tuple[str, ...] = ("*",)
    # Long-polling needs sticky sessions behind a load balancer; off by default.
    allow_polling: bool = False
    max_text_length: int = 4000
    token_ttl_days: float = 180.0
    # Per visitor (all tabs together): sustained rate and burst of messages.
    messages_per_minute: float = 30.0
    message_burst: int = 10
    typing_per_minute: float = 60.0
    typing_burst: int = 5
    # Per client IP: new socket connections; 0 turns the limit off.
    connects_per_minute: float = 120.0
    connect_burst: int = 60
    history_limit: int = 100
    # Poll for status events (agent joined, resolved); 0 = off (a core hook calls us).
    csat_question: str = "How would you rate this conversation?"
    csat_comment_max: int = 1000
    title: str = "Chat with us"

    @property
    def transports(self) -> list[str]:
        return ["polling", "websocket"] if self.allow_polling else ["websocket"]

    @property
    def cors(self) -> str | list[str]:
        return "*" if "*" in self.allowed_origins else list(self.allowed_origins)

    @property
    def max_frame_bytes(self) -> int:
        """Largest Engine.IO frame accepted: room for an over-long text to get a clear
        error (each character may take up to 6 bytes as a JSON escape), while a
        grossly larger frame is cut off at the transport."""
        return max(64 * 1024, self.max_text_length * 6 + 16 * 1024)


_BOOL = {"enforce_identity", "allow_polling"}
_INT = {
    "max_text_length",
    "message_burst",
    "typing_burst",
    "connect_burst",
    "history_limit",
    "csat_comment_max",
}
_FLOAT = {
    "token_ttl_days",
    "messages_per_minute",
    "typing_per_minute",
    "connects_per_minute",
}
_STR = {"secret", "identity_secret", "redis_url", "csat_question", "title"}
_KNOWN = _BOOL | _INT | _FLOAT | _STR | {"allowed_origins"}


def _bool(key: str, value: Any) -> bool:
    return parse_bool("webchat", key, value)


def _number(key: str, value: Any, kind: type[int] | type[float]) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"webchat.{key}: {value!r} is not a number")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"webchat.{key}: {value!r} is not a number") from None
    if number < 0:
        raise ConfigError(f"webchat.{key}: must not be negative")
    return number


def _origins(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError("webchat.allowed_origins: a list or comma-separated string")
    out = tuple(v for v in items if v)
    if not out:
        raise ConfigError('webchat.allowed_origins: empty (use "*" to allow any site)')
    return out


def parse_config(raw: Mapping[str, Any]) -> WebchatConfig:
    """Build the config from the channel's section; unknown keys are errors (typos)."""
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ConfigError(f"webchat: unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key in _BOOL:
            values[key] = _bool(key, value)
        elif key in _INT:
            values[key] = int(_number(key, value, int))
        elif key in _FLOAT:
            values[key] = float(_number(key, value, float))
        elif key == "allowed_origins":
            values[key] = _origins(value)
        else:
            values[key] = str(value) if value != "" else None
    config = WebchatConfig(**values)
    if config.enforce_identity and not config.identity_secret:
        raise ConfigError("webchat.enforce_identity needs webchat.identity_secret")
    if config.max_text_length < 1:
        raise ConfigError("webchat.max_text_length: must be at least 1")
    if config.message_burst < 1:
        raise ConfigError("webchat.message_burst: must be at least 1")
    if config.history_limit < 1:
        raise ConfigError("webchat.history_limit: must be at least 1")
    return config
