"""Sending one outbox delivery by SMTP (aiosmtplib), with loop protection.

The dispatcher retries whatever raises a non-permanent DeliveryError, so the
mapping of SMTP failures matters: 4xx replies, dropped connections and
timeouts will pass (retry); 5xx replies about the message or recipient will
not (give up and show it). Authentication and TLS failures are configuration
problems, retried so that fixing the configuration lets the mail go out.

Idempotent per delivery: the Message-ID is derived from the delivery id, and
a delivery whose mail the server already accepted (the process died before
the dispatcher recorded it) is not sent twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta

import aiosmtplib

from contactcenter.channel import DeliveryError
from contactcenter.domain import AuthorKind, OutboundMessage, utcnow

from .compose import compose_outbound
from .config import EmailConfig, MailboxConfig
from .imap_client import tls_context
from .inbound import UNKNOWN_SENDER
from .store import EmailStore
from .threading import make_message_id

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(hours=1)
# Addresses no automated mail is ever sent to: answering them is how loops start.
_ROBOT = re.compile(
    r"^(?:mailer-daemon|postmaster|mail-daemon|bounces?|double-bounce|no-?reply|"
    r"do-?not-?reply|donotreply)(?:[+=.-].*)?@",
    re.IGNORECASE,
)


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

    def message_id(self, out: OutboundMessage, domain: str) -> str:
        """Our Message-ID for this delivery: the same on every retry of it."""
        nonce = hmac.new(self.secret, f"delivery:{out.delivery_id}".encode(), hashlib.sha256)
        return make_message_id(
            out.conversation_id, domain, secret=self.secret, random_part=nonce.hexdigest()[:16]
        )

    async def mailbox_for(self, out: OutboundMessage) -> MailboxConfig:
        address = await self.store.mailbox_of_conversation(out.conversation_id)
        return self.config.mailbox(address)

    async def send(self, out: OutboundMessage) -> str:
        recipient = out.recipient.value.strip().lower()
        if not recipient or recipient == UNKNOWN_SENDER or "@" not in recipient:
            raise DeliveryError(f"no usable recipient address: {recipient!r}", permanent=True)
        automated = out.author_kind in (AuthorKind.BOT, AuthorKind.SYSTEM)
        if automated and _ROBOT.match(recipient):
            raise DeliveryError(f"no automated mail to {recipient}", permanent=True)
        already = await self.store.sent_for_delivery(out.delivery_id)
        if already is not None:
            return already
        await self._check_rate(recipient)

        box = await self.mailbox_for(out)
        if not box.smtp_host:
            raise DeliveryError(f"mailbox {box.name}: smtp_host is not configured")
        domain = self.config.domain or box.domain
        mid = self.message_id(out, domain)
        try:
            message = compose_outbound(
                out,
                mailbox=box.address,
                domain=domain,
                brand=box.brand,
                secret=self.secret,
                message_id=mid,
            )
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
                tls_context=(
                    tls_context(box.smtp_tls_verify) if box.smtp_security != "none" else None
                ),
                timeout=self.config.smtp_timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = classify_smtp_error(exc)
            log.warning(
                "email: send failed",
                extra={
                    "delivery_id": out.delivery_id,
                    "permanent": error.permanent,
                    "error": str(error),
                },
            )
            raise error from exc
        await self.store.record_send(
            delivery_id=out.delivery_id, message_id=mid, mailbox=box.name, recipient=recipient
        )
        return mid

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
