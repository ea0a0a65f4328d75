"""Load test of the web chat: N visitors on real sockets, through the whole path.

    .venv/bin/python bench/webchat_load.py --visitors 500 --messages 6 --rate 1000
    .venv/bin/python bench/webchat_load.py --visitors 2000 --messages 3 --rate 1000
    .venv/bin/python bench/webchat_load.py ... --database-url postgresql://postgres@127.0.0.1/test

Each visitor is a python-socketio ``AsyncClient`` over WebSocket. Messages are
offered at a fixed total rate (``--rate``, round-robin over the visitors),
whatever the answers do: an open loop, so a slow server shows up as latency
instead of quietly lowering the load. Every measured message went through the
full path: socket -> Router.handle (knowledge-base answer, store the question
and the answer, commit) -> the channel emits the answer, acks -> socket; the
time is from send to the bot's answer. The server runs in a subprocess (the app from
``create_app`` with the web chat channel and the quick start's demo knowledge
base, or an instant stub with ``--stub-answerer``; SQLite in a temporary
directory unless ``--database-url`` names PostgreSQL), so its CPU time is its own.

In the same run, a bare python-socketio echo server (one handler that emits
the text back) is measured the same way: the ratio says what the contact-center
path costs on top of Socket.IO itself.

Loopback only; counts and time are bounded (``--timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._shared import QUESTIONS, InstantAnswerer  # noqa: E402  (after the path is set)

# ---- the servers (run in a subprocess) ------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_full(
    port: int,
    data_dir: Path,
    database_url: str | None,
    schema: str | None = None,
    redis_url: str | None = None,
) -> None:
    from aiohttp import web

    from channels.webchat.channel import create_webchat_channel
    from contactcenter.app import create_app
    from contactcenter.channel import ChannelContext
    from contactcenter.cli import demo_settings
    from contactcenter.config import Settings
    from contactcenter.services import SERVICES

    config: dict[str, Any] = {
        "secret": "bench-secret-0123456789abcdef",
        "connects_per_minute": 0,  # every visitor comes from 127.0.0.1
        "messages_per_minute": 100000,
        "message_burst": 1000,
    }
    if redis_url:  # several processes: emits reach sockets held by the others
        config["redis_url"] = redis_url
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        database_schema=schema,
        api_token="bench-token",
        outbox_poll_seconds=float(os.environ.get("BENCH_OUTBOX_POLL", "1.0")),
        channel_config={"webchat": config},
    )
    stub = os.environ.get("BENCH_STUB_ANSWERER") == "1"
    if not stub:  # the quick start's knowledge base: the demo articles, real search
        settings = demo_settings(settings)
    app = create_app(settings, answerer=InstantAnswerer() if stub else None)
    services = app[SERVICES]
    if services.registry.get("webchat") is None:
        services.registry.add(
            "webchat", create_webchat_channel(ChannelContext("webchat", config, app, services))
        )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    from contactcenter.runtime import tune_gc

    tune_gc()  # as `contactcenter serve` does
    print("READY", flush=True)
    await asyncio.Event().wait()


async def serve_echo(port: int) -> None:
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", async_handlers=False, transports=["websocket"])
    app = web.Application()
    sio.attach(app)
    counter = iter(range(1, 10**12))

    @sio.on("message")  # type: ignore[untyped-decorator]
    async def message(sid: str, data: Any) -> dict[str, Any]:
        server_id = next(counter)
        await sio.emit("message", {"id": server_id, "author": "bot", "text": data["text"]}, to=sid)
        return {"id": server_id}

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    from contactcenter.runtime import tune_gc

    tune_gc()  # the same process tuning as the full server, for a fair ratio
    print("READY", flush=True)
    await asyncio.Event().wait()


# ---- the visitors ----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    visitors: int
    messages: int
    failed: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    connect_seconds: float
    #: (seconds after the start when the message was sent, its latency), answer order.
    timeline: list[tuple[float, float]]

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [float("nan")]
        return {
            "server": self.name,
            "visitors": self.visitors,
            "messages": self.messages,
            "failed": self.failed,
            "connect_s": round(self.connect_seconds, 2),
            "seconds": round(self.seconds, 2),
            "msgs_per_s": round(self.messages / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            "server_cpu_s": round(self.server_cpu, 2),
            "cpu_ms_per_msg": round(1000 * self.server_cpu / self.messages, 2)
            if self.messages
            else None,
        }


@dataclass
class Barrier:
    """Everyone has connected (or failed to) before the clock starts."""

    total: int
    arrived: int = 0

    def __post_init__(self) -> None:
        self.all_in = asyncio.Event()

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.total:
            self.all_in.set()


async def visitor(
    url: str,
    n: int,
    schedule: list[float],
    start: asyncio.Event,
    barrier: Barrier,
    connected: asyncio.Semaphore,
    out: list[tuple[float, float]],
    errors: list[str],
    deadline: float,
) -> None:
    """Send at the scheduled times whatever the answers do (an open loop); time each answer.

    Answers come back in order within a conversation, so the n-th bot answer
    belongs to the n-th message.
    """
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    pending: list[float] = []
    all_answered = asyncio.Event()

    @sio.on("message")  # type: ignore[untyped-decorator]
    async def on_message(data: Any) -> None:
        if data.get("author") == "bot" and pending:
            sent = pending.pop(0)
            out.append((sent - start_time[0], time.perf_counter() - sent))
            if not pending and answered_all():
                all_answered.set()

    sent = 0

    def answered_all() -> bool:
        return sent == len(schedule)

    def on_ack(*ack: Any) -> None:
        if not ack or not isinstance(ack[0], dict) or "error" in ack[0]:
            errors.append(f"ack: {ack}")

    try:
        try:
            async with connected:
                await sio.connect(url, transports=["websocket"], wait_timeout=30)
        finally:
            barrier.arrive()
        await start.wait()
        t0 = start_time[0]
        for i, at in enumerate(schedule):
            delay = t0 + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(time.perf_counter())
            text = QUESTIONS[(n + i) % len(QUESTIONS)]
            await sio.emit("message", {"id": f"b{n}-{i}", "text": text}, callback=on_ack)
            sent += 1
        if pending:
            await asyncio.wait_for(all_answered.wait(), max(1.0, deadline - time.monotonic()))
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc!r}")
    finally:
        if sio.connected:
            await sio.disconnect()


start_time = [0.0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and of its children (the knowledge
    base's answer process), from /proc (psutil if present)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            t = p.cpu_times()
            total += float(t.user + t.system)
        return total
    except ImportError:
        pass
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a child that has just ended
    return total


def start_server(
    name: str, args: argparse.Namespace, schema: str | None, data_dir: str
) -> tuple[Any, int]:
    port = free_port()
    cmd = [sys.executable, __file__, f"--serve-{name}", "--port", str(port)]
    cmd += ["--data-dir", data_dir]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    if schema:
        cmd += ["--database-schema", schema]
    if args.processes > 1:
        cmd += ["--redis-url", args.redis_url or "redis://127.0.0.1:6379/0"]
    env = {**os.environ, "BENCH_STUB_ANSWERER": "1" if args.stub_answerer else "0"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env), port


async def wait_ready(name: str, proc: Any) -> None:
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
    if "READY" not in line:
        raise RuntimeError(f"{name} server did not start: {line!r}")


async def run_one(name: str, args: argparse.Namespace, schema: str | None) -> Result:
    procs: list[Any] = []
    ports: list[int] = []
    data_dirs: list[str] = []
    try:
        # One process first (it migrates the database), then the others.
        for n in range(args.processes if name == "full" else 1):
            data_dirs.append(tempfile.mkdtemp(prefix="webchat-bench-"))
            proc, port = start_server(name, args, schema, data_dirs[-1])
            procs.append(proc)
            ports.append(port)
            if n == 0:
                await wait_ready(name, proc)
        for proc in procs[1:]:
            await wait_ready(name, proc)
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        start = asyncio.Event()
        latencies: list[tuple[float, float]] = []
        errors: list[str] = []
        deadline = time.monotonic() + args.timeout
        gate = asyncio.Semaphore(100)  # connects in flight
        barrier = Barrier(args.visitors)
        t0 = time.perf_counter()
        # Message k of the run goes out at k / rate seconds, round-robin over visitors.
        total = args.visitors * args.messages
        schedules: list[list[float]] = [[] for _ in range(args.visitors)]
        for k in range(total):
            schedules[k % args.visitors].append(k / args.rate)
        tasks = [
            asyncio.create_task(
                visitor(
                    urls[n % len(urls)],
                    n,
                    schedules[n],
                    start,
                    barrier,
                    gate,
                    latencies,
                    errors,
                    deadline,
                )
            )
            for n in range(args.visitors)
        ]
        await asyncio.wait_for(barrier.all_in.wait(), args.timeout)
        connect_seconds = time.perf_counter() - t0
        # The load generator's own collector must not stall the measurement: a full
        # collection over 2,000 connected clients took 214-259 ms here, and each one
        # showed as a second of the server's answers at p50 120-190 ms (the server's
        # loop never lagged). The clients' objects live for the whole run anyway.
        gc.collect()
        gc.freeze()
        await asyncio.sleep(0.5)
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        t1 = time.perf_counter()
        start_time[0] = t1
        start.set()
        await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        seconds = time.perf_counter() - t1
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        for t in tasks:
            t.cancel()
        if errors:
            print(f"[{name}] {len(errors)} errors, e.g. {errors[:3]}", file=sys.stderr)
        return Result(
            name,
            args.visitors,
            len(latencies),
            args.visitors * args.messages - len(latencies),
            seconds,
            [latency for _, latency in latencies],
            cpu,
            connect_seconds,
            latencies,
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for data_dir in data_dirs:
            shutil.rmtree(data_dir, ignore_errors=True)


def print_timeline(result: Result) -> None:
    """Per second of the run (by send time): messages, p50 and worst latency, to stderr.

    Tells a start-up transient (every visitor's first message, cold caches) or a
    pause (a checkpoint, a garbage collection) from a server that is simply busy.
    """
    seconds: dict[int, list[float]] = {}
    for sent, latency in result.timeline:
        seconds.setdefault(int(sent), []).append(latency)
    print(f"[{result.name}] second  messages  p50_ms  max_ms", file=sys.stderr)
    for second, latencies in sorted(seconds.items()):
        p50 = 1000 * statistics.median(latencies)
        worst = 1000 * max(latencies)
        print(
            f"[{result.name}] {second:6d}  {len(latencies):8d}  {p50:6.1f}  {worst:6.1f}",
            file=sys.stderr,
        )


async def make_schema(database_url: str | None) -> str | None:
    """A throwaway PostgreSQL schema for this run (dropped at the end)."""
    if not database_url or not database_url.startswith("postgres"):
        return None
    import asyncpg  # type: ignore[import-untyped]

    schema = f"bench_{os.getpid()}_{int(time.time())}"
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema


async def drop_schema(database_url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    from contactcenter.runtime import tune_gc

    tune_gc()  # the load generator collects as seldom as the servers do
    schema = await make_schema(args.database_url)
    try:
        results = [await run_one("full", args, schema)]
        if not args.no_echo:
            results.append(await run_one("echo", args, None))
    finally:
        if schema:
            await drop_schema(args.database_url, schema)
    print(
        json.dumps(
            {
                "database": args.database_url or "sqlite",
                "messages_per_visitor": args.messages,
                "server_processes": args.processes,
                "offered_msgs_per_s": args.rate,
                "answerer": "stub" if args.stub_answerer else "demo knowledge base",
            }
        )
    )
    if args.timeline:
        for result in results:
            print_timeline(result)
    rows = [r.summary() for r in results]
    for row in rows:
        print(json.dumps(row))
    if len(rows) < 2:
        return
    full, echo = rows
    if full["cpu_ms_per_msg"] and echo["cpu_ms_per_msg"]:
        print(
            json.dumps(
                {
                    "ratio_cpu_per_msg_full_over_echo": round(
                        full["cpu_ms_per_msg"] / echo["cpu_ms_per_msg"], 1
                    ),
                    "ratio_throughput_echo_over_full": round(
                        echo["msgs_per_s"] / full["msgs_per_s"], 1
                    )
                    if full["msgs_per_s"]
                    else None,
                }
            )
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--visitors", type=int, default=500)
    p.add_argument("--messages", type=int, default=3, help="messages per visitor")
    p.add_argument(
        "--rate", type=float, default=1000.0, help="messages/s offered, whatever the answers do"
    )
    p.add_argument(
        "--stub-answerer",
        action="store_true",
        help="answer instantly instead of searching the demo knowledge base",
    )
    p.add_argument(
        "--no-echo", action="store_true", help="skip the echo server (when comparing changes)"
    )
    p.add_argument("--timeout", type=float, default=300.0, help="bound on the whole run (s)")
    p.add_argument(
        "--timeline", action="store_true", help="per second: messages, p50, worst (stderr)"
    )
    p.add_argument("--database-url", default=None)
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes for the full path (needs PostgreSQL and Redis when > 1)",
    )
    p.add_argument(
        "--redis-url", default=None, help="default with --processes > 1: redis://127.0.0.1:6379/0"
    )
    p.add_argument("--database-schema", default=None, help=argparse.SUPPRESS)
    p.add_argument("--serve-full", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if not 1 <= args.visitors <= 5000 or not 1 <= args.messages <= 100:
        p.error("--visitors must be 1..5000 and --messages 1..100")
    if args.processes > 1 and not (args.database_url or "").startswith("postgres"):
        p.error("--processes > 1 needs --database-url postgresql://... (SQLite is one process)")
    if args.serve_full:
        asyncio.run(
            serve_full(
                args.port,
                Path(args.data_dir),
                args.database_url,
                args.database_schema,
                args.redis_url,
            )
        )
    elif args.serve_echo:
        asyncio.run(serve_echo(args.port))
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
