"""Watching one mailbox: catch up from the checkpoint, then IDLE (or poll), forever.

The rules that keep mail from being lost or doubled live here:

- a UID is checkpointed only after its mail was committed by the router (or
  quarantined), so a crash re-reads at most the mail in flight, and the
  Message-ID dedupe absorbs that;
- mail is fetched with BODY.PEEK[] and never flagged or deleted, so nothing
  depends on \\Seen and the mailbox stays the customer's record;
- a changed UIDVALIDITY makes the old UIDs meaningless: the checkpoint is reset
  and recent mail is read again (dedupe keeps it single);
- every failure ends the session; the loop reconnects with exponential backoff
  and jitter (a refused TLS certificate too: logged as an error saying what to
  configure, never a tight reconnect loop), and IDLE is restarted every few
  minutes because a silently dropped connection would otherwise wait forever;
- a catch-up round is repeated while the server announced new mail during it,
  so mail that arrives mid-round is read at once rather than at the next IDLE
  restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from contactcenter.domain import utcnow

from .config import EmailConfig, MailboxConfig
from .imap_client import ImapError, ImapSession, ImapTlsError
from .ingest import Ingestor, IngestOutcome
from .lock import MailboxLock
from .store import EmailStore

log = logging.getLogger(__name__)

# Mails fetched before they are stored together (catch-up and backfill; new mail
# arriving one by one is stored at once). Measured: 32 mails per transaction store
# about 40% more mail per second than one transaction per mail.
WINDOW = 32
WINDOW_BYTES = 8 * 1024 * 1024  # and never more than this much raw mail held at once


@dataclass(frozen=True, slots=True)
class Progress:
    mailbox: str
    done: int
    total: int
    stored: int
    duplicates: int
    quarantined: int
    elapsed: float


ProgressCallback = Callable[[Progress], None]


class Backoff:
    """Exponential delays with full jitter between ``low`` and ``high`` seconds."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high, self.attempts = low, high, 0

    def next(self) -> float:
        ceiling = min(self.high, self.low * (2**self.attempts))
        self.attempts += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0


