"""Slack request signing (v0): HMAC-SHA256 of ``v0:{timestamp}:{body}``.

Pure, so the rules (constant-time compare, the 5-minute window against replays,
a missing header is a refusal) are tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from enum import StrEnum

VERSION = "v0"


class Verdict(StrEnum):
    OK = "ok"
    MISSING = "missing_signature"
    MALFORMED = "malformed_signature"
    STALE = "stale_request"
    INVALID = "invalid_signature"


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack sends for this body."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    max_age: int = 300,
    now: float | None = None,
) -> Verdict:
    """Check one request; anything but ``Verdict.OK`` must be refused."""
    if not timestamp or not signature:
        return Verdict.MISSING
    try:
        ts = int(timestamp)
    except ValueError:
        return Verdict.MALFORMED
    if not signature.startswith(f"{VERSION}="):
        return Verdict.MALFORMED
    if abs((time.time() if now is None else now) - ts) > max_age:
        return Verdict.STALE
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return Verdict.INVALID
    return Verdict.OK
