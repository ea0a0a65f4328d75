"""The Slack Web API as the desk uses it, with Slack's failures mapped to ours.

The outbox retries a notification when ``notify`` raises :class:`DeliveryError`,
waiting at least its ``retry_after``; so a 429 becomes ``retry_after`` from the
``Retry-After`` header, network and 5xx errors are transient, and errors that
no retry can fix (blocks Slack refuses) are permanent and visible at once.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from contactcenter.channel import DeliveryError

log = logging.getLogger(__name__)

# Our request is wrong: the same request will be refused again.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "too_many_attachments",
        "message_not_found",
        "cant_update_message",
    }
)


class SlackError(Exception):
    """A Web API call failed; ``error`` is Slack's code, ``retry_after`` set on 429."""

    def __init__(self, method: str, error: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"slack {method}: {error}")
        self.method = method
        self.error = error
        self.retry_after = retry_after

    def as_delivery_error(self) -> DeliveryError:
        return DeliveryError(
            str(self),
            permanent=self.error in PERMANENT_ERRORS,
            retry_after=self.retry_after,
        )


class SlackWeb:
    """Thin: one ``call`` that returns the response dict or raises :class:`SlackError`.

    ``client`` (with the bot token) is what the notifier and the handlers call
    through; ``bolt_client`` is the same Web API without a token, for the Bolt app
    and its Socket Mode client: Bolt takes the token per request from the desk's
    ``authorize`` (``bolt_app.BotIdentity``), and warns that a client's own token is
    ignored. Both share ``CONTACTCENTER_SLACK_API_URL`` and one pooled HTTP session.
    """

    def __init__(self, token: str, base_url: str, *, timeout: int = 15) -> None:
        self.timeout = timeout
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=timeout)
        self.bolt_client = AsyncWebClient(base_url=base_url, timeout=timeout)

    async def open(self) -> None:
        """One pooled HTTP session for the desk's lifetime (closed in :meth:`close`).

        Until then slack_sdk opens a session per call. Bolt copies the session into
        the client it makes for each request, so its calls share the pool too."""
        if self.client.session is None:
            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self.client.session = self.bolt_client.session = session

    async def close(self) -> None:
        session = self.client.session
        self.client.session = self.bolt_client.session = None
        if session is not None:
            await session.close()

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """POST with a JSON body (what slack_sdk sends for chat.*, views.*)."""
        return await self._call(method, json=_clean(kwargs))

    async def call_get(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """GET with a query string (users.info and other read methods)."""
        return await self._call(method, http_verb="GET", params=_clean(kwargs))

    async def call_form(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """POST form fields (reactions.add and other methods slack_sdk sends as params)."""
        return await self._call(method, params=_clean(kwargs))

    async def _call(self, method: str, **request: Any) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, **request)
        except SlackApiError as exc:
            resp = exc.response
            status = getattr(resp, "status_code", None)
            data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
            error = str(data.get("error") or f"http_{status}")
            retry_after: float | None = None
            if status == 429 or error == "ratelimited":
                retry_after = _seconds(resp.headers.get("Retry-After") if resp.headers else None)
                error = "ratelimited"
            elif status is not None and status >= 500:
                error = f"http_{status}"
            raise SlackError(method, error, retry_after=retry_after) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SlackError(method, f"network: {type(exc).__name__}: {exc}") from None
        data = response.data
        if not isinstance(data, dict):
            raise SlackError(method, "response is not JSON")
        return data


def _seconds(value: Any) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 1.0


def _clean(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}
