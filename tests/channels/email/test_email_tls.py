"""IMAP (and SMTP) over TLS against real servers: Dovecot with a private CA, aiosmtpd.

What an operator would notice: mail arrives over implicit TLS and over STARTTLS
when the CA is configured; a certificate nobody trusts is refused with an
error that says which setting to fix, and the watcher backs off instead of
hammering the server; a CA file that cannot be read stops the start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from channels.email.config import parse_config
from channels.email.imap_client import ImapSession, ImapTlsError
from channels.email.smtp import SmtpSender
from channels.email.store import EmailStore
from channels.email.tls import check_tls_settings
from contactcenter.app import create_app
from contactcenter.channel import DeliveryError
from contactcenter.config import ConfigError, Settings
from contactcenter.domain import Address, AuthorKind, OutboundMessage
from contactcenter.services import Services

from .conftest import EmailApp, email_config
from .servers import Certificates, Dovecot, SmtpSink, _Handler, free_port
from .test_email_e2e import customer_mail, messages


def tls_settings(settings: Settings, dovecot: Dovecot, smtp: SmtpSink, **extra: Any) -> Settings:
    config = email_config(dovecot, smtp, **extra)
    return dataclasses.replace(
        settings, channels=("api", "email"), channel_config={"email": config}
    )


def tls_logins(dovecot: Dovecot) -> list[str]:
    """Dovecot's login lines for sessions that ran over TLS (its log says ", TLS,")."""
    return [
        line
        for line in dovecot.log().splitlines()
        if "Login: user=<support@northwind.example>" in line and ", TLS," in line
    ]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_mail_is_fetched_over_tls_with_the_private_ca(
    settings: Settings,
    dovecot_tls: Dovecot,
    smtp_sink: SmtpSink,
    certificates: Certificates,
    security: str,
) -> None:
    port = dovecot_tls.imaps_port if security == "ssl" else dovecot_tls.port
    app = EmailApp(
        tls_settings(
            settings,
            dovecot_tls,
            smtp_sink,
            imap_port=port,
            imap_security=security,
            imap_tls_ca_file=str(certificates.ca),
        )
    )
    await app.start()
    try:
        await dovecot_tls.append(customer_mail("<tls1@example.org>", "Hello over TLS"))
        assert await app.wait_messages(1) == 1
        (stored,) = [m for m in await messages(app) if m.direction == "in"]
        assert stored.channel_message_id == "<tls1@example.org>"
        assert stored.text == "Hello over TLS"
        (watcher,) = app.channel.watchers
        assert watcher.last_error is None
    finally:
        await app.stop()
    # The server saw an encrypted login, not a plain one that happened to work.
    assert tls_logins(dovecot_tls)


async def test_untrusted_certificate_is_refused_clearly_and_with_backoff(
    settings: Settings,
    dovecot_tls: Dovecot,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="channels.email")
    app = EmailApp(
        tls_settings(
            settings,
            dovecot_tls,
            smtp_sink,
            imap_port=dovecot_tls.imaps_port,
            imap_security="ssl",  # verification on, the system's CAs: ours is not among them
            reconnect_min_seconds=0.5,
            reconnect_max_seconds=60,
        )
    )
    await app.start(wait_synced=False)
    try:
        await dovecot_tls.append(customer_mail("<never@example.org>", "not read"))

        def refusals() -> list[logging.LogRecord]:
            return [
                r
                for r in caplog.records
                if r.levelno == logging.ERROR and "IMAP over TLS refused" in r.getMessage()
            ]

        for _ in range(300):  # four attempts take 1.75 s at least, 3.5 s at most (+ load)
            if len(refusals()) >= 4:
                break
            await asyncio.sleep(0.1)
        records = refusals()
        assert len(records) >= 4, [r.getMessage() for r in caplog.records]
        message = records[0].getMessage()
        assert "not trusted" in message and "imap_tls_ca_file" in message
        assert "127.0.0.1" in message
        # Exponential backoff with jitter in [ceiling/2, ceiling]: 0.25+, 0.5+, 1+ seconds.
        times = [r.created for r in records[:4]]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[0] >= 0.24 and gaps[1] >= 0.49 and gaps[2] >= 0.99, gaps
        (watcher,) = app.channel.watchers
        assert "not trusted" in (watcher.last_error or "")
        assert not app.channel._tasks[0].done()  # still trying, not crashed
        assert await app.wait_messages(1, seconds=0.2) == 0
    finally:
        await app.stop()
    assert tls_logins(dovecot_tls) == []


