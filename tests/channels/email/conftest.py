"""Shared helpers for the email channel tests: sample mail, real servers, the app."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.config import Settings
from contactcenter.services import SERVICES, Services
from tests.conftest import API_TOKEN
from tests.services import require

from .servers import (
    PASSWORD,
    USER,
    Certificates,
    Dovecot,
    SmtpSink,
    dovecot_available,
    make_certificates,
    openssl_available,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def _mail(
    body: str | bytes = "Hello",
    *,
    headers: dict[str, str] | None = None,
    subject: str = "Question",
    sender: str = "Bob <bob@example.org>",
) -> bytes:
    """A small RFC 5322 message; ``headers`` add to or override the defaults."""
    base = {
        "From": sender,
        "To": "support@northwind.example",
        "Subject": subject,
        "Date": "Mon, 01 Jan 2024 10:00:00 +0100",
        "Message-ID": "<m1@example.org>",
    }
    base.update(headers or {})
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v is not None)
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head.encode("utf-8") + b"\r\n" + data


@pytest.fixture
def mail() -> Callable[..., bytes]:
    return _mail


# -- real servers and the app, for the I/O tests --------------------------------------

MAILBOX = USER
SECRET = "test-email-secret"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    require(dovecot_available(), "Dovecot (Debian package dovecot-imapd)")
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def certificates() -> Iterator[Certificates]:
    """A private CA and a server certificate for 127.0.0.1 (files readable by Dovecot)."""
    require(openssl_available(), "the openssl command")
    certs = make_certificates()
    try:
        yield certs
    finally:
        certs.cleanup()


@pytest.fixture
def dovecot_tls(certificates: Certificates) -> Iterator[Dovecot]:
    """Dovecot with STARTTLS on ``port`` and implicit TLS on ``imaps_port``."""
    require(dovecot_available(), "Dovecot (Debian package dovecot-imapd)")
    server = Dovecot(tls=certificates)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def email_config(dovecot: Dovecot | None, smtp: SmtpSink | None, **extra: Any) -> dict[str, Any]:
    """An [email] table pointing at the loopback servers, with quick timings."""
    config: dict[str, Any] = {
        "address": MAILBOX,
        "brand": "Northwind Support",
        "secret": SECRET,
        "imap_security": "none",
        "imap_user": USER,
        "imap_password": PASSWORD,
        "smtp_security": "none",
        "imap_timeout": 10,
        "smtp_timeout": 10,
        "idle_restart_seconds": 30,
        "reconnect_min_seconds": 0.1,
        "reconnect_max_seconds": 0.5,
        "lock_retry_seconds": 0.2,
    }
    if dovecot is not None:
        config.update(imap_host="127.0.0.1", imap_port=dovecot.port)
    if smtp is not None:
        config.update(smtp_host="127.0.0.1", smtp_port=smtp.port)
    config.update(extra)
    return config


class EmailApp:
    """The real app (api + email channels) on loopback; can be stopped and started again."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: TestClient[Any, Any] | None = None

    @property
    def services(self) -> Services:
        assert self.client is not None
        services: Services = self.client.app[SERVICES]
        return services

    @property
    def channel(self) -> Any:
        return self.services.registry.get("email")

    async def start(self, *, wait_synced: bool = True) -> EmailApp:
        app = create_app(self.settings)
        self.client = TestClient(TestServer(app, host="127.0.0.1"))
        await self.client.start_server()
        if wait_synced:
            await self.synced()
        return self

    async def synced(self, seconds: float = 20.0) -> None:
        for watcher in self.channel.watchers:
            await asyncio.wait_for(watcher.synced.wait(), seconds)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        assert self.client is not None
        headers = {"Authorization": f"Bearer {API_TOKEN}", **kwargs.pop("headers", {})}
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            ctype = resp.headers.get("Content-Type", "")
            if "json" in ctype:
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def wait_messages(self, count: int, seconds: float = 20.0) -> int:
        """Wait until ``count`` inbound email messages are stored; returns the count."""
        store = self.channel.store
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            found = int(await store.count_messages())
            if found >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.1)


@pytest.fixture
def email_settings(settings: Settings, dovecot: Dovecot, smtp_sink: SmtpSink) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("api", "email"),
        channel_config={"email": email_config(dovecot, smtp_sink)},
    )


@pytest.fixture
async def email_app(email_settings: Settings) -> AsyncIterator[EmailApp]:
    app = EmailApp(email_settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
