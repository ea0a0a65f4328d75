"""Visitor tokens and identity hashes: pure HMAC-SHA256, no I/O.

A visitor token is what an anonymous visitor keeps (in localStorage) to come
back as the same visitor: ``v1.<visitor_id>.<issued_at>.<mac>``, the MAC taken
with the server secret over the version, id and time. Nothing in it is secret;
it only has to be unforgeable, and it expires so a token copied out of a
browser does not open the conversation forever.

The identity hash is the site's proof that it logged a user in, the scheme of
Intercom's and Chatwoot's identity verification: the site's back end computes
``hex(HMAC-SHA256(identity_secret, user_id))`` and hands it to the widget.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

VERSION = "v1"
_DOMAIN = b"contactcenter-webchat-visitor-token"
VISITOR_ID = re.compile(r"^v_[A-Za-z0-9_-]{16,43}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
# Tolerated clock skew for a token issued "in the future" by another process.
CLOCK_SKEW = 300


class TokenError(ValueError):
    """A token is unusable; ``code`` is what the client is told."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_visitor_id() -> str:
    """128 bits from the OS random source: guessing another visitor's id is hopeless."""
    return "v_" + secrets.token_urlsafe(16)


def _mac(secret: bytes, visitor_id: str, issued_at: int) -> str:
    data = b"|".join((_DOMAIN, VERSION.encode(), visitor_id.encode(), str(issued_at).encode()))
    digest = hmac.new(secret, data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(secret: bytes, visitor_id: str, now: int) -> str:
    if not VISITOR_ID.match(visitor_id):
        raise ValueError(f"not a visitor id: {visitor_id!r}")
    return f"{VERSION}.{visitor_id}.{now}.{_mac(secret, visitor_id, now)}"


def read_token(secret: bytes, token: object, now: int, max_age: float) -> str:
    """The visitor id of a valid token, or :class:`TokenError` saying why not."""
    if not isinstance(token, str) or len(token) > 200:
        raise TokenError("invalid_token", "the visitor token is malformed")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise TokenError("invalid_token", "the visitor token is malformed")
    _, visitor_id, issued_raw, mac = parts
    if not VISITOR_ID.match(visitor_id) or not issued_raw.isdigit() or len(issued_raw) > 12:
        raise TokenError("invalid_token", "the visitor token is malformed")
    issued_at = int(issued_raw)
    expected = _mac(secret, visitor_id, issued_at)
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        raise TokenError("invalid_token", "the visitor token's signature is not valid")
    if issued_at > now + CLOCK_SKEW:
        raise TokenError("invalid_token", "the visitor token is issued in the future")
    if now - issued_at > max_age:
        raise TokenError("token_expired", "the visitor token has expired; start a new session")
    return visitor_id


def identity_hash(identity_secret: str, user_id: str) -> str:
    """What the site's back end computes for a logged-in user (hex HMAC-SHA256)."""
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_hash_valid(identity_secret: str, user_id: str, given: object) -> bool:
    if not isinstance(given, str) or not _HEX64.match(given):
        return False
    return hmac.compare_digest(identity_hash(identity_secret, user_id), given.lower())
