"""One IMAP session over aioimaplib, with a deadline on every await.

aioimaplib neither reconnects nor fails pending commands when the socket
dies, and an IDLE whose connection silently dropped waits forever. So every
call here is bounded by a timeout, the connection-lost callback is turned
into an event that ends an IDLE at once, and any failure surfaces as
:class:`ImapError` for the watcher's reconnect loop (:class:`ImapTlsError`
when the server's certificate is refused, with what to do about it).

Two more gaps of aioimaplib are closed here:

- it has no STARTTLS method; the session sends the command itself and
  upgrades aioimaplib's transport in place (``loop.start_tls``), then asks
  for the capabilities again, as RFC 3501 requires;
- it drops untagged ``EXISTS`` that arrive while a FETCH or SEARCH is
  pending ("ignored untagged response"). Dovecot reports mail that arrived
  during a command exactly that way, and only once, so the watcher would
  IDLE on unaware of it. Every untagged line is therefore looked at first,
  and :meth:`ImapSession.take_new_mail` tells the watcher that another
  catch-up round is due.

Deadlines use ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11
``wait_for`` swallows a cancellation that arrives just as its operation
finishes, which left a stopping watcher running on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar

import aioimaplib

from .config import MailboxConfig
from .imap_parse import (
    ImapProtocolError,
    SelectInfo,
    announces_new_mail,
    fetched_body,
    imap_date,
    quote_mailbox,
    search_uids,
    select_info,
)
from .tls import certificate_problem, client_context

T = TypeVar("T")


class ImapError(Exception):
    """The session is unusable or the server refused: reconnect (with backoff) and retry."""


class ImapTlsError(ImapError):
    """TLS failed (an untrusted certificate, no TLS on that port): a configuration problem.

    Still retried with backoff - a renewed server certificate fixes it without a
    restart - but logged as an error that says which setting to look at.
    """


class ImapSession:
    def __init__(self, box: MailboxConfig, *, timeout: float) -> None:
        if not box.imap_host:
            raise ImapError(f"mailbox {box.name}: imap_host is not configured")
        self.box = box
        self.timeout = timeout
        self._lost = asyncio.Event()
        self._new_mail = False
        self._client: Any = None
        self.capabilities: frozenset[str] = frozenset()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def _on_lost(self, _exc: Exception | None) -> None:
        self._lost.set()

    def take_new_mail(self) -> bool:
        """Did the server announce mail (EXISTS) since the last call? Clears the flag."""
        announced, self._new_mail = self._new_mail, False
        return announced

    def _observe_untagged(self, protocol: Any) -> None:
        """Note every EXISTS before aioimaplib routes (or drops) the line."""
        dispatch = protocol._untagged_response

        def observe(line: bytes) -> Any:
            if announces_new_mail(line):
                self._new_mail = True
            return dispatch(line)

        protocol._untagged_response = observe

    async def _bounded(self, what: str, awaitable: Awaitable[T], limit: float | None = None) -> T:
        if self.lost:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never started: no "was never awaited" warning
            raise ImapError(f"{what}: connection lost")
        seconds = limit or self.timeout
        try:
            async with asyncio.timeout(seconds):
                return await awaitable
        except TimeoutError:
            raise ImapError(f"{what}: no answer within {seconds:.0f}s") from None
        except ssl.SSLError as exc:
            raise self._tls_error(what, exc) from exc
        except (OSError, aioimaplib.AioImapException) as exc:
            raise ImapError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def _tls_error(self, what: str, exc: ssl.SSLError) -> ImapTlsError:
        box = self.box
        where = f"{box.imap_host}:{box.imap_port}"
        problem = certificate_problem(exc)
        if problem is not None:
            return ImapTlsError(
                f"{what}: the IMAP server's certificate ({where}) is not trusted: {problem}. "
                "If the server uses a private or self-signed CA, set imap_tls_ca_file to "
                "that CA's PEM file; otherwise fix the server's certificate (chain, name)"
            )
        return ImapTlsError(
            f"{what}: TLS with {where} failed: {exc}. Does imap_security "
            f"({box.imap_security!r}) match what the server speaks on port {box.imap_port}?"
        )

    @staticmethod
    def _ok(what: str, response: Any) -> Any:
        if getattr(response, "result", None) != "OK":
            lines = getattr(response, "lines", [])
            detail = (lines[-1] if lines else b"").decode("utf-8", "replace")[:200]
            raise ImapError(f"{what} refused: {getattr(response, 'result', '?')} {detail}")
        return response

    async def open(self) -> None:
        """Connect, (STARTTLS,) log in."""
        box = self.box
        context = self._tls_context() if box.imap_security == "ssl" else None
        self._client = aioimaplib.IMAP4(
            host=box.imap_host,
            port=box.imap_port,
            timeout=self.timeout,
            conn_lost_cb=self._on_lost,
            ssl_context=context,
        )
        self._observe_untagged(self._client.protocol)
        await self._bounded("connect", self._client.wait_hello_from_server())
        if box.imap_security == "starttls":
            await self._starttls()
        response = await self._bounded(
            "login", self._client.login(box.imap_user, box.imap_password)
        )
        self._ok("LOGIN", response)
        self.capabilities = frozenset(c.upper() for c in self._client.protocol.capabilities)

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return client_context(self.box.imap_tls_verify, self.box.imap_tls_ca_file)
        except (OSError, ssl.SSLError) as exc:  # the CA file went away after the start
            raise ImapTlsError(
                f"imap_tls_ca_file {self.box.imap_tls_ca_file!r} cannot be loaded: {exc}"
            ) from exc

    async def _starttls(self) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in {c.upper() for c in protocol.capabilities}:
            raise ImapTlsError(
                f"the IMAP server {self.box.imap_host}:{self.box.imap_port} does not offer "
                "STARTTLS; use imap_security = 'ssl' (its IMAPS port) or fix the server"
            )
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        self._ok("STARTTLS", await self._bounded("STARTTLS", protocol.execute(command)))
        if protocol.incomplete_line:
            # Bytes after the OK arrived in plain text: injected, never to be trusted.
            raise ImapTlsError("plain-text data after the STARTTLS answer; refusing the session")
        loop = asyncio.get_running_loop()
        transport = await self._bounded(
            "TLS handshake",
            loop.start_tls(
                protocol.transport,
                protocol,
                self._tls_context(),
                server_hostname=self.box.imap_host,
            ),
        )
        protocol.transport = transport
        # Capabilities must be asked again after TLS (RFC 3501 6.2.1).
        await self._bounded("CAPABILITY", protocol.capability())

    async def select(self, folder: str) -> SelectInfo:
        response = self._ok(
            "SELECT", await self._bounded("SELECT", self._client.select(quote_mailbox(folder)))
        )
        try:
            return select_info(response.lines)
        except ImapProtocolError as exc:
            raise ImapError(str(exc)) from exc

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid`` (``n:*`` always names the newest; it is dropped)."""
        response = self._ok(
            "UID SEARCH",
            await self._bounded(
                "UID SEARCH", self._client.uid_search(f"UID {last_uid + 1}:*", charset=None)
            ),
        )
        return [u for u in search_uids(response.lines) if u > last_uid]

    async def uids_since(self, day: date) -> list[int]:
        response = self._ok(
            "UID SEARCH",
            await self._bounded(
                "UID SEARCH", self._client.uid_search(f"SINCE {imap_date(day)}", charset=None)
            ),
        )
        return search_uids(response.lines)

    async def fetch(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen (BODY.PEEK); None if it is gone."""
        # aioimaplib's fetch timeout counts from the last byte received, so a
        # large mail on a slow link is fine while a stalled one still fails.
        response = self._ok(
            "UID FETCH",
            await self._bounded(
                "UID FETCH",
                self._client.uid("fetch", str(uid), "(UID BODY.PEEK[])"),
                limit=self.timeout * 20,
            ),
        )
        return fetched_body(response.lines, uid)

    async def move(self, uid: int, folder: str) -> None:
        target = quote_mailbox(folder)
        if "MOVE" in self.capabilities:
            response = await self._bounded("UID MOVE", self._client.uid("move", str(uid), target))
            self._ok("UID MOVE", response)
            return
        # Without MOVE: copy only. Deleting would need EXPUNGE, and this channel never deletes.
        response = await self._bounded("UID COPY", self._client.uid("copy", str(uid), target))
        self._ok("UID COPY", response)

    async def noop(self) -> None:
        self._ok("NOOP", await self._bounded("NOOP", self._client.noop()))

    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.capabilities

    async def idle(self, seconds: float) -> bool:
        """IDLE for at most ``seconds``; True when the server announced a change."""
        client = self._client
        queue = client.protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        idle_task = await self._bounded("IDLE", client.idle_start(timeout=seconds))
        push = asyncio.ensure_future(client.wait_server_push(timeout=seconds + self.timeout))
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not push.done():
                push.cancel()
        if self.lost:
            idle_task.cancel()
            raise ImapError("connection lost during IDLE")
        changed = False
        if not push.cancelled() and push.exception() is None:
            result = push.result()
            changed = isinstance(result, list) and any(
                isinstance(line, bytes) and (b"EXISTS" in line or b"RECENT" in line)
                for line in result
            )
        elif not push.cancelled() and isinstance(push.exception(), TimeoutError):
            changed = False
        client.idle_done()
        try:
            await self._bounded("IDLE DONE", idle_task)
        finally:
            if not idle_task.done():
                idle_task.cancel()
        return changed

    async def close(self) -> None:
        """Log out politely if possible; never raises, never hangs."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if not self.lost:
                if client.has_pending_idle():
                    # LOGOUT would queue behind the IDLE: end it first.
                    client.idle_done()
                await asyncio.wait_for(client.logout(), min(self.timeout, 2.0))
        with contextlib.suppress(Exception):
            transport = client.protocol.transport
            if transport is not None:
                transport.close()
        for task in list(getattr(client, "tasks", ())) + list(
            getattr(client.protocol, "tasks", ())
        ):
            task.cancel()
