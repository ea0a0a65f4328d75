"""Benchmark: parse, thread and store 10,000 mails on SQLite.

Each mail goes the watcher's way minus IMAP: ``parse_email`` -> attachments
kept -> ``to_inbound`` -> ``Router.handle`` (one transaction: dedupe,
customer, conversation, message, decision, outbox), via the channel's
``Ingestor``. The mails are generated with a fixed seed: about 30% are
replies threaded (In-Reply-To/References, quoted text) to an earlier mail of
the same customer, some carry an attachment, some are HTML-only, a few are
auto-replies.

    .venv/bin/python bench/email_ingest.py [--count 10000] [--seed 7]

Goal: at least 300 mails/s on the development machine (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from channels.email.blobs import BlobStore
from channels.email.config import parse_config
from channels.email.inbound import to_inbound
from channels.email.ingest import Ingestor
from channels.email.model import ParsedEmail
from channels.email.parse import parse_email
from channels.email.store import EmailStore
from contactcenter.config import Settings
from contactcenter.services import build_services
from contactcenter.storage.migrate import upgrade
from contactcenter.storage.models import Conversation

MAILBOX = "support@northwind.example"
WORDS = (
    "printer invoice order refund password account login delivery parcel broken screen "
    "battery charger warranty return exchange discount coupon subscription cancel update "
    "error message crash slow network router cable driver install license key email"
).split()


@dataclass
class Sent:
    message_id: str
    references: list[str]
    subject: str


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + rng.choice(".?!")


def generate(count: int, seed: int) -> list[bytes]:
    """``count`` raw mails; ~30% reply to an earlier mail of the same customer."""
    rng = random.Random(seed)
    customers = [f"customer{i}@example{i % 50}.org" for i in range(max(count // 5, 1))]
    threads: dict[str, list[Sent]] = {}
    start = datetime(2024, 1, 1, tzinfo=UTC)
    mails = []
    for n in range(count):
        sender = rng.choice(customers)
        earlier = threads.get(sender)
        headers = {
            "From": f"Customer {sender.split('@')[0][8:]} <{sender}>",
            "To": f"Northwind Support <{MAILBOX}>",
            "Date": format_datetime(start + timedelta(minutes=n)),
            "Message-ID": f"<bench{n}.{rng.getrandbits(32):08x}@{sender.split('@')[1]}>",
            "MIME-Version": "1.0",
        }
        body = "\n".join(sentence(rng) for _ in range(rng.randint(1, 6)))
        # Senders with earlier mail are ~80% of the stream: 0.38 of them gives ~30%.
        if earlier and rng.random() < 0.38:
            parent = rng.choice(earlier)
            refs = [*parent.references, parent.message_id][-10:]
            headers["In-Reply-To"] = parent.message_id
            headers["References"] = " ".join(refs)
            headers["Subject"] = f"Re: {parent.subject}"
            quoted = "\n".join(f"> {line}" for line in sentence(rng).split(". "))
            body += f"\n\nOn Mon, 1 Jan 2024, Support <{MAILBOX}> wrote:\n{quoted}\n"
            subject = parent.subject
        else:
            subject = " ".join(rng.choices(WORDS, k=3)).capitalize()
            headers["Subject"] = subject
            refs = []
        if rng.random() < 0.02:
            headers["Auto-Submitted"] = "auto-replied"
        kind = rng.random()
        if kind < 0.08:
            payload = rng.randbytes(rng.randint(2_000, 40_000))
            headers["Content-Type"] = 'multipart/mixed; boundary="BENCH"'
            text = (
                f"--BENCH\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
                f"--BENCH\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
                f'filename="doc{n}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                f"{base64.encodebytes(payload).decode()}--BENCH--\r\n"
            )
        elif kind < 0.18:
            headers["Content-Type"] = "text/html; charset=utf-8"
            paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines())
            text = f"<html><body>{paragraphs}</body></html>"
        else:
            headers["Content-Type"] = "text/plain; charset=utf-8"
            text = body
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        mails.append((head + "\r\n" + text.replace("\n", "\r\n")).encode("utf-8"))
        threads.setdefault(sender, []).append(Sent(headers["Message-ID"], refs, subject))
    return mails


async def run(count: int, seed: int, data_dir: Path, batch: int) -> int:
    print(f"generating {count} mails (seed {seed}) ...", flush=True)
    mails = generate(count, seed)
    replies = sum(1 for m in mails if b"\r\nIn-Reply-To:" in m)
    print(f"  {replies} replies ({100 * replies / count:.0f}%), {len(mails)} mails", flush=True)

    started = time.perf_counter()
    parsed = [parse_email(raw) for raw in mails]
    parse_only = time.perf_counter() - started
    started = time.perf_counter()
    for p in parsed:
        if isinstance(p, ParsedEmail):
            to_inbound(p, mailbox=MAILBOX, secret=b"bench")
    mapping_only = time.perf_counter() - started
    del parsed

    settings = Settings(data_dir=data_dir, api_token="bench", log_level="WARNING")
    services = build_services(settings)
    await upgrade(services.db)
    config = parse_config({"address": MAILBOX, "secret": "bench"})
    ingestor = Ingestor(
        config,
        EmailStore(services.db),
        BlobStore(data_dir),
        b"bench",
        services.router.handle,
        services.router.handle_many,
    )
    box = config.mailboxes[0]
    latencies: list[float] = []
    kinds: dict[str, int] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    done = 0
    while done < count:
        # The watcher's and the backfill's way: a window of fetched mails at a time.
        window = [(raw, uid) for uid, raw in enumerate(mails[done : done + batch], start=done + 1)]
        t0 = time.perf_counter()
        outcomes = await ingestor.ingest_many(window, box, uidvalidity=1)
        latencies.append(time.perf_counter() - t0)
        for outcome in outcomes:
            kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
        before, done = done, done + len(window)
        if done // 1000 > before // 1000 or done == count:
            elapsed = time.perf_counter() - started
            print(f"  {done:>6}/{count}  {done / elapsed:7.1f} mails/s", flush=True)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    async with services.db.session() as s:
        conversations = (await s.exec(select(func.count()).select_from(Conversation))).one()
    await services.db.dispose()

    latencies.sort()
    rate = count / total
    print()
    print(f"mails:               {count} ({replies} threaded replies)")
    print(f"outcomes:            {kinds}")
    print(f"conversations:       {conversations}")
    print(f"parse only:          {parse_only:.2f}s  ({count / parse_only:.0f} mails/s)")
    email_part = parse_only + mapping_only
    print(f"parse + to_inbound:  {email_part:.2f}s  ({count / email_part:.0f} mails/s)")
    store = total - email_part
    print(f"router.handle share: {store:.2f}s  ({count / store:.0f} mails/s, the core's part)")
    print(f"parse+thread+store:  {total:.2f}s  ({rate:.0f} mails/s)")
    print(
        f"CPU (all threads):   {cpu:.2f}s  ({1000 * cpu / count:.2f} ms per mail; "
        f"{count / cpu:.0f} mails/s if the machine were otherwise idle)"
    )
    print(
        f"latency per window of {batch}: p50 {1000 * statistics.median(latencies):.1f} ms, "
        f"p99 {1000 * latencies[max(int(0.99 * len(latencies)) - 1, 0)]:.1f} ms, "
        f"max {1000 * latencies[-1]:.1f} ms"
    )
    goal = 300
    print(f"goal:                >= {goal} mails/s -> {'met' if rate >= goal else 'NOT met'}")
    return 0 if rate >= goal else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batch", type=int, default=32, help="mails per window (1 = one transaction per mail)"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the database here (default: temp)")
    args = parser.parse_args()
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args.count, args.seed, args.data_dir, args.batch))
    with tempfile.TemporaryDirectory(prefix="cc-email-bench-") as tmp:
        return asyncio.run(run(args.count, args.seed, Path(tmp), args.batch))


if __name__ == "__main__":
    sys.exit(main())
