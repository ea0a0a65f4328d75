"""The generic API channel: messages in by ``POST /api/v1/messages``, replies out by webhook.

Replies are always readable through the API. When a webhook URL is configured,
each reply is also POSTed there, signed so the receiver can trust it:
``X-Contactcenter-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

import aiohttp

from contactcenter.channel import ChannelContext, Deliver, DeliveryError
from contactcenter.domain import OutboundMessage

SIGNATURE_HEADER = "X-Contactcenter-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, body: bytes, header: str, *, tolerance: int = 300, now: float | None = None
) -> bool:
    """For receivers (and tests): is this webhook body signed by us, recently?"""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class ApiChannel:
    name: ClassVar[str] = "api"
    # Replies are not threaded by earlier message ids: the outbox skips that query.
    thread_history: ClassVar[bool] = False

    def __init__(
        self, webhook_url: str | None, webhook_secret: str | None, *, timeout: float = 10.0
    ) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self, deliver: Deliver) -> None:
        # Inbound arrives through the HTTP view, which calls the router directly.
        if self.webhook_url:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: OutboundMessage) -> str:
        native_id = f"api-out-{message.message_id}"
        if not self.webhook_url or self._session is None:
            return native_id
        body = json.dumps(self.payload(message, native_id)).encode()
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.webhook_secret, body, int(time.time()))
        try:
            async with self._session.post(self.webhook_url, data=body, headers=headers) as resp:
                if resp.status == 429 or resp.status >= 500:
                    retry = resp.headers.get("Retry-After")
                    raise DeliveryError(
                        f"webhook answered {resp.status}",
                        retry_after=float(retry) if retry and retry.isdigit() else None,
                    )
                if resp.status >= 400:
                    raise DeliveryError(f"webhook refused with {resp.status}", permanent=True)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        return native_id

    @staticmethod
    def payload(message: OutboundMessage, native_id: str) -> dict[str, Any]:
        return {
            "type": "message",
            "id": native_id,
            "message_id": message.message_id,
            "conversation_id": message.conversation_id,
            "to": message.recipient.value,
            "author": str(message.author_kind),
            "author_name": message.author_name,
            "text": message.text,
            "suggestions": list(message.suggestions),
            "actions": list(message.actions),
        }


def create_api_channel(context: ChannelContext) -> ApiChannel:
    settings = context.services.settings
    url = context.config.get("webhook_url") or settings.webhook_url
    secret = context.config.get("webhook_secret") or settings.webhook_secret
    return ApiChannel(url, secret)
