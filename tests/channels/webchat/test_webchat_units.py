"""The pure parts, without a network: tokens, identity, payloads, limits, config, wire."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.webchat.config import parse_config
from channels.webchat.identity import Refused, identify
from channels.webchat.payloads import PayloadError, parse_auth, parse_csat, parse_message
from channels.webchat.ratelimit import RateLimiter
from channels.webchat.secret import load_secret
from channels.webchat.tokens import (
    TokenError,
    identity_hash,
    identity_hash_valid,
    issue_token,
    new_visitor_id,
    read_token,
)
from channels.webchat.wire import actions, suggestions
from contactcenter.config import ConfigError

KEY = b"k" * 32


def test_tokens_round_trip_and_refuse_tampering() -> None:
    vid = new_visitor_id()
    token = issue_token(KEY, vid, 1000)
    assert read_token(KEY, token, 1000, 60) == vid
    with pytest.raises(TokenError) as exc:
        read_token(KEY, token, 1061, 60)
    assert exc.value.code == "token_expired"
    other = new_visitor_id()
    forged = token.replace(vid, other)
    with pytest.raises(TokenError):
        read_token(KEY, forged, 1000, 60)
    with pytest.raises(TokenError):
        read_token(b"another key", token, 1000, 60)
    for junk in ["", "v1", "v2." + token[3:], token + "x", None, 5, "v1.a.b.c" * 40]:
        with pytest.raises(TokenError):
            read_token(KEY, junk, 1000, 60)


def test_identity_hash_is_hex_hmac_sha256_of_the_user_id() -> None:
    # The value any site back end computes: hmac.new(secret, user_id, sha256).hexdigest()
    assert identity_hash("secret", "42") == (
        "93c121e7aa437a1e01e3c512c6f0ce3c821a839025dca4408f85616de4aaee70"
    )
    good = identity_hash("secret", "42")
    assert len(good) == 64 and identity_hash_valid("secret", "42", good.upper())
    assert not identity_hash_valid("secret", "43", good)
    assert not identity_hash_valid("secret", "42", None)
    assert not identity_hash_valid("secret", "42", good[:-1])


def test_identify_never_turns_an_unproven_claim_into_the_user() -> None:
    config = parse_config({"identity_secret": "s3cret"})
    claim = parse_auth({"user_id": "7", "email": "a@b.c"})
    visitor = identify(claim, secret=KEY, config=config, now=1000)
    assert visitor.address.startswith("v_") and not visitor.verified
    assert visitor.email == "a@b.c"
    proven = parse_auth({"user_id": "7", "user_hash": identity_hash("s3cret", "7")})
    assert identify(proven, secret=KEY, config=config, now=1000).address == "user:7"
    with pytest.raises(Refused):
        identify(
            parse_auth({"user_id": "7", "user_hash": "0" * 64}), secret=KEY, config=config, now=1000
        )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"id": "a", "text": "x" * 11}, "too_long"),
        ({"id": "a", "text": 1}, "bad_text"),
        ({"id": "a", "text": "\ud83d"}, "bad_text"),
        ({"id": "a", "text": "\x00\x01"}, "empty"),
        ({"id": "a:b", "text": "hi"}, "bad_id"),
        ({"id": -1, "text": "hi"}, "bad_id"),
        ({"id": "a", "text": "hi", "conversation_id": 0}, "bad_payload"),
        ({"id": "a", "text": "hi", "conversation_id": True}, "bad_payload"),
        ("x", "bad_payload"),
    ],
)
def test_message_payloads_are_refused_with_a_code(payload: object, code: str) -> None:
    with pytest.raises(PayloadError) as exc:
        parse_message(payload, max_len=10)
    assert exc.value.code == code


def test_message_payload_accepts_numbers_as_ids_and_keeps_newlines() -> None:
    msg = parse_message({"id": 17, "text": "a\nb\tc"}, max_len=10)
    assert msg.id == "17" and msg.text == "a\nb\tc"


def test_csat_and_auth_payloads() -> None:
    assert (
        parse_csat({"conversation_id": 3, "score": 5, "comment": "  "}, comment_max=5).comment
        is None
    )
    with pytest.raises(PayloadError):
        parse_csat({"conversation_id": 3, "score": 5, "comment": "x" * 6}, comment_max=5)
    with pytest.raises(PayloadError):
        parse_csat({"conversation_id": 3, "score": 3.5}, comment_max=5)
    with pytest.raises(PayloadError):
        parse_auth("token")
    with pytest.raises(PayloadError):
        parse_auth({"last_id": -1})
    with pytest.raises(PayloadError):
        parse_auth({"user_id": "x", "email": "not an email"})
    assert parse_auth({"user_id": 5}).user is not None


def test_rate_limiter_refills_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert limiter.check("v", 0.0) == 0.0
    assert limiter.check("v", 0.0) == 0.0
    wait = limiter.check("v", 0.0)
    assert wait == pytest.approx(1.0)
    assert limiter.check("other", 0.0) == 0.0
    assert limiter.check("v", 1.0) == 0.0
    small = RateLimiter(per_minute=60, burst=1, max_keys=2)
    for key in "abc":
        small.check(key, 0.0)
    assert len(small._buckets) == 2
    assert RateLimiter(per_minute=0, burst=0).check("x", 0.0) == 0.0


def test_config_is_checked() -> None:
    config = parse_config(
        {
            "enforce_identity": "true",
            "identity_secret": "x",
            "max_text_length": "100",
            "allowed_origins": "https://a, https://b",
        }
    )
    assert config.enforce_identity and config.max_text_length == 100
    assert config.cors == ["https://a", "https://b"] and config.transports == ["websocket"]
    for bad in [
        {"enforce_identity": True},
        {"max_text_length": "many"},
        {"typo": 1},
        {"message_burst": 0},
        {"enforce_identity": "maybe"},
    ]:
        with pytest.raises(ConfigError):
            parse_config(bad)


def test_the_generated_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path)
    assert load_secret(None, tmp_path) == first
    assert (tmp_path / "webchat_secret").stat().st_mode & 0o777 == 0o600
    assert load_secret("configured-secret-123", tmp_path) == b"configured-secret-123"
    with pytest.raises(ConfigError):
        load_secret("short", tmp_path)


def test_wire_keeps_only_web_links_and_labels_actions() -> None:
    items = suggestions(
        [{"title": "A", "url": "javascript:alert(1)"}, {"title": "B", "url": "https://x"}]
    )
    assert [i["url"] for i in items] == [None, "https://x"]
    assert actions(["yes", "human"]) == [
        {"id": "yes", "label": "Yes"},
        {"id": "human", "label": "Talk to a human"},
    ]


def test_presence_notices_update_only_rooms_with_local_sockets() -> None:
    from channels.webchat.presence import Presence

    presence = Presence("redis://127.0.0.1:6379/0", host_id="me")
    presence.listening = True
    presence._others["visitor:a"] = set()  # a room this process has sockets in
    assert presence.only_here("visitor:a") and not presence.only_here("visitor:b")

    for junk in (b"not json", b"[]", b'{"kind": "join"}', b'{"kind": "join", "room": 1}', b"\xff"):
        presence.on_notice(junk)  # ignored, never raised
    presence.on_notice(b'{"kind": "join", "room": "visitor:a", "host": "me"}')  # its own
    presence.on_notice(b'{"kind": "join", "room": "visitor:b", "host": "other"}')  # not here
    assert presence.only_here("visitor:a") and "visitor:b" not in presence._others

    presence.on_notice(b'{"kind": "join", "room": "visitor:a", "host": "other"}')
    assert not presence.only_here("visitor:a")
    presence.on_notice(b'{"kind": "leave", "room": "visitor:a", "host": "other"}')
    assert presence.only_here("visitor:a")

    presence.listening = False  # notices may be missed: publish everything
    assert not presence.only_here("visitor:a")


async def test_a_join_notice_that_arrives_while_joining_is_kept() -> None:
    """Another process announcing itself between this one's read of the room's members
    and the end of its join must not be forgotten (this process would then keep emits
    local and that process's tab would miss them)."""
    from channels.webchat.presence import Presence

    class Redis:  # answers the join as Redis would, after the notice has come in
        def __init__(self, presence: Presence) -> None:
            self.presence = presence

        def pipeline(self, transaction: bool) -> Redis:
            return self

        async def __aenter__(self) -> Redis:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        def sadd(self, *args: object) -> Redis:
            return self

        def expire(self, *args: object) -> Redis:
            return self

        def smembers(self, *args: object) -> Redis:
            return self

        async def execute(self) -> list[object]:
            self.presence.on_notice(b'{"kind": "join", "room": "visitor:a", "host": "late"}')
            return [1, True, {b"me"}]  # read before "late" joined

        async def publish(self, *args: object) -> int:
            return 1

    presence = Presence("redis://unused", host_id="me")
    presence._redis = Redis(presence)
    presence.listening = True
    await presence.sync("visitor:a", lambda: True)
    assert presence._others["visitor:a"] == {"late"}
    assert not presence.only_here("visitor:a")


def test_the_channel_loads_without_the_optional_redis_package() -> None:
    """`pip install -e .` (the quick start) has no `redis`: only a redis_url needs it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['redis'] = None\n"  # any `import redis` now fails
        "import channels.webchat.channel, channels.webchat.presence\n"
        "print('loaded')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded"