async def test_verification_can_be_turned_off_with_a_warning(
    settings: Settings,
    dovecot_tls: Dovecot,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="channels.email")
    app = EmailApp(
        tls_settings(
            settings,
            dovecot_tls,
            smtp_sink,
            imap_port=dovecot_tls.imaps_port,
            imap_security="ssl",
            imap_tls_verify=False,
        )
    )
    await app.start()
    try:
        await dovecot_tls.append(customer_mail("<noverify@example.org>", "accepted anyway"))
        assert await app.wait_messages(1) == 1
    finally:
        await app.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("certificate verification is OFF" in w and "imap_tls_verify" in w for w in warnings)


async def test_starttls_is_refused_when_the_server_does_not_offer_it(dovecot: Dovecot) -> None:
    box = parse_config(
        email_config(dovecot, None, imap_security="starttls", imap_port=dovecot.port)
    ).mailboxes[0]
    session = ImapSession(box, timeout=10)
    try:
        with pytest.raises(ImapTlsError, match="does not offer STARTTLS"):
            await session.open()
    finally:
        await session.close()


async def test_a_ca_file_that_cannot_be_loaded_stops_the_start(
    settings: Settings, tmp_path: Path
) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    for path, words in ((tmp_path / "missing.pem", "No such file"), (garbage, "ca.pem")):
        config = email_config(None, None, imap_host="imap.example.org", imap_tls_ca_file=str(path))
        with pytest.raises(ConfigError, match=f"email.imap_tls_ca_file: cannot load .*{words}"):
            check_tls_settings(parse_config(config))
        broken = dataclasses.replace(
            settings, channels=("api", "email"), channel_config={"email": config}
        )
        with pytest.raises(ConfigError, match="imap_tls_ca_file"):
            create_app(broken)


def test_good_ca_files_pass_the_start_check(certificates: Certificates) -> None:
    config = email_config(
        None,
        None,
        imap_host="imap.example.org",
        imap_tls_ca_file=str(certificates.ca),
        smtp_tls_ca_file=str(certificates.ca),
    )
    check_tls_settings(parse_config(config))  # no ConfigError


# -- SMTP with the same private CA ------------------------------------------------------


@pytest.fixture
def smtps_server(certificates: Certificates) -> Iterator[tuple[int, _Handler]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificates.cert), str(certificates.key))
    handler = _Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def _outbound(delivery_id: int) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=delivery_id,
        message_id=delivery_id,
        conversation_id=3,
        channel="email",
        recipient=Address("email", "carol@example.org"),
        text="Hello",
        author_kind=AuthorKind.AGENT,
        subject="Question",
    )


async def test_smtp_verifies_the_certificate_against_the_configured_ca(
    services: Services, smtps_server: tuple[int, _Handler], certificates: Certificates
) -> None:
    port, handler = smtps_server
    base = email_config(None, None, smtp_host="127.0.0.1", smtp_port=port, smtp_security="ssl")
    untrusted = SmtpSender(parse_config(base), EmailStore(services.db), b"k")
    with pytest.raises(DeliveryError) as err:
        await untrusted.send(_outbound(1))
    assert err.value.permanent is False  # a configuration problem: retried until fixed
    assert re.search(r"certificate", str(err.value), re.IGNORECASE)
    assert handler.mails == []

    trusted = SmtpSender(
        parse_config({**base, "smtp_tls_ca_file": str(certificates.ca)}),
        EmailStore(services.db),
        b"k",
    )
    await trusted.send(_outbound(2))
    assert len(handler.mails) == 1