class MailboxWatcher:
    def __init__(
        self,
        box: MailboxConfig,
        config: EmailConfig,
        store: EmailStore,
        ingestor: Ingestor,
        lock: MailboxLock,
    ) -> None:
        self.box = box
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.lock = lock
        # Set once the first catch-up is done (tests and health checks wait on it).
        self.synced = asyncio.Event()
        self.sessions = 0  # connections opened, for tests and metrics
        self.last_error: str | None = None
        self._failures: dict[tuple[int, int], int] = {}

    # -- the loop ------------------------------------------------------------------

    async def run(self) -> None:
        backoff = Backoff(self.config.reconnect_min_seconds, self.config.reconnect_max_seconds)
        try:
            while True:
                if not await self.lock.acquire():
                    log.info("email: mailbox watched by another process", extra=self._ctx())
                    await asyncio.sleep(self.config.lock_retry_seconds)
                    continue
                session = ImapSession(self.box, timeout=self.config.imap_timeout)
                try:
                    self.sessions += 1
                    await session.open()
                    await self._watch(session, backoff)
                except asyncio.CancelledError:
                    raise
                except ImapTlsError as exc:
                    self.last_error = str(exc)
                    log.error("email: IMAP over TLS refused: %s", exc, extra=self._ctx())
                except ImapError as exc:
                    self.last_error = str(exc)
                    log.warning("email: IMAP session ended: %s", exc, extra=self._ctx())
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("email: watcher failed", extra=self._ctx())
                finally:
                    await session.close()
                delay = backoff.next()
                log.info("email: reconnecting in %.1fs", delay, extra=self._ctx())
                await asyncio.sleep(delay)
        finally:
            await self.lock.release()

    async def _watch(self, session: ImapSession, backoff: Backoff) -> None:
        info = await session.select(self.box.imap_folder)
        await self.sync(session, info.uidvalidity, info.uidnext)
        backoff.reset()
        self.last_error = None
        self.synced.set()
        use_idle = self.box.idle and session.can_idle
        if not use_idle:
            log.info("email: polling (no IDLE)", extra=self._ctx())
        while True:
            if not await self.lock.alive():
                raise ImapError("the mailbox lock was lost")
            if use_idle:
                await session.idle(self.config.idle_restart_seconds)
            else:
                await asyncio.sleep(self.box.poll_seconds)
                await session.noop()
            await self.catch_up(session, info.uidvalidity)

    # -- catching up -----------------------------------------------------------------

    async def sync(self, session: ImapSession, uidvalidity: int, uidnext: int | None) -> None:
        """Bring the checkpoint up to date after (re)connecting."""
        checkpoint = await self.store.checkpoint(self.box.name)
        if checkpoint is not None and checkpoint.uidvalidity == uidvalidity:
            await self.catch_up(session, uidvalidity)
            return
        if checkpoint is None:
            since = self.box.backfill_since or utcnow().date()
            log.info("email: first start, reading mail since %s", since, extra=self._ctx())
        else:
            since = checkpoint.updated_at.date() - timedelta(days=self.config.rescan_days)
            log.warning(
                "email: UIDVALIDITY changed (%s -> %s); reading mail since %s again",
                checkpoint.uidvalidity,
                uidvalidity,
                since,
                extra=self._ctx(),
            )
        uids = await session.uids_since(since)
        start = uids[0] - 1 if uids else max((uidnext or 1) - 1, 0)
        await self.store.reset_checkpoint(self.box.name, uidvalidity)
        await self.store.save_checkpoint(self.box.name, uidvalidity, start)
        await self.process(session, uidvalidity, uids, label="backfill")
        await self.catch_up(session, uidvalidity)

    async def catch_up(self, session: ImapSession, uidvalidity: int) -> None:
        """Read everything after the checkpoint; again while new mail was announced meanwhile.

        A mail that arrives while a SEARCH or FETCH runs is announced in that
        command's answer, once, and is not in its result; the next IDLE would
        not mention it again. So the round repeats until one passes without news.
        Two empty rounds in a row end it anyway: a server that repeats EXISTS
        without new mail must not keep the watcher searching in a loop.
        """
        empty_rounds = 0
        while True:
            session.take_new_mail()  # news from before this round's SEARCH is in its result
            checkpoint = await self.store.checkpoint(self.box.name)
            last = checkpoint.last_uid if checkpoint is not None else 0
            uids = await session.uids_after(last)
            if uids:
                empty_rounds = 0
                await self.process(session, uidvalidity, uids)
            else:
                empty_rounds += 1
            if not session.take_new_mail() or empty_rounds >= 2:
                return

    async def backfill(
        self, session: ImapSession, since: date, progress: ProgressCallback | None = None
    ) -> Progress:
        """Read all mail since ``since`` without moving the checkpoint (the CLI's job).

        The checkpoint says "everything up to here is done"; a backfill skips
        older mail, so it must not claim that.
        """
        info = await session.select(self.box.imap_folder)
        uids = await session.uids_since(since)
        return await self.process(
            session, info.uidvalidity, uids, label="backfill", checkpoint=False, progress=progress
        )

    async def process(
        self,
        session: ImapSession,
        uidvalidity: int,
        uids: Sequence[int],
        *,
        label: str = "new mail",
        checkpoint: bool = True,
        progress: ProgressCallback | None = None,
    ) -> Progress:
        started = time.monotonic()
        last_log = started
        counts = {"stored": 0, "duplicate": 0, "quarantined": 0}

        def report(done: int) -> Progress:
            return Progress(
                self.box.name,
                done,
                len(uids),
                counts["stored"],
                counts["duplicate"],
                counts["quarantined"],
                time.monotonic() - started,
            )

        window: list[tuple[int, bytes | None]] = []
        # Without the core's batched path there is nothing to share: mail by mail.
        limit = WINDOW if self.ingestor.deliver_many is not None else 1
        for done, uid in enumerate(uids, start=1):
            raw = await session.fetch(uid)
            if raw is None:
                log.info("email: UID %s vanished before it was read", uid, extra=self._ctx())
            window.append((uid, raw))
            window_bytes = sum(len(r) for _, r in window if r is not None)
            if len(window) < limit and window_bytes < WINDOW_BYTES and done < len(uids):
                continue
            # Storing mail and checkpointing it is finished even when the app is
            # stopping, so a clean shutdown never leaves a stored mail unacknowledged.
            step = asyncio.ensure_future(self._commit_window(window, uidvalidity, checkpoint))
            try:
                outcomes = await asyncio.shield(step)
            except asyncio.CancelledError:
                await self._finish(step)
                raise
            for outcome in outcomes:
                if outcome is not None:
                    counts[outcome.kind] += 1
            if checkpoint and self.box.move_to:
                for moved_uid, moved_raw in window:
                    if moved_raw is None:
                        continue
                    try:
                        await session.move(moved_uid, self.box.move_to)
                    except ImapError as exc:
                        log.warning("email: could not move UID %s: %s", moved_uid, exc)
            window = []
            now = time.monotonic()
            if progress is not None:
                progress(report(done))
            if len(uids) > 20 and (now - last_log > 5 or done == len(uids)):
                last_log = now
                log.info(
                    "email: %s progress %d/%d",
                    label,
                    done,
                    len(uids),
                    extra={**self._ctx(), **counts, "rate": round(done / (now - started), 1)},
                )
        return report(len(uids))

    async def _finish(self, step: asyncio.Future[list[IngestOutcome | None]]) -> None:
        """Let the mail in flight be stored and checkpointed while stopping (bounded).

        The stop may cancel again (see EmailChannel.stop); that must not cut the
        commit short, and ``asyncio.wait``, unlike ``wait_for``, never cancels it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.imap_timeout
        while not step.done() and (left := deadline - loop.time()) > 0:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({step}, timeout=left)
        if step.done() and not step.cancelled():
            step.exception()  # seen here; a failed commit is re-read on the next start

    async def _commit_window(
        self, window: Sequence[tuple[int, bytes | None]], uidvalidity: int, checkpoint: bool
    ) -> list[IngestOutcome | None]:
        """Store a window of mail in shared transactions, then checkpoint its last UID.

        Should the batch fail (a database hiccup), each mail is tried on its own,
        so the failure counting below quarantines only the mail that keeps failing.
        """
        if len(window) > 1:
            mails = [(raw, uid) for uid, raw in window if raw is not None]
            try:
                stored = iter(
                    await self.ingestor.ingest_many(mails, self.box, uidvalidity=uidvalidity)
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("email: a window of %d failed; one by one", len(window), exc_info=True)
            else:
                outcomes = [next(stored) if raw is not None else None for _, raw in window]
                if checkpoint:
                    await self.store.save_checkpoint(self.box.name, uidvalidity, window[-1][0])
                return outcomes
        return [await self._commit(raw, uid, uidvalidity, checkpoint) for uid, raw in window]

    async def _commit(
        self, raw: bytes | None, uid: int, uidvalidity: int, checkpoint: bool
    ) -> IngestOutcome | None:
        outcome = await self._ingest(raw, uid, uidvalidity) if raw is not None else None
        if checkpoint:
            await self.store.save_checkpoint(self.box.name, uidvalidity, uid)
        return outcome

    async def _ingest(self, raw: bytes, uid: int, uidvalidity: int) -> IngestOutcome:
        """Ingest, counting failures: a mail that keeps failing is quarantined at last."""
        key = (uidvalidity, uid)
        try:
            outcome = await self.ingestor.ingest(raw, self.box, uid=uid, uidvalidity=uidvalidity)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            if failures < self.config.max_handle_attempts:
                raise
            reason = f"could not be stored after {failures} attempts: {type(exc).__name__}: {exc}"
            outcome = await self.ingestor.quarantine(raw, self.box, reason, uid, uidvalidity)
        self._failures.pop(key, None)
        return outcome

    def _ctx(self) -> dict[str, object]:
        return {"mailbox": self.box.name}
