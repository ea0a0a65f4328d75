"""Which conversation an inbound mail belongs to: the signals, in order of trust.

Mail clients are inconsistent: some keep In-Reply-To but drop References,
some strip custom headers, some reply from another device that keeps only the
subject. So the channel stamps every outgoing mail three ways - its own
Message-ID format, a token in the Reply-To plus address and a "[#TOKEN]"
subject tag - and this module reads back whichever survived. Nothing here
looks anything up: it lists candidates and the caller decides.

Our ids and tokens can carry an HMAC (when a secret is given) so that a
forged "In-Reply-To: <cc.42.x@us>" cannot attach a stranger's mail to
conversation 42; without a secret the signals are reported as unverified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from .model import ParsedEmail

OUR_ID_PREFIX = "cc"
_OUR_MESSAGE_ID = re.compile(
    r"^<?cc\.(?P<conv>[A-Za-z0-9_-]{1,64})\.(?P<rand>[A-Za-z0-9]{4,64})@(?P<domain>[^<>\s@]+)>?$"
)
# Reply tokens: "<conversation>-<mac>" or just "<conversation>"; plus-address safe.
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_SUBJECT_TAG = re.compile(r"\[#(" + _TOKEN + r")\]")
_MAC_CHARS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadSignal:
    """One hint, e.g. name="in_reply_to_ours", key="conversation:42"."""

    name: str
    key: str
    # True when the hint names one of our conversations and its MAC checked out.
    verified: bool = False
    conversation_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadSignals:
    """All hints, most trustworthy first, plus the thread's stable root key."""

    candidates: tuple[ThreadSignal, ...]
    # The first message of the thread as the mail itself sees it: References[0],
    # else In-Reply-To, else the mail's own Message-ID. Stable across a thread
    # whose clients follow RFC 5322, so it serves as InboundMessage.thread_key.
    thread_root: str

    @property
    def best(self) -> ThreadSignal | None:
        return self.candidates[0] if self.candidates else None

    @property
    def conversation_id(self) -> str | None:
        """The conversation named by the best *verified* signal, if any."""
        for signal in self.candidates:
            if signal.conversation_id is not None and signal.verified:
                return signal.conversation_id
        return None

    def as_list(self) -> list[dict[str, object]]:
        """JSON-friendly form for message metadata and the CLI."""
        return [
            {
                "signal": s.name,
                "key": s.key,
                "verified": s.verified,
                "conversation_id": s.conversation_id,
            }
            for s in self.candidates
        ]


# -- our own formats ---------------------------------------------------------------


def _mac(secret: bytes, conversation_id: str, salt: str) -> str:
    digest = hmac.new(secret, f"{conversation_id}.{salt}".encode(), hashlib.sha256).hexdigest()
    return digest[:_MAC_CHARS]


def make_message_id(
    conversation_id: int | str,
    domain: str,
    *,
    secret: bytes | None = None,
    random_part: str | None = None,
) -> str:
    """``<cc.{conversation_id}.{random}@{domain}>``; random ends in a MAC if secret given."""
    conv = str(conversation_id)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", conv):
        raise ValueError(f"conversation id not usable in a Message-ID: {conv!r}")
    nonce = random_part or secrets.token_hex(8)
    rand = nonce + (_mac(secret, conv, nonce) if secret else "")
    return f"<{OUR_ID_PREFIX}.{conv}.{rand}@{domain.strip().lower()}>"


def parse_our_message_id(
    message_id: str, *, our_domain: str | None = None, secret: bytes | None = None
) -> tuple[str, bool] | None:
    """(conversation id, verified) if ``message_id`` is one of ours, else None."""
    match = _OUR_MESSAGE_ID.match(message_id.strip())
    if not match:
        return None
    if our_domain and match.group("domain").lower() != our_domain.strip().lower():
        return None
    conv, rand = match.group("conv"), match.group("rand")
    if secret is None:
        return conv, False
    if len(rand) <= _MAC_CHARS:
        return conv, False
    nonce, mac = rand[:-_MAC_CHARS], rand[-_MAC_CHARS:]
    return conv, hmac.compare_digest(mac, _mac(secret, conv, nonce))


