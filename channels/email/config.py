"""The ``[email]`` configuration, read once into frozen values (pure, no I/O).

The core hands a channel its TOML table, or flat strings from
``CONTACTCENTER_EMAIL_*`` variables, without knowing the keys. So this module
accepts both shapes: every value may arrive as a string and is coerced here,
and a typo or a missing host is a :class:`ConfigError` naming the key at
start-up, not a watcher that silently never connects.

Mailboxes are a list (``[[email.mailboxes]]``, or JSON in
``CONTACTCENTER_EMAIL_MAILBOXES``); each one inherits every key it does not set
from the top level, so a single-mailbox deployment needs no list at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from contactcenter.config import ConfigError, parse_bool

from .notices import DEFAULT_AGENT_JOINED_TEXT, DEFAULT_RESOLVED_TEXT, check_template

SECURITY = ("ssl", "starttls", "none")

# Keys a mailbox entry may override; everything else is channel-wide.
_MAILBOX_KEYS = frozenset(
    {
        "name", "address", "aliases", "imap_host", "imap_port", "imap_security",
        "imap_user", "imap_password", "imap_folder", "imap_tls_verify", "imap_tls_ca_file",
        "idle", "poll_seconds", "move_to", "backfill_since", "smtp_host", "smtp_port",
        "smtp_security", "smtp_user", "smtp_password", "smtp_tls_verify", "smtp_tls_ca_file",
        "brand", "notify_resolved", "resolved_text", "notify_agent_joined", "agent_joined_text",
    }
)  # fmt: skip
_CHANNEL_KEYS = _MAILBOX_KEYS | {
    "mailboxes",
    "secret",
    "domain",
    "imap_timeout",
    "smtp_timeout",
    "idle_restart_seconds",
    "reconnect_min_seconds",
    "reconnect_max_seconds",
    "lock_retry_seconds",
    "rate_limit_per_hour",
    "max_attachment_bytes",
    "max_message_bytes",
    "max_handle_attempts",
    "rescan_days",
    "watch",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxConfig:
    """One support address: where its mail is read (IMAP) and sent from (SMTP)."""

    name: str
    address: str
    aliases: tuple[str, ...] = ()
    brand: str | None = None
    imap_host: str | None = None
    imap_port: int = 993
    imap_security: str = "ssl"
    imap_user: str = ""
    imap_password: str = field(default="", repr=False)
    imap_folder: str = "INBOX"
    imap_tls_verify: bool = True
    # PEM file of the CA(s) to trust instead of the system's (a private or self-signed CA).
    imap_tls_ca_file: str | None = None
    idle: bool = True
    poll_seconds: float = 60.0
    move_to: str | None = None
    backfill_since: date | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls_verify: bool = True
    smtp_tls_ca_file: str | None = None
    # Mails about status events (see notices.py): on resolution yes, on "agent joined" no.
    notify_resolved: bool = True
    resolved_text: str = DEFAULT_RESOLVED_TEXT
    notify_agent_joined: bool = False
    agent_joined_text: str = DEFAULT_AGENT_JOINED_TEXT

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def our_addresses(self) -> tuple[str, ...]:
        return (self.address, *self.aliases)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig:
    mailboxes: tuple[MailboxConfig, ...]
    secret: str | None = field(default=None, repr=False)
    # Message-ID domain; default: each mailbox's own domain.
    domain: str | None = None
    imap_timeout: float = 30.0
    smtp_timeout: float = 30.0
    # A dropped IDLE can hang silently: IDLE is ended and restarted this often.
    idle_restart_seconds: float = 300.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 300.0
    lock_retry_seconds: float = 15.0
    # Mails to one recipient address per rolling hour; 0 disables the limit.
    rate_limit_per_hour: int = 30
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_message_bytes: int = 64 * 1024 * 1024
    # A message whose handling fails this many times in a row is quarantined.
    max_handle_attempts: int = 5
    # After a UIDVALIDITY change, mail since (last checkpoint - this many days) is
    # read again; the Message-ID dedupe makes the overlap harmless.
    rescan_days: int = 7
    # False: send only (another process, or nobody, reads the mailboxes).
    watch: bool = True

    def mailbox(self, name_or_address: str | None) -> MailboxConfig:
        """The mailbox with this name or address (any of ours), else the first one."""
        if name_or_address:
            wanted = name_or_address.strip().lower()
            for box in self.mailboxes:
                if box.name.lower() == wanted or wanted in box.our_addresses:
                    return box
        return self.mailboxes[0]


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise ConfigError(f"email.{key}: expected text, got {type(value).__name__}")
    return str(value).strip()


def _int(key: str, value: Any, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"email.{key}: {value!r} is not an integer") from None
    if number < minimum:
        raise ConfigError(f"email.{key}: must be at least {minimum}")
    return number


def _float(key: str, value: Any, *, minimum: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"email.{key}: {value!r} is not a number") from None
    if number < minimum:
        raise ConfigError(f"email.{key}: must be at least {minimum}")
    return number


def _bool(key: str, value: Any) -> bool:
    return parse_bool("email", key, value)


def _security(key: str, value: Any) -> str:
    text = _text(key, value).lower()
    if text not in SECURITY:
        raise ConfigError(f"email.{key}: {text!r} is not one of {', '.join(SECURITY)}")
    return text


def parse_date(key: str, value: Any) -> date | None:
    """A backfill date: a TOML date, "YYYY-MM-DD", or an ISO datetime (its date)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(key, value)[:10])
    except ValueError:
        raise ConfigError(f"email.{key}: {value!r} is not a date (YYYY-MM-DD)") from None


