"""The fake Slack server (aiohttp, loopback).

Web API (``/api/<method>``): accepts what slack_sdk really sends, i.e. JSON bodies
with ``Authorization: Bearer``, form bodies, and query strings on POST and GET,
with the token in the header or as a ``token`` field. It answers Slack's
documented shapes: ``{"ok": true, ...}``, ``{"ok": false, "error": "..."}`` with
HTTP 200, and HTTP 429 + ``Retry-After`` with ``{"ok": false, "error":
"ratelimited"}`` when told to. Every call is recorded for assertions.

Socket Mode: ``apps.connections.open`` (app-level token only) returns a
``ws://`` URL on this server; on connect the fake sends ``{"type": "hello"}``,
then the envelopes a test injects, and resolves each envelope's future when the
client acks it (``{"envelope_id", "payload"?}``). ``disconnect()`` sends Slack's
``{"type": "disconnect"}`` so the client must reconnect through
``apps.connections.open`` again.

Limits checked like Slack does (``invalid_blocks``, ``msg_too_long``): 50 blocks,
3,000 characters per section text, 150 per header, 2,000 per button value,
40,000 characters of message text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

TEAM_ID = "T0FAKE"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "AFAKE0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    http_method: str
    content_type: str
    token: str | None


@dataclass
class Failure:
    method: str
    status: int = 200
    error: str = "internal_error"
    retry_after: int | None = None
    times: int = 1


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    user: str = BOT_USER_ID
    bot_id: str | None = BOT_ID
    ephemeral_for: str | None = None
    updates: int = 0


@dataclass
class Socket:
    ws: web.WebSocketResponse
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: list[Call] = []
        self.messages: list[Posted] = []
        self.ephemerals: list[Posted] = []
        self.scheduled: list[dict[str, Any]] = []
        self.reactions: list[tuple[str, str, str]] = []
        self.views: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: set[str] = set()
        self.members: set[str] = set()  # channels the bot is in
        self.failures: list[Failure] = []
        self.sockets: list[Socket] = []
        self.connections_opened = 0
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connected = asyncio.Event()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_get("/link/", self._link)

    # --- lifecycle ---

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for s in list(self.sockets):
            await s.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # --- test controls ---

    def add_channel(self, channel: str, *, bot_member: bool = True) -> None:
        self.channels.add(channel)
        if bot_member:
            self.members.add(channel)

    def add_user(
        self, user_id: str, real_name: str, email: str | None = None, *, is_bot: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": real_name.lower().replace(" ", "."),
            "deleted": False,
            "real_name": real_name,
            "is_bot": is_bot,
            "is_admin": False,
            "tz": "Europe/Berlin",
            "profile": {
                "real_name": real_name,
                "display_name": real_name.split(" ")[0],
                "email": email,
                "team": TEAM_ID,
            },
        }

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str = "internal_error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail (429 + Retry-After, or an error)."""
        self.failures.append(Failure(method, status, error, retry_after, times))

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def in_thread(self, channel: str, thread_ts: str) -> list[Posted]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts]

    def message(self, channel: str, ts: str) -> Posted | None:
        for m in self.messages:
            if m.channel == channel and m.ts == ts:
                return m
        return None

    # --- Web API ---

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _args(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        args: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            if ctype == "application/json" and raw:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise web.HTTPBadRequest(text="json body must be an object")
                args.update(body)
            elif raw:
                args.update(dict(parse_qsl(raw.decode(), keep_blank_values=True)))
        token = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        token = token or args.pop("token", None)
        args.pop("token", None)
        # Form and query encodings carry JSON fields (blocks, view) as strings.
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    args[key] = "__invalid__"
        return args, token

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token = await self._args(request)
        self.calls.append(Call(method, args, request.method, request.content_type, token))
        for failure in self.failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                error = "ratelimited" if failure.status == 429 else failure.error
                return web.json_response(
                    {"ok": False, "error": error}, status=failure.status, headers=headers
                )
        if token is None:
            return _error("not_authed")
        if method == "apps.connections.open":
            if token != self.app_token:
                return _error(
                    "not_allowed_token_type" if token == self.bot_token else "invalid_auth"
                )
        elif token != self.bot_token:
            return _error("not_allowed_token_type" if token == self.app_token else "invalid_auth")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        result: web.Response = await handler(args)
        return result

    async def _m_auth_test(self, args: dict[str, Any]) -> web.Response:
        return _ok(
            url="https://fake-team.slack.com/",
            team="Fake Team",
            user="contactcenter",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _check_channel(self, channel: Any) -> str | None:
        if not channel:
            return "channel_not_found"
        if channel not in self.channels:
            return "channel_not_found"
        if channel not in self.members:
            return "not_in_channel"
        return None

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        error = self._check_channel(args.get("channel")) or _check_content(args)
        if error:
            return _error(error)
        posted = Posted(
            channel=args["channel"],
            ts=self._next_ts(),
            text=str(args.get("text") or ""),
            blocks=args.get("blocks"),
            thread_ts=args.get("thread_ts") or None,
        )
        self.messages.append(posted)
        return _ok(channel=posted.channel, ts=posted.ts, message=_message(posted))

    async def _m_chat_update(self, args: dict[str, Any]) -> web.Response:
        error = self._check_channel(args.get("channel")) or _check_content(args)
        if error:
            return _error(error)
        posted = self.message(args["channel"], str(args.get("ts")))
        if posted is None:
            return _error("message_not_found")
        if posted.bot_id != BOT_ID:
            return _error("cant_update_message")
        posted.text = str(args.get("text") or posted.text)
        if "blocks" in args:
            posted.blocks = args["blocks"]
        posted.updates += 1
        return _ok(channel=posted.channel, ts=posted.ts, text=posted.text, message=_message(posted))

    async def _m_chat_delete(self, args: dict[str, Any]) -> web.Response:
        posted = self.message(str(args.get("channel")), str(args.get("ts")))
        if posted is None:
            return _error("message_not_found")
        self.messages.remove(posted)
        return _ok(channel=posted.channel, ts=posted.ts)

    async def _m_chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        error = self._check_channel(args.get("channel")) or _check_content(args)
        if error:
            return _error(error)
        if args.get("user") not in self.users:
            return _error("user_not_in_channel")
        posted = Posted(
            channel=args["channel"],
            ts=self._next_ts(),
            text=str(args.get("text") or ""),
            blocks=args.get("blocks"),
            thread_ts=args.get("thread_ts") or None,
            ephemeral_for=args["user"],
        )
        self.ephemerals.append(posted)
        return _ok(message_ts=posted.ts)

    async def _m_chat_scheduleMessage(self, args: dict[str, Any]) -> web.Response:
        error = self._check_channel(args.get("channel")) or _check_content(args)
        if error:
            return _error(error)
        try:
            post_at = int(args.get("post_at") or 0)
        except (TypeError, ValueError):
            return _error("invalid_time")
        if post_at <= time.time():
            return _error("time_in_past")
        self.scheduled.append(args)
        return _ok(
            channel=args["channel"],
            scheduled_message_id=f"Q{len(self.scheduled):08d}",
            post_at=post_at,
            message={"type": "delayed_message", "text": args.get("text"), "bot_id": BOT_ID},
        )

    async def _m_reactions_add(self, args: dict[str, Any]) -> web.Response:
        key = (str(args.get("channel")), str(args.get("timestamp")), str(args.get("name")))
        if not args.get("name"):
            return _error("invalid_name")
        if key in self.reactions:
            return _error("already_reacted")
        self.reactions.append(key)
        return _ok()

    async def _m_users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return _error("user_not_found")
        return _ok(user=user)

    async def _m_views_open(self, args: dict[str, Any]) -> web.Response:
        view = args.get("view")
        if not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _error("invalid_arguments")
        opened = {**view, "id": f"V{len(self.views) + 1:08d}", "team_id": TEAM_ID, "app_id": APP_ID}
        self.views.append(opened)
        return _ok(view=opened)

    async def _m_apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        self.connections_opened += 1
        ticket = uuid.uuid4().hex
        return _ok(url=f"ws://{self.base.split('://', 1)[1]}/link/?ticket={ticket}&app_id={APP_ID}")

    # --- Socket Mode ---

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sock = Socket(ws)
        self.sockets.append(sock)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self.connected.set()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    ack = json.loads(msg.data)
                except ValueError:
                    continue
                future = self.acks.get(str(ack.get("envelope_id")))
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            if sock in self.sockets:
                self.sockets.remove(sock)
            if not self.sockets:
                self.connected.clear()
            sock.closed.set()
        return ws

    async def wait_connected(self, wait: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), wait)

    async def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """Send one envelope on the live socket; the future resolves with the client's ack."""
        await self.wait_connected()
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        envelope["accepts_response_payload"] = (
            kind != "events_api" if accepts_response_payload is None else accepts_response_payload
        )
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[envelope_id] = future
        await self.sockets[-1].ws.send_json(envelope)
        return future

    async def socket_request(
        self, kind: str, payload: dict[str, Any], *, wait: float = 5.0, **kwargs: Any
    ) -> dict[str, Any]:
        """Send an envelope and wait for its ack (Slack's 3-second window, plus slack)."""
        future = await self.send_envelope(kind, payload, **kwargs)
        return await asyncio.wait_for(future, wait)

    async def send_raw(self, data: str) -> None:
        await self.wait_connected()
        await self.sockets[-1].ws.send_str(data)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's polite "please reconnect": the client opens a new connection."""
        await self.wait_connected()
        old = self.sockets[-1]
        self.connected.clear()
        await old.ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        )

    # --- HTTP mode: Slack calling the app ---

    async def post_to_app(
        self,
        url: str,
        body: bytes,
        *,
        content_type: str,
        signing_secret: str | None,
        timestamp: int | None = None,
        signature: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> tuple[int, Any]:
        """POST like Slack: signed ``v0`` headers, retry headers when redelivering."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if signing_secret is not None:
            headers["X-Slack-Request-Timestamp"] = str(ts)
            headers["X-Slack-Signature"] = signature or sign(signing_secret, ts, body)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as resp:
                text = await resp.text()
                try:
                    return resp.status, json.loads(text) if text else None
                except ValueError:
                    return resp.status, text


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack sends: HMAC-SHA256 of ``v0:{timestamp}:{body}``
    over the raw bytes (a test checks it against the ``SignatureVerifier`` Bolt uses)."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def _error(error: str) -> web.Response:
    # Slack answers API errors with HTTP 200 and ok=false.
    return web.json_response({"ok": False, "error": error})


def _message(p: Posted) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": p.text,
        "user": p.user,
        "bot_id": p.bot_id,
        "app_id": APP_ID,
        "ts": p.ts,
        "team": TEAM_ID,
    }
    if p.blocks is not None:
        message["blocks"] = p.blocks
    if p.thread_ts:
        message["thread_ts"] = p.thread_ts
    return message


def _check_content(args: dict[str, Any]) -> str | None:
    """Slack's refusals for message content: missing text, too long, bad blocks."""
    text = args.get("text")
    blocks = args.get("blocks")
    if not text and not blocks:
        return "no_text"
    if isinstance(text, str) and len(text) > 40_000:
        return "msg_too_long"
    if blocks is None:
        return None
    if blocks == "__invalid__" or not isinstance(blocks, list):
        return "invalid_blocks_format"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            return "invalid_blocks"
        action_ids: set[str] = set()  # unique within their block
        kind = block["type"]
        if kind == "header" and len(block.get("text", {}).get("text", "")) > 150:
            return "invalid_blocks"
        if kind == "section":
            text_obj = block.get("text")
            if text_obj is None and not block.get("fields"):
                return "invalid_blocks"
            if text_obj is not None and len(text_obj.get("text", "")) > 3000:
                return "invalid_blocks"
            if len(block.get("fields") or []) > 10:
                return "invalid_blocks"
            for f in block.get("fields") or []:
                if len(f.get("text", "")) > 2000:
                    return "invalid_blocks"
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        if kind == "context" and len(elements) > 10:
            return "invalid_blocks"
        for el in elements:
            if len(str(el.get("value", ""))) > 2000:
                return "invalid_blocks"
            aid = el.get("action_id")
            if aid:
                if aid in action_ids or len(aid) > 255:
                    return "invalid_blocks"
                action_ids.add(aid)
            if el.get("type") == "mrkdwn" and len(el.get("text", "")) > 3000:
                return "invalid_blocks"
    return None
