"""Status events from the core (agent joined, resolved) as mail to the customer.

The core queues a ``CustomerEvent`` in the outbox after the commit that
caused it and hands it to :meth:`EventMailer.on_event`; what a raised
DeliveryError means (retry later, or failed for good and shown on the
conversation) is the outbox's business, exactly as for replies. This module
decides whether the event is worth a mail (:mod:`notices`, per mailbox), makes
sure there is a person to tell, and sends through the same SMTP path as every
reply: the loop protection, the per-address rate limit and the Message-ID
derived from the delivery (a retried notice is sent once) come with it.

An event that sends no mail returns None: the outbox marks it done with no
native id. Nothing failed, so nothing is shown as failed.
"""

from __future__ import annotations

import logging

from contactcenter.domain import CustomerEvent

from .autoreply import is_robot_address
from .notices import Notice, notice_text, skip_reason
from .smtp import SmtpSender
from .store import EmailStore

log = logging.getLogger(__name__)


class EventMailer:
    def __init__(self, store: EmailStore, sender: SmtpSender) -> None:
        self.store = store
        self.sender = sender

    async def on_event(self, event: CustomerEvent) -> str | None:
        """Send the notice for ``event``; its Message-ID, or None when none is due."""
        box = await self.sender.mailbox_for(event.conversation_id)
        text = notice_text(
            event.kind,
            event.payload,
            brand=box.brand,
            notify_resolved=box.notify_resolved,
            resolved_text=box.resolved_text,
            notify_agent_joined=box.notify_agent_joined,
            agent_joined_text=box.agent_joined_text,
        )
        if text is None:
            return None
        thread = await self.store.thread_of(event.conversation_id)
        recipient = event.recipient.value.strip().lower()
        reason = (
            "the conversation is gone"
            if thread is None
            else skip_reason(
                recipient,
                robot_address=is_robot_address(recipient),
                inbound_no_reply=thread.inbound_no_reply,
                joining_agent=_agent_name(event) if event.kind == "agent_joined" else None,
                agents_who_wrote=thread.agents_who_wrote,
            )
        )
        if thread is None or reason is not None:
            log.info(
                "email: no %s notice: %s",
                event.kind,
                reason,
                extra={"conversation_id": event.conversation_id, "delivery_id": event.delivery_id},
            )
            return None
        notice = Notice(
            delivery_id=event.delivery_id,
            conversation_id=event.conversation_id,
            recipient=recipient,
            text=text,
            subject=thread.subject,
            thread_message_ids=thread.message_ids,
        )
        return await self.sender.send_notice(notice, box)


def _agent_name(event: CustomerEvent) -> str | None:
    name = event.payload.get("agent_name")
    return str(name) if name else None
