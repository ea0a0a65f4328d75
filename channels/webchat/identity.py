"""Who is connecting: the decision from the auth dict, pure.

- nothing: a new anonymous visitor, handed a signed visitor token;
- ``{"visitor_token"}``: the same visitor again, if the token is ours and fresh;
- ``{"user_id", "email", "name", "user_hash"}``: a user the site logged in,
  verified when ``user_hash`` is the HMAC of ``user_id`` with the identity secret.

A user claim without a hash is only a claim: it never becomes the address
``user:<id>`` (that would hand the conversation of user 42 to whoever types
42), it stays an anonymous visitor whose name and email are unverified hints.
A hash that is present and wrong is refused outright, enforced or not. With
``enforce_identity`` every connection needs a valid hash: anonymous visitors
and bare tokens are refused too (the hole Chatwoot's issue #9493 describes is
an "enforce" that still lets unverified visitors write).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import WebchatConfig
from .payloads import Auth
from .tokens import TokenError, identity_hash_valid, issue_token, new_visitor_id, read_token

USER_PREFIX = "user:"


class Refused(Exception):
    """The connection is refused; ``code`` and ``message`` go to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Visitor:
    address: str  # Address("webchat", address): a visitor id or "user:<user_id>"
    verified: bool
    email: str | None = None
    name: str | None = None
    token: str | None = None  # handed back in "session" (anonymous visitors only)

    @property
    def room(self) -> str:
        return room_of(self.address)


_ROOM_PREFIX = "visitor:"


def room_of(address: str) -> str:
    """Every socket of one visitor (tabs, devices) is in this room, and nobody else."""
    return _ROOM_PREFIX + address


def is_visitor_room(room: str) -> bool:
    return room.startswith(_ROOM_PREFIX)


def identify(auth: Auth, *, secret: bytes, config: WebchatConfig, now: int) -> Visitor:
    user = auth.user
    if user is not None and user.user_hash is not None:
        if not config.identity_secret:
            raise Refused(
                "identity_invalid", "identity verification is not configured on this server"
            )
        if not identity_hash_valid(config.identity_secret, user.user_id, user.user_hash):
            raise Refused("identity_invalid", "the user_hash does not match the user_id")
        return Visitor(USER_PREFIX + user.user_id, True, user.email, user.name)
    if config.enforce_identity:
        raise Refused(
            "identity_required", "this site requires a verified user (user_id and user_hash)"
        )
    email = user.email if user else None
    name = user.name if user else None
    max_age = config.token_ttl_days * 86400
    if auth.visitor_token is not None:
        try:
            visitor_id = read_token(secret, auth.visitor_token, now, max_age)
        except TokenError as exc:
            raise Refused(exc.code, exc.message) from None
    else:
        visitor_id = new_visitor_id()
    # A fresh token on every connect: a visitor who keeps coming back never expires.
    return Visitor(visitor_id, False, email, name, issue_token(secret, visitor_id, now))
