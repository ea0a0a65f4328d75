"""Who may connect and what they may see: tokens, identity verification, isolation."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select
from webchat_support import BASE_CONFIG, Chat, MakeChat, Refusal

from channels.webchat.tokens import identity_hash, issue_token
from contactcenter.storage.models import Customer, Identity

SECRET = BASE_CONFIG["secret"].encode()
IDENTITY_SECRET = "site-identity-secret-for-tests"


async def test_another_visitor_can_neither_see_nor_join_a_conversation(chat: Chat) -> None:
    alice = await chat.visitor()
    await alice.wait_for("history")
    ack = await alice.send("password help")
    cid = ack["conversation_id"]
    await alice.wait_for("message", lambda d: d["author"] == "bot")

    mallory = await chat.visitor()
    await mallory.wait_for("history")
    # A forged conversation id in a message.
    refused = await mallory.send("let me in", conversation_id=cid)
    assert refused["error"]["code"] == "conversation_not_found"
    # Rating someone else's conversation.
    rated = await mallory.call("csat", {"conversation_id": cid, "score": 1})
    assert rated["error"]["code"] == "not_found"
    # Alice's visitor id with a signature made up by Mallory.
    alice_id = alice.token.split(".")[1] if alice.token else ""
    forged = f"v1.{alice_id}.{int(time.time())}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(Refusal) as exc:
        await chat.visitor({"visitor_token": forged})
    assert exc.value.code == "invalid_token"

    # An agent's reply to Alice reaches Alice only.
    status, _ = await chat.api.call(
        "POST", f"/api/v1/conversations/{cid}/messages", json={"text": "For Alice only"}
    )
    assert status == 201
    await alice.wait_for("message", lambda d: d["text"] == "For Alice only")
    await chat.settle()
    assert all(m["conversation_id"] != cid for m in mallory.messages())
    assert "For Alice only" not in str(mallory.events)
    # Mallory's own message went to a conversation of her own.
    mine = await mallory.send("my own question about passwords")
    assert mine["conversation_id"] != cid


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("not-a-token", "invalid_token"),
        ("v1.v_AAAAAAAAAAAAAAAAAAAAAA.1.AAAA", "invalid_token"),
        (
            issue_token(b"some other server secret", "v_AAAAAAAAAAAAAAAAAAAAAA", int(time.time())),
            "invalid_token",
        ),
        (
            issue_token(SECRET, "v_AAAAAAAAAAAAAAAAAAAAAA", int(time.time()) - 181 * 86400),
            "token_expired",
        ),
        (
            issue_token(SECRET, "v_AAAAAAAAAAAAAAAAAAAAAA", int(time.time()) + 86400),
            "invalid_token",
        ),
        (12345, "invalid_token"),
    ],
)
async def test_forged_or_expired_tokens_are_refused_with_a_reason(
    chat: Chat, token: object, code: str
) -> None:
    with pytest.raises(Refusal) as exc:
        await chat.visitor({"visitor_token": token})
    assert exc.value.code == code
    assert exc.value.data["data"]["message"]


async def test_a_valid_token_from_this_server_resumes(chat: Chat) -> None:
    token = issue_token(SECRET, "v_BBBBBBBBBBBBBBBBBBBBBB", int(time.time()) - 86400)
    v = await chat.visitor({"visitor_token": token})
    session = await v.wait_for("session")
    # A fresh token for the same visitor: coming back keeps it from expiring.
    assert session["visitor_token"].split(".")[1] == "v_BBBBBBBBBBBBBBBBBBBBBB"
    assert session["visitor_token"] != token


async def test_enforced_identity_refuses_anything_but_a_valid_hash(make_chat: MakeChat) -> None:
    chat = await make_chat(identity_secret=IDENTITY_SECRET, enforce_identity=True)
    good = {
        "user_id": "u-42",
        "email": "Dana@Example.com",
        "name": "Dana",
        "user_hash": identity_hash(IDENTITY_SECRET, "u-42"),
    }
    for auth, code in [
        (None, "identity_required"),
        ({"user_id": "u-42", "email": "dana@example.com"}, "identity_required"),
        ({**good, "user_hash": identity_hash("wrong secret", "u-42")}, "identity_invalid"),
        ({**good, "user_id": "u-43"}, "identity_invalid"),
        ({**good, "user_hash": "zz"}, "identity_invalid"),
        (
            {"visitor_token": issue_token(SECRET, "v_CCCCCCCCCCCCCCCCCCCCCC", int(time.time()))},
            "identity_required",
        ),
    ]:
        with pytest.raises(Refusal) as exc:
            await chat.visitor(auth)
        assert exc.value.code == code, auth

    v = await chat.visitor(good)
    session = await v.wait_for("session")
    assert session["verified"] is True and session["user_id"] == "u-42"
    assert session["visitor_token"] is None  # the site vouches for the user each time
    await v.wait_for("history")
    ack = await v.send("password reset")
    async with chat.services.db.session() as s:
        identity = (await s.exec(select(Identity).where(Identity.channel == "webchat"))).one()
        customer = await s.get(Customer, identity.customer_id)
    assert identity.address == "user:u-42" and identity.verified is True
    assert customer is not None and customer.email == "dana@example.com"
    assert customer.email_verified is True

    # The same user on another device sees the same conversation.
    other = await chat.visitor(good)
    assert (await other.wait_for("session"))["conversation_id"] == ack["conversation_id"]
    history = await other.wait_for("history")
    assert history["messages"][0]["text"] == "password reset"


async def test_unenforced_identity_without_hash_is_only_an_anonymous_visitor(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat(identity_secret=IDENTITY_SECRET)
    # A wrong hash is refused even when not enforced.
    with pytest.raises(Refusal) as exc:
        await chat.visitor({"user_id": "u-1", "user_hash": "0" * 64})
    assert exc.value.code == "identity_invalid"
    # No hash: a claim, never the user's own address.
    v = await chat.visitor({"user_id": "u-1", "email": "victim@example.com", "name": "Vic"})
    session = await v.wait_for("session")
    assert session["verified"] is False and session["visitor_token"]
    await v.wait_for("history")
    await v.send("password question")
    async with chat.services.db.session() as s:
        identity = (await s.exec(select(Identity).where(Identity.channel == "webchat"))).one()
        customer = await s.get(Customer, identity.customer_id)
    assert identity.address.startswith("v_") and identity.verified is False
    assert customer is not None and customer.email_verified is False


async def test_connections_per_address_are_rate_limited(make_chat: MakeChat) -> None:
    chat = await make_chat(connects_per_minute=1, connect_burst=2)
    await chat.visitor()
    await chat.visitor()
    with pytest.raises(Refusal) as exc:
        await chat.visitor()
    assert exc.value.code == "rate_limited"
    assert exc.value.data["data"]["retry_after"] > 0