def make_reply_token(conversation_id: int | str, *, secret: bytes | None = None) -> str:
    """The token for plus addresses and subject tags: "42" or "42-<mac>"."""
    conv = str(conversation_id)
    if not re.fullmatch(r"[A-Za-z0-9_]{1,40}", conv):
        raise ValueError(f"conversation id not usable in a reply token: {conv!r}")
    return f"{conv}-{_mac(secret, conv, 'token')}" if secret else conv


def parse_reply_token(token: str, *, secret: bytes | None = None) -> tuple[str, bool] | None:
    """(conversation id, verified) for a token made by :func:`make_reply_token`."""
    if not re.fullmatch(_TOKEN, token):
        return None
    conv, _, mac = token.partition("-")
    if not conv:
        return None
    if secret is None or not mac:
        return conv, False
    return conv, hmac.compare_digest(mac.lower(), _mac(secret, conv, "token"))


def make_reply_address(mailbox: str, token: str) -> str:
    """``support@example.com`` + token -> ``support+TOKEN@example.com``."""
    local, at, domain = mailbox.rpartition("@")
    if not at or not local:
        raise ValueError(f"not an address: {mailbox!r}")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def token_from_address(address: str, our_addresses: Iterable[str]) -> str | None:
    """The plus-address token if ``address`` is one of ours with a "+TOKEN"."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or "+" not in local:
        return None
    base, _, token = local.partition("+")
    ours = {a.strip().lower() for a in our_addresses}
    if f"{base}@{domain}" not in ours or not re.fullmatch(_TOKEN, token):
        return None
    return token


def subject_tokens(subject: str) -> list[str]:
    return _SUBJECT_TAG.findall(subject or "")


# -- reading the signals back -------------------------------------------------------


def thread_signals(
    parsed: ParsedEmail,
    *,
    our_domain: str,
    our_addresses: Iterable[str],
    secret: bytes | None = None,
) -> ThreadSignals:
    """Candidate thread keys for ``parsed``, most trustworthy first.

    Order: our Message-ID in In-Reply-To, our Message-ID in References
    (newest first), a plus-address token on a recipient of ours, a subject
    tag; then foreign ids: the thread root (References[0]), In-Reply-To, the
    other References newest first. Verified signals of ours come before
    unverified ones of the same kind only through this order, not by sorting.
    """
    ours = [a.strip().lower() for a in our_addresses]
    out: list[ThreadSignal] = []
    seen: set[tuple[str, str]] = set()

    def add(name: str, key: str, verified: bool = False, conv: str | None = None) -> None:
        if (name, key) not in seen:
            seen.add((name, key))
            out.append(ThreadSignal(name=name, key=key, verified=verified, conversation_id=conv))

    for name, ids in (
        ("in_reply_to_ours", parsed.in_reply_to),
        ("references_ours", tuple(reversed(parsed.references))),
    ):
        for mid in ids:
            found = parse_our_message_id(mid, our_domain=our_domain, secret=secret)
            if found:
                add(name, f"conversation:{found[0]}", found[1], found[0])

    recipients = [a.address for a in (*parsed.to, *parsed.cc)]
    for header in ("delivered-to", "x-original-to", "envelope-to"):
        recipients.extend(v.strip() for v in parsed.headers.get(header, "").split(","))
    for address in recipients:
        token = token_from_address(address.strip("<> "), ours)
        found = parse_reply_token(token, secret=secret) if token else None
        if found:
            add("plus_address_token", f"conversation:{found[0]}", found[1], found[0])

    for token in subject_tokens(parsed.subject):
        found = parse_reply_token(token, secret=secret)
        if found:
            add("subject_token", f"conversation:{found[0]}", found[1], found[0])

    def foreign(mid: str) -> bool:
        return parse_our_message_id(mid, our_domain=our_domain) is None

    if parsed.references:
        add("thread_root", parsed.references[0])
    for mid in filter(foreign, parsed.in_reply_to):
        add("in_reply_to", mid)
    for mid in filter(foreign, reversed(parsed.references[1:])):
        add("references", mid)

    root = (parsed.references or parsed.in_reply_to or (parsed.message_id,))[0]
    return ThreadSignals(candidates=tuple(out), thread_root=root)
