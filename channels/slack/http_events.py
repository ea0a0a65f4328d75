"""HTTP mode: ``POST /slack/events`` on the core's aiohttp app, handed to Bolt.

One URL serves the Events API, interactivity and the slash command, as in the
manifest. Bolt verifies the signature and routes the request; this view adds
what a public endpoint needs around it:

- refusals say why, as JSON (``401 {"ok": false, "error": "stale_request"}``),
  where Bolt answers every failure alike (see ``signature``);
- bodies Bolt cannot read never reach it: its parser raises on broken JSON,
  takes a JSON array for an object and indexes fields without checking their
  type. Those are checked first (``parse.decode_http`` and ``parse.malformed``),
  still only after the same ``SignatureVerifier`` Bolt uses accepted them, so an
  unsigned body is a 401 whatever it contains. Unreadable: 400; readable but
  malformed (an event that is not an object): acknowledged and ignored, as
  Slack would only send it again;
- Bolt gets the body as this desk decoded it: Bolt's own form parser reads any
  form body containing the word "payload" as interactivity, so a slash command
  like ``/cc search payload`` would reach it empty.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from channels.slack.config import SlackConfig
from channels.slack.parse import Envelope, PayloadError, decode_http, malformed
from channels.slack.signature import Refusal, explain, precheck

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
TIMESTAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"


def events_view(
    config: SlackConfig, app_of: Callable[[], AsyncApp | None]
) -> Callable[[web.Request], Any]:
    """The aiohttp handler; ``app_of`` gives the Bolt app once the desk has started."""
    verifier = SignatureVerifier(config.signing_secret or "-")

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        timestamp, signature = request.headers.get(TIMESTAMP), request.headers.get(SIGNATURE)
        early = precheck(timestamp, signature)
        if early is not None:
            return _refused(request, early)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Slack signs UTF-8 text: these bytes can be neither verified nor read.
            return _invalid("body is not UTF-8")
        envelope: Envelope | None = None
        try:
            envelope = decode_http(raw, request.headers.get("Content-Type", ""))
            problem = malformed(envelope.body)
            bolt_request = None if problem else _to_bolt(text, envelope.body, request)
        except PayloadError as exc:
            envelope, problem, bolt_request = None, str(exc), None
        if bolt_request is None:
            # Bolt never sees this body: verify it here, with the verifier Bolt uses.
            if not verifier.is_valid(text, timestamp, signature):
                return _refused(request, explain(timestamp, signature, now=time.time()))
            if envelope is None:
                return _invalid(problem or "unreadable body")
            log.warning("slack request malformed, acknowledged and ignored: %s", problem)
            return web.Response(status=200)
        app = app_of()
        if app is None:
            return web.json_response({"ok": False, "error": "not_started"}, status=503)
        response = await app.async_dispatch(bolt_request)
        if response.status == 401:
            return _refused(request, explain(timestamp, signature, now=time.time()))
        return await to_aiohttp_response(response)

    return handle


def _to_bolt(text: str, body: Mapping[str, Any], request: web.Request) -> AsyncBoltRequest:
    """Bolt's request for this body: the raw text (what the signature covers) and, where
    Bolt's parser reads it differently, the body as decoded here."""
    try:
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=dict(request.headers)
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise PayloadError(f"unreadable body: {exc}") from None
    if bolt_request.body != body:
        bolt_request.body = dict(body)
        bolt_request.context = build_async_context(AsyncBoltContext({}), bolt_request.body)
    return bolt_request


def _refused(request: web.Request, why: Refusal) -> web.Response:
    log.warning("slack request refused: %s", why.value, extra={"remote": request.remote})
    return web.json_response({"ok": False, "error": why.value}, status=401)


def _invalid(detail: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "invalid_payload", "detail": detail}, status=400
    )
