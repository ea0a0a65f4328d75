"""The router's CPU per web chat message, in-process: no sockets, no load generator.

    .venv/bin/python bench/core_path.py                      # 300 visitors, 16 at a time
    .venv/bin/python bench/core_path.py --concurrency 1      # every message alone
    .venv/bin/python bench/core_path.py --knowledge-base     # the demo index answers

Each visitor's messages go through ``Router.handle`` exactly as the web chat
channel sends them (its own conversation, replies returned to the caller), on
SQLite in a temporary directory. ``--concurrency`` messages are in flight at
once, so the group commit shares transactions as it does under load; 1 shows
what a message costs alone. The answer is an instant stub unless
``--knowledge-base`` (then the quick start's demo articles answer, as in
``webchat_load.py``). Prints the CPU per message of each round (process time,
this process only) and the best; the first round creates the visitors and is
not counted. Use it to compare two versions of the core on one machine, where
``webchat_load.py``'s figures also carry Socket.IO and the load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._shared import QUESTIONS, InstantAnswerer  # noqa: E402  (after the path is set)


async def run(args: argparse.Namespace) -> None:
    from aiohttp import web

    from contactcenter.app import create_app
    from contactcenter.cli import demo_settings
    from contactcenter.config import Settings
    from contactcenter.domain import Address, InboundMessage, utcnow
    from contactcenter.runtime import tune_gc
    from contactcenter.services import SERVICES

    data = Path(tempfile.mkdtemp(prefix="core-path-"))
    settings = demo_settings(Settings(data_dir=data, api_token="bench", channel_config={}))
    app = create_app(settings, answerer=None if args.knowledge_base else InstantAnswerer())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        router = app[SERVICES].router
        await router.answerer.answer("warm up")  # waits for the index, if any
        tune_gc()
        gate = asyncio.Semaphore(args.concurrency)
        conversations: dict[int, int] = {}

        async def send(visitor: int, n: int) -> None:
            async with gate:
                msg = InboundMessage(
                    channel_message_id=f"v{visitor}:{n}",
                    sender=Address("webchat", f"v{visitor}"),
                    text=QUESTIONS[(visitor + n) % len(QUESTIONS)],
                    conversation_id=conversations.get(visitor),
                    metadata={"client_id": str(n)},
                    received_at=utcnow(),
                    replies_in_result=True,
                )
                conversations[visitor] = (await router.handle(msg)).conversation_id

        await asyncio.gather(*(send(v, 0) for v in range(args.visitors)))
        best = float("inf")
        for round_ in range(args.rounds):
            first = 1 + round_ * args.messages
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(
                *(send(v, first + i) for i in range(args.messages) for v in range(args.visitors))
            )
            count = args.visitors * args.messages
            per_message = 1e6 * (time.process_time() - cpu) / count
            rate = count / (time.perf_counter() - wall)
            best = min(best, per_message)
            print(f"round {round_ + 1}: {per_message:.0f} µs CPU per message, {rate:.0f} msg/s")
        print(f"best: {best:.0f} µs CPU per message")
    finally:
        await runner.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--visitors", type=int, default=300)
    p.add_argument("--messages", type=int, default=10, help="messages per visitor per round")
    p.add_argument("--concurrency", type=int, default=16, help="messages in flight at once")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--knowledge-base", action="store_true", help="the demo index answers")
    args: Any = p.parse_args()
    if not (1 <= args.visitors <= 5000 and 1 <= args.messages <= 100 and 1 <= args.rounds <= 20):
        p.error("--visitors 1..5000, --messages 1..100, --rounds 1..20")
    if not 1 <= args.concurrency <= 1000:
        p.error("--concurrency must be 1..1000")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
