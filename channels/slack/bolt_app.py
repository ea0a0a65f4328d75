"""The desk's slack-bolt ``AsyncApp``: Slack's requests routed to the desk's intake.

Bolt does what every Slack app needs: signature verification (HTTP mode),
``ssl_check`` and ``url_verification``, authorizing each request (who the bot
is, and its token) and dropping the bot's own events, and routing each request
to the listener of its kind. The listeners are thin: they hand the body to
:class:`~channels.slack.intake.Intake`, which parses it (``parse``), dedupes it
and runs the work within the ack budget, and they ack with what it answers.

Choices, and why:

- ``process_before_response=True``: Bolt then sends the listener's ack only
  when the listener returns. The intake already answers within the ack budget
  (below Slack's 3 s), and the desk needs that: the work is stored before Slack
  hears "ok", and work that failed is *not* acknowledged, so Slack retries.
  With the default (False) Bolt acks events before any work is done.
- ``raise_error_for_unhandled_request=True`` and an error handler that answers
  200: a request no listener wants (another app's button, an event type the
  manifest does not subscribe to) is acknowledged and ignored. Bolt's default
  answers 404, and in Socket Mode a non-200 is no ack at all, so Slack would
  deliver it again and again.
- A failed listener answers 500 with a JSON body (no Socket Mode ack).
- ``request_verification_enabled`` only in HTTP mode: Socket Mode requests
  come over the authenticated websocket and carry no signature.
- ``authorize`` from the desk's :class:`~channels.slack.identity.BotIdentity`
  (see there for why not Bolt's own single-workspace authorization).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from channels.slack.blocks import NOTE_MODAL, OUR_ACTIONS
from channels.slack.config import SlackConfig
from channels.slack.identity import BotIdentity
from channels.slack.intake import Intake
from channels.slack.parse import COMMAND, EVENTS, INTERACTIVE, SHORTCUTS, Envelope, Self, retry_of
from channels.slack.web import SlackWeb
from contactcenter.config import ConfigError

log = logging.getLogger(__name__)

PROCESSING_FAILED = {"ok": False, "error": "processing_failed"}
OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")

Listener = Callable[..., Awaitable[BoltResponse | None]]


def _exactly(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching exactly one of ``names`` (Bolt matches ids by str or pattern)."""
    return re.compile("^(?:" + "|".join(re.escape(n) for n in sorted(names)) + ")$")


def build_app(
    config: SlackConfig, web: SlackWeb, identity: BotIdentity, intake: Intake
) -> AsyncApp:
    """The Bolt app, on the desk's Web API (``web.bolt_client``) and identity."""
    if all(os.environ.get(name) is not None for name in OAUTH_VARIABLES):
        # Bolt would switch to its multi-workspace OAuth flow and ignore the bot token.
        raise ConfigError(
            f"slack: unset {' and '.join(OAUTH_VARIABLES)}: with them slack-bolt ignores "
            "the bot token (CONTACTCENTER_SLACK_BOT_TOKEN) and expects an OAuth install"
        )
    app = AsyncApp(
        name="contactcenter-slack-desk",
        logger=logging.getLogger("channels.slack.bolt"),
        client=web.bolt_client,
        authorize=_authorize(identity),
        signing_secret=config.signing_secret or "",
        process_before_response=True,
        raise_error_for_unhandled_request=True,
        request_verification_enabled=config.mode == "http",
        # Assistant threads and workflow functions are not used by the desk.
        attaching_conversation_kwargs_enabled=False,
        attaching_function_token_enabled=False,
    )
    app.event("message")(_listener(intake, EVENTS))
    app.action(_exactly(OUR_ACTIONS))(_listener(intake, INTERACTIVE))
    app.message_shortcut(_exactly(SHORTCUTS))(_listener(intake, INTERACTIVE))
    app.view_submission(NOTE_MODAL)(_listener(intake, INTERACTIVE))
    app.command(config.slash_command)(_listener(intake, COMMAND))
    app.error(_on_error)
    return app


def _authorize(identity: BotIdentity) -> Callable[[], Awaitable[AuthorizeResult]]:
    """Bolt's ``authorize``: a plain function (Bolt injects arguments by parameter name,
    and would take a bound method's ``self`` for one)."""

    async def authorize() -> AuthorizeResult:
        return await identity.learn()

    return authorize


def _listener(intake: Intake, kind: str) -> Listener:
    """One listener per kind of request: Bolt routed it, the intake acts on it."""

    async def listen(
        ack: AsyncAck, body: dict[str, Any], request: AsyncBoltRequest, context: AsyncBoltContext
    ) -> BoltResponse | None:
        retry_num, retry_reason = retry_of(request.headers)
        envelope = Envelope(kind, body, retry_num=retry_num, retry_reason=retry_reason)
        me = Self(bot_user_id=context.bot_user_id, bot_id=context.bot_id)
        outcome = await intake.receive(envelope, me)
        if not outcome.ok:
            return BoltResponse(status=500, body=dict(PROCESSING_FAILED))
        if outcome.payload:
            await ack(outcome.payload)
        else:
            await ack()
        return None

    listen.__name__ = f"desk_{kind}"
    return listen


async def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """Bolt's error handler: ignore what no listener wants, fail loudly on the rest."""
    if isinstance(error, BoltUnhandledRequestError):
        log.debug("slack request not for the desk, acknowledged: %s", _what(body))
        return BoltResponse(status=200, body="")
    log.error("slack request failed in bolt: %s", _what(body), exc_info=error)
    return BoltResponse(status=500, body=dict(PROCESSING_FAILED))


def _what(body: dict[str, Any]) -> str:
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else None
    return f"type={body.get('type')!r} event={kind!r} command={body.get('command')!r}"
