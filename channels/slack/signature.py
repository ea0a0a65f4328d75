"""Why a request to ``POST /slack/events`` is refused. Pure: no I/O.

Bolt verifies the ``v0`` signature (HMAC-SHA256 of ``v0:{timestamp}:{body}``
with the signing secret, within 5 minutes) with slack_sdk's
``SignatureVerifier``, but answers every failure the same way and crashes on a
timestamp that is not a number. The desk's refusals name their reason, so an
operator reading a 401 knows whether the secret, the clock or a proxy is wrong:

- :func:`precheck` refuses, before Bolt runs, what it cannot verify at all
  (missing headers, a non-numeric timestamp, a signature that is not ``v0=``);
- :func:`explain` names what Bolt refused: an old (or future) timestamp, or a
  signature that does not match.
"""

from __future__ import annotations

from enum import StrEnum

VERSION = "v0"
# slack_sdk's SignatureVerifier refuses requests signed more than 5 minutes away.
MAX_AGE_SECONDS = 300


class Refusal(StrEnum):
    MISSING = "missing_signature"
    MALFORMED = "malformed_signature"
    STALE = "stale_request"
    INVALID = "invalid_signature"


def precheck(timestamp: str | None, signature: str | None) -> Refusal | None:
    """A refusal that needs no secret, or None when the headers can be verified."""
    if not timestamp or not signature:
        return Refusal.MISSING
    try:
        int(timestamp)
    except ValueError:
        return Refusal.MALFORMED
    if not signature.startswith(f"{VERSION}="):
        return Refusal.MALFORMED
    return None


def explain(timestamp: str | None, signature: str | None, *, now: float) -> Refusal:
    """Why a verifier refused a request (for the 401 body and the log)."""
    early = precheck(timestamp, signature)
    if early is not None:
        return early
    if abs(now - int(timestamp or 0)) > MAX_AGE_SECONDS:
        return Refusal.STALE
    return Refusal.INVALID