def _address(key: str, value: Any) -> str:
    text = _text(key, value).lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise ConfigError(f"email.{key}: {text!r} is not an email address")
    return text


def _aliases(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise ConfigError("email.aliases: expected a list of addresses")
    return tuple(_address("aliases", v) for v in value)


def _tls(raw: Mapping[str, Any], protocol: str) -> tuple[bool, str | None]:
    """``<protocol>_tls_verify`` and ``<protocol>_tls_ca_file``, refusing contradictions."""
    verify = _bool(f"{protocol}_tls_verify", raw.get(f"{protocol}_tls_verify", True))
    key = f"{protocol}_tls_ca_file"
    ca_file = _text(key, raw[key]) if raw.get(key) else None
    if ca_file and not verify:
        raise ConfigError(
            f"email.{key} is set but {protocol}_tls_verify is false: "
            "a CA file only matters when certificates are checked; drop one of them"
        )
    return verify, ca_file


def _mailbox(raw: Mapping[str, Any], index: int) -> MailboxConfig:
    unknown = set(raw) - _MAILBOX_KEYS
    if unknown:
        raise ConfigError(f"email.mailboxes[{index}]: unknown key(s) {', '.join(sorted(unknown))}")
    if not raw.get("address"):
        raise ConfigError(f"email.mailboxes[{index}]: 'address' is required")
    address = _address("address", raw["address"])
    imap_security = _security("imap_security", raw.get("imap_security", "ssl"))
    smtp_security = _security("smtp_security", raw.get("smtp_security", "starttls"))
    default_imap_port = 993 if imap_security == "ssl" else 143
    default_smtp_port = {"ssl": 465, "starttls": 587, "none": 25}[smtp_security]
    move_to = _text("move_to", raw["move_to"]) if raw.get("move_to") else None
    imap_tls_verify, imap_tls_ca_file = _tls(raw, "imap")
    smtp_tls_verify, smtp_tls_ca_file = _tls(raw, "smtp")
    return MailboxConfig(
        name=_text("name", raw.get("name") or address),
        address=address,
        aliases=_aliases(raw.get("aliases", ())),
        brand=_text("brand", raw["brand"]) if raw.get("brand") else None,
        imap_host=_text("imap_host", raw["imap_host"]) if raw.get("imap_host") else None,
        imap_port=_int("imap_port", raw.get("imap_port", default_imap_port), minimum=1),
        imap_security=imap_security,
        imap_user=_text("imap_user", raw.get("imap_user") or address),
        imap_password=_text("imap_password", raw.get("imap_password", "")),
        imap_folder=_text("imap_folder", raw.get("imap_folder") or "INBOX"),
        imap_tls_verify=imap_tls_verify,
        imap_tls_ca_file=imap_tls_ca_file,
        idle=_bool("idle", raw.get("idle", True)),
        poll_seconds=_float("poll_seconds", raw.get("poll_seconds", 60.0), minimum=0.05),
        move_to=move_to,
        backfill_since=parse_date("backfill_since", raw.get("backfill_since")),
        smtp_host=_text("smtp_host", raw["smtp_host"]) if raw.get("smtp_host") else None,
        smtp_port=_int("smtp_port", raw.get("smtp_port", default_smtp_port), minimum=1),
        smtp_security=smtp_security,
        smtp_user=_text("smtp_user", raw["smtp_user"]) if raw.get("smtp_user") else None,
        smtp_password=(
            _text("smtp_password", raw["smtp_password"]) if raw.get("smtp_password") else None
        ),
        smtp_tls_verify=smtp_tls_verify,
        smtp_tls_ca_file=smtp_tls_ca_file,
        notify_resolved=_bool("notify_resolved", raw.get("notify_resolved", True)),
        resolved_text=check_template(
            "resolved_text", _text("resolved_text", raw.get("resolved_text", DEFAULT_RESOLVED_TEXT))
        ),
        notify_agent_joined=_bool("notify_agent_joined", raw.get("notify_agent_joined", False)),
        agent_joined_text=check_template(
            "agent_joined_text",
            _text("agent_joined_text", raw.get("agent_joined_text", DEFAULT_AGENT_JOINED_TEXT)),
        ),
    )


def parse_config(raw: Mapping[str, Any]) -> EmailConfig:
    """The channel's settings from its ``[email]`` table (or env strings)."""
    unknown = set(raw) - _CHANNEL_KEYS
    if unknown:
        raise ConfigError(f"email: unknown key(s) {', '.join(sorted(unknown))}")
    entries = raw.get("mailboxes")
    if isinstance(entries, str):
        try:
            entries = json.loads(entries)
        except ValueError:
            raise ConfigError("email.mailboxes: not valid JSON") from None
    if entries is None:
        entries = [{}] if raw.get("address") else []
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ConfigError("email.mailboxes: expected a list of tables")
    if not entries:
        raise ConfigError("email: configure 'address' or at least one [[email.mailboxes]] entry")
    inherited = {k: v for k, v in raw.items() if k in _MAILBOX_KEYS}
    # A listed mailbox never inherits the top-level name (names are unique).
    inherited.pop("name", None)
    mailboxes = tuple(_mailbox({**inherited, **e}, i) for i, e in enumerate(entries))
    names = [m.name.lower() for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("email.mailboxes: names must be unique (set 'name' per mailbox)")
    return EmailConfig(
        mailboxes=mailboxes,
        secret=_text("secret", raw["secret"]) if raw.get("secret") else None,
        domain=_text("domain", raw["domain"]).lower() if raw.get("domain") else None,
        imap_timeout=_float("imap_timeout", raw.get("imap_timeout", 30.0), minimum=0.1),
        smtp_timeout=_float("smtp_timeout", raw.get("smtp_timeout", 30.0), minimum=0.1),
        idle_restart_seconds=_float(
            "idle_restart_seconds", raw.get("idle_restart_seconds", 300.0), minimum=0.1
        ),
        reconnect_min_seconds=_float(
            "reconnect_min_seconds", raw.get("reconnect_min_seconds", 1.0), minimum=0.01
        ),
        reconnect_max_seconds=_float(
            "reconnect_max_seconds", raw.get("reconnect_max_seconds", 300.0), minimum=0.01
        ),
        lock_retry_seconds=_float(
            "lock_retry_seconds", raw.get("lock_retry_seconds", 15.0), minimum=0.01
        ),
        rate_limit_per_hour=_int("rate_limit_per_hour", raw.get("rate_limit_per_hour", 30)),
        max_attachment_bytes=_int(
            "max_attachment_bytes", raw.get("max_attachment_bytes", 10 * 1024 * 1024)
        ),
        max_message_bytes=_int(
            "max_message_bytes", raw.get("max_message_bytes", 64 * 1024 * 1024), minimum=1024
        ),
        max_handle_attempts=_int(
            "max_handle_attempts", raw.get("max_handle_attempts", 5), minimum=1
        ),
        rescan_days=_int("rescan_days", raw.get("rescan_days", 7)),
        watch=_bool("watch", raw.get("watch", True)),
    )
