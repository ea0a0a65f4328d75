"""Sending one outbox delivery by SMTP (aiosmtplib), with loop protection.

The dispatcher retries whatever raises a non-permanent DeliveryError, so the
mapping of SMTP failures matters: 4xx replies, dropped connections and
timeouts will pass (retry); 5xx replies about the message or recipient will
not (give up and show it). Authentication and TLS failures are configuration
problems, retried so that fixing the configuration lets the mail go out.

Idempotent per delivery: the Message-ID is derived from the delivery id, and
a delivery whose mail the server already accepted (the process died before
the dispatcher recorded it) is not sent twice.

Replies (:meth:`SmtpSender.send`) and status notices (:meth:`SmtpSender.send_notice`)
differ only in how the mail is composed; both go through :meth:`SmtpSender.deliver`,
so the loop protection, the rate limit and the error mapping are the same for both.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from functools import partial

import aiosmtplib

from contactcenter.channel import DeliveryError
from contactcenter.domain import AuthorKind, OutboundMessage, utcnow

from .autoreply import is_robot_address
from .compose import compose_notice, compose_outbound
from .config import EmailConfig, MailboxConfig
from .inbound import UNKNOWN_SENDER
from .notices import Notice
from .store import EmailStore
from .threading import make_message_id
from .tls import client_context

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(hours=1)

# Builds the mail once the Message-ID is known: (domain, message_id) -> mail.
Composer = Callable[..., EmailMessage]  # called with domain= and message_id=


def classify_smtp_error(exc: Exception) -> DeliveryError:
    """The DeliveryError for a failed send: permanent only for 5xx about the mail itself."""
    name = type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        code = min(codes) if codes else 450
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:500]
        return DeliveryError(f"recipient refused: {detail}", permanent=500 <= code < 600)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPConnectError):
        return DeliveryError(f"SMTP {name}: {exc}"[:500])
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = 500 <= exc.code < 600
        return DeliveryError(f"SMTP {exc.code}: {exc.message}"[:500], permanent=permanent)
    return DeliveryError(f"SMTP unreachable: {name}: {exc}"[:500])


class SmtpSender:
    def __init__(self, config: EmailConfig, store: EmailStore, secret: bytes) -> None:
        self.config = config
        self.store = store
        self.secret = secret

    def message_id(self, delivery_id: int, conversation_id: int, domain: str) -> str:
        """Our Message-ID for this delivery: the same on every retry of it."""
        nonce = hmac.new(self.secret, f"delivery:{delivery_id}".encode(), hashlib.sha256)
        return make_message_id(
            conversation_id, domain, secret=self.secret, random_part=nonce.hexdigest()[:16]
        )

    async def mailbox_for(self, conversation_id: int) -> MailboxConfig:
        """The mailbox the customer last wrote to in this conversation (else the first)."""
        address = await self.store.mailbox_of_conversation(conversation_id)
        return self.config.mailbox(address)

    async def send(self, out: OutboundMessage) -> str:
        """A bot's or an agent's reply."""
        box = await self.mailbox_for(out.conversation_id)
        compose = partial(
            compose_outbound, out, mailbox=box.address, brand=box.brand, secret=self.secret
        )
        return await self.deliver(
            delivery_id=out.delivery_id,
            conversation_id=out.conversation_id,
            recipient=out.recipient.value,
            automated=out.author_kind in (AuthorKind.BOT, AuthorKind.SYSTEM),
            box=box,
            compose=compose,
        )

    async def send_notice(self, notice: Notice, box: MailboxConfig) -> str:
        """A status notice ("your request was resolved"); always automated."""
        compose = partial(
            compose_notice, notice, mailbox=box.address, brand=box.brand, secret=self.secret
        )
        return await self.deliver(
            delivery_id=notice.delivery_id,
            conversation_id=notice.conversation_id,
            recipient=notice.recipient,
            automated=True,
            box=box,
            compose=compose,
        )

    async def deliver(
        self,
        *,
        delivery_id: int,
        conversation_id: int,
        recipient: str,
        automated: bool,
        box: MailboxConfig,
        compose: Composer,
    ) -> str:
        """Send one delivery's mail once: checks, rate limit, SMTP, the send log."""
        recipient = recipient.strip().lower()
        if not recipient or recipient == UNKNOWN_SENDER or "@" not in recipient:
            raise DeliveryError(f"no usable recipient address: {recipient!r}", permanent=True)
        if automated and is_robot_address(recipient):
            raise DeliveryError(f"no automated mail to {recipient}", permanent=True)
        already = await self.store.sent_for_delivery(delivery_id)
        if already is not None:
            return already
        await self._check_rate(recipient)

        if not box.smtp_host:
            raise DeliveryError(f"mailbox {box.name}: smtp_host is not configured")
        domain = self.config.domain or box.domain
        mid = self.message_id(delivery_id, conversation_id, domain)
        try:
            message = compose(domain=domain, message_id=mid)
        except ValueError as exc:
            raise DeliveryError(f"cannot compose the mail: {exc}", permanent=True) from exc
        try:
            await aiosmtplib.send(
                message,
                sender=box.address,
                recipients=[recipient],
                hostname=box.smtp_host,
                port=box.smtp_port,
                username=box.smtp_user,
                password=box.smtp_password,
                use_tls=box.smtp_security == "ssl",
                start_tls=box.smtp_security == "starttls",
                tls_context=self._tls_context(box),
                timeout=self.config.smtp_timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = classify_smtp_error(exc)
            log.warning(
                "email: send failed",
                extra={
                    "delivery_id": delivery_id,
                    "permanent": error.permanent,
                    "error": str(error),
                },
            )
            raise error from exc
        await self.store.record_send(
            delivery_id=delivery_id, message_id=mid, mailbox=box.name, recipient=recipient
        )
        return mid

    @staticmethod
    def _tls_context(box: MailboxConfig) -> ssl.SSLContext | None:
        if box.smtp_security == "none":
            return None
        try:
            return client_context(box.smtp_tls_verify, box.smtp_tls_ca_file)
        except (OSError, ssl.SSLError) as exc:  # the CA file went away after the start
            raise DeliveryError(
                f"smtp_tls_ca_file {box.smtp_tls_ca_file!r} cannot be loaded: {exc}"
            ) from exc

    async def _check_rate(self, recipient: str) -> None:
        limit = self.config.rate_limit_per_hour
        if limit <= 0:
            return
        sends = await self.store.recent_sends(recipient, RATE_WINDOW)
        if len(sends) < limit:
            return
        # The window frees up when the oldest send that counts falls out of it.
        frees_at = sends[len(sends) - limit] + RATE_WINDOW
        retry_after = max((frees_at - utcnow()).total_seconds(), 1.0)
        log.warning(
            "email: rate limit reached",
            extra={"recipient": recipient, "limit": limit, "retry_after": round(retry_after)},
        )
        raise DeliveryError(
            f"rate limit: {len(sends)} mails to {recipient} in the last hour (limit {limit})",
            retry_after=retry_after,
        )
