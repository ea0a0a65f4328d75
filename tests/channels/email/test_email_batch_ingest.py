"""A window of fetched mails is stored in order, in shared transactions, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import col, select

from channels.email.blobs import BlobStore
from channels.email.config import parse_config
from channels.email.ingest import Ingestor
from channels.email.store import EmailStore
from contactcenter.services import Services
from contactcenter.storage.models import Message

from .conftest import email_config


def _ingestor(services: Services, tmp_path: Path) -> tuple[Ingestor, Any]:
    config = parse_config(email_config(None, None))
    ingestor = Ingestor(
        config,
        EmailStore(services.db),
        BlobStore(tmp_path),
        b"k",
        services.router.handle,
        services.router.handle_many,
    )
    return ingestor, config.mailboxes[0]


async def test_a_window_keeps_threads_order_and_quarantines_only_the_bad_mail(
    services: Services, tmp_path: Path, mail: Any
) -> None:
    ingestor, box = _ingestor(services, tmp_path)
    first = mail("My printer is broken", headers={"Message-ID": "<a1@example.org>"})
    reply = mail(
        "It still does not print.\n\nOn Mon, Support wrote:\n> what model?",
        subject="Re: Question",
        headers={
            "Message-ID": "<a2@example.org>",
            "In-Reply-To": "<a1@example.org>",
            "References": "<a1@example.org>",
        },
    )
    other = mail(
        "Where is my parcel?",
        sender="Carol <carol@example.org>",
        headers={"Message-ID": "<c1@example.org>"},
    )
    too_long = mail(
        ("x" * 150_000), sender="Dan <dan@example.org>", headers={"Message-ID": "<d1@example.org>"}
    )
    window = [(first, 1), (reply, 2), (b"\x00\x01 not a mail", 3), (other, 4), (first, 5)]
    outcomes = await ingestor.ingest_many(window, box, uidvalidity=9)
    kinds = [o.kind for o in outcomes]
    assert kinds == ["stored", "stored", "quarantined", "stored", "duplicate"], outcomes
    # The reply joined its thread, the other customer has their own conversation.
    assert outcomes[0].conversation_id == outcomes[1].conversation_id == outcomes[4].conversation_id
    assert outcomes[3].conversation_id != outcomes[0].conversation_id
    async with services.db.session() as s:
        texts = [
            m.text
            for m in (
                await s.exec(
                    select(Message)
                    .where(
                        Message.conversation_id == outcomes[0].conversation_id,
                        Message.direction == "in",
                    )
                    .order_by(col(Message.id))
                )
            ).all()
        ]
    assert texts[0].startswith("My printer") and texts[1].startswith("It still does not print")
    assert len(texts) == 2
    # A long mail is truncated and stored, not refused; the window after it is intact.
    (long_outcome,) = await ingestor.ingest_many([(too_long, 6)], box, uidvalidity=9)
    assert long_outcome.kind == "stored"
