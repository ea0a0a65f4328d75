"""Validation of everything a web chat client sends: pure functions, no I/O.

Each parser takes the decoded JSON a Socket.IO event carried and returns a
frozen value, or raises :class:`PayloadError` with a code and a sentence the
client can show. Nothing half-valid reaches the router: a text that cannot be
stored (a lone surrogate, a NUL that PostgreSQL refuses) is refused here, with
a reason, rather than failing later inside a transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_USER_ID = 128
MAX_NAME = 200
MAX_EMAIL = 254
MAX_ID = 2**53  # what a JavaScript number holds exactly
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PayloadError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ClientMessage:
    id: str
    text: str
    conversation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Csat:
    conversation_id: int
    score: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class UserClaim:
    """A logged-in user as the page says; proven only if ``user_hash`` checks out."""

    user_id: str
    email: str | None
    name: str | None
    user_hash: str | None


@dataclass(frozen=True, slots=True)
class Auth:
    visitor_token: str | None
    user: UserClaim | None
    last_id: int


def _object(data: Any, event: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError("bad_payload", f"the {event!r} event needs a JSON object")
    return data


def _positive_id(data: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise PayloadError("bad_payload", f"{name!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_ID:
        raise PayloadError("bad_payload", f"{name!r} must be a positive integer")
    return value


def clean_text(value: Any, *, name: str, max_len: int, allow_empty: bool = False) -> str:
    """A storable text: a string, valid Unicode, within the limit, without NULs."""
    if not isinstance(value, str):
        raise PayloadError("bad_text", f"{name!r} must be a string")
    if len(value) > max_len:
        raise PayloadError("too_long", f"{name!r} is longer than {max_len} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("bad_text", f"{name!r} is not valid Unicode text") from None
    # Control characters other than tab and newlines carry nothing a person wrote,
    # and PostgreSQL refuses NUL outright.
    text: str = _CONTROL.sub("", value)
    if not allow_empty and not text.strip():
        raise PayloadError("empty", f"{name!r} must not be empty")
    return text


def parse_message(data: Any, *, max_len: int) -> ClientMessage:
    """``{"id": client message id, "text": ..., "conversation_id"?: ...}``."""
    obj = _object(data, "message")
    raw_id = obj.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and 0 <= raw_id < MAX_ID:
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not CLIENT_ID.match(raw_id):
        raise PayloadError(
            "bad_id", "'id' must be a client message id: 1-64 letters, digits, '-' or '_'"
        )
    if "text" not in obj:
        raise PayloadError("bad_text", "'text' is required")
    text = clean_text(obj["text"], name="text", max_len=max_len)
    return ClientMessage(raw_id, text, _positive_id(obj, "conversation_id", required=False))


def parse_csat(data: Any, *, comment_max: int) -> Csat:
    """``{"conversation_id", "score": 1..5, "comment"?}``."""
    obj = _object(data, "csat")
    conversation_id = _positive_id(obj, "conversation_id", required=True)
    assert conversation_id is not None
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise PayloadError("bad_score", "'score' must be an integer from 1 to 5")
    comment = obj.get("comment")
    if comment is not None:
        comment = clean_text(comment, name="comment", max_len=comment_max, allow_empty=True)
        comment = comment.strip() or None
    return Csat(conversation_id, score, comment)


def parse_typing(data: Any) -> bool:
    """``{"typing": bool}``; a bare ``true``/``false`` is accepted too."""
    if isinstance(data, bool):
        return data
    obj = _object(data, "typing")
    value = obj.get("typing", True)
    if not isinstance(value, bool):
        raise PayloadError("bad_payload", "'typing' must be true or false")
    return value


def _short(obj: dict[str, Any], name: str, max_len: int) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len or _CONTROL.search(value):
        raise PayloadError("bad_auth", f"{name!r} must be text of at most {max_len} characters")
    return value.strip() or None


def parse_auth(data: Any) -> Auth:
    """The Socket.IO auth dict: nothing, ``{"visitor_token"}``, or a user claim; plus
    ``last_id``, the last server message id the client has seen."""
    if data is None:
        return Auth(None, None, 0)
    if not isinstance(data, dict):
        raise PayloadError("bad_auth", "auth must be a JSON object")
    token = data.get("visitor_token")
    if token is not None and not isinstance(token, str):
        raise PayloadError("invalid_token", "the visitor token is malformed")
    last_id = data.get("last_id", 0)
    if last_id is None:
        last_id = 0
    if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 <= last_id < MAX_ID:
        raise PayloadError("bad_auth", "'last_id' must be a non-negative integer")
    user = None
    raw_user = data.get("user_id")
    if raw_user is not None and raw_user != "":
        if isinstance(raw_user, int) and not isinstance(raw_user, bool):
            raw_user = str(raw_user)
        if (
            not isinstance(raw_user, str)
            or not raw_user.strip()
            or len(raw_user) > MAX_USER_ID
            or _CONTROL.search(raw_user)
        ):
            raise PayloadError("bad_auth", f"'user_id' must be text of 1-{MAX_USER_ID} characters")
        email = _short(data, "email", MAX_EMAIL)
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            raise PayloadError("bad_auth", "'email' is not an email address")
        user_hash = data.get("user_hash")
        if user_hash is not None and not isinstance(user_hash, str):
            raise PayloadError("identity_invalid", "'user_hash' must be a hex string")
        user = UserClaim(raw_user, email, _short(data, "name", MAX_NAME), user_hash or None)
    return Auth(token or None, user, last_id)
