"""SMTP out: error mapping, idempotent retries, rate limit, loop protection, TLS and auth."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from channels.email.config import parse_config
from channels.email.smtp import SmtpSender, classify_smtp_error
from channels.email.store import EmailStore
from contactcenter.channel import DeliveryError
from contactcenter.domain import Address, AuthorKind, OutboundMessage
from contactcenter.services import Services

from .conftest import email_config
from .servers import SmtpSink, _Handler, free_port

SECRET = b"smtp-test-secret"


def outbound(delivery_id: int = 1, *, to: str = "carol@example.org", **kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "delivery_id": delivery_id,
        "message_id": delivery_id,
        "conversation_id": 7,
        "channel": "email",
        "recipient": Address("email", to),
        "text": "Hello from support",
        "author_kind": AuthorKind.BOT,
        "subject": "Question",
        "thread_message_ids": ("<q1@example.org>",),
    }
    values.update(kw)
    return OutboundMessage(**values)


def sender(services: Services, **extra: Any) -> SmtpSender:
    config = parse_config(email_config(None, None, **extra))
    return SmtpSender(config, EmailStore(services.db), SECRET)


async def test_send_threads_and_is_idempotent_per_delivery(
    services: Services, smtp_sink: SmtpSink
) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    first = await smtp.send(outbound(1))
    again = await smtp.send(outbound(1))  # a retry of the same delivery
    assert first == again
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.header("Message-ID") == first
    assert mail.header("In-Reply-To") == "<q1@example.org>"
    assert mail.header("Auto-Submitted") == "auto-replied"
    assert first != await smtp.send(outbound(2))


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("451 4.3.0 try again later", False), ("554 5.7.1 message refused", True)],
)
async def test_smtp_replies_map_to_retry_or_give_up(
    services: Services, smtp_sink: SmtpSink, reply: str, permanent: bool
) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    smtp_sink.fail_next(reply)
    with pytest.raises(DeliveryError) as err:
        await smtp.send(outbound(3))
    assert err.value.permanent is permanent
    assert reply[:3] in str(err.value)
    if not permanent:  # the retry goes through
        assert await smtp.send(outbound(3))


async def test_unreachable_server_is_transient(services: Services) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2)
    with pytest.raises(DeliveryError) as err:
        await smtp.send(outbound(4))
    assert err.value.permanent is False


def test_recipient_refusals_are_classified() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.org")]
    )
    assert classify_smtp_error(refused).permanent is True
    greylisted = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(450, "greylisted", "x@example.org")]
    )
    assert classify_smtp_error(greylisted).permanent is False
    assert classify_smtp_error(aiosmtplib.SMTPAuthenticationError(535, "bad")).permanent is False
    assert classify_smtp_error(aiosmtplib.SMTPServerDisconnected("gone")).permanent is False


async def test_rate_limit_per_address(services: Services, smtp_sink: SmtpSink) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=smtp_sink.port, rate_limit_per_hour=2)
    await smtp.send(outbound(10))
    await smtp.send(outbound(11))
    with pytest.raises(DeliveryError) as err:
        await smtp.send(outbound(12))
    assert err.value.permanent is False
    assert err.value.retry_after is not None and 3000 < err.value.retry_after <= 3600
    # Another address is not affected.
    await smtp.send(outbound(13, to="dave@example.org"))
    assert len(await smtp_sink.wait_for(3)) == 3


async def test_no_automated_mail_to_robots_or_unknown_senders(
    services: Services, smtp_sink: SmtpSink
) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    for address in ("mailer-daemon@example.org", "no-reply@shop.example", "unknown-sender@invalid"):
        with pytest.raises(DeliveryError) as err:
            await smtp.send(outbound(20, to=address))
        assert err.value.permanent is True
    # A human agent may still write to a no-reply address if they insist.
    await smtp.send(outbound(21, to="no-reply@shop.example", author_kind=AuthorKind.AGENT))
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_unusable_recipient_is_permanent(services: Services, smtp_sink: SmtpSink) -> None:
    smtp = sender(services, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    with pytest.raises(DeliveryError) as err:
        await smtp.send(outbound(30, to="bob@@example.org", author_kind=AuthorKind.AGENT))
    assert err.value.permanent is True


# -- TLS and authentication ------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"smtp-user", b"pw")
    return AuthResult(success=ok)


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[str, int, _Handler]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    handler = _Handler()
    port = free_port()
    kwargs: dict[str, Any] = {"authenticator": _authenticator, "auth_require_tls": True}
    if request.param == "ssl":
        # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; the socket is TLS here.
        kwargs["auth_require_tls"] = False
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, ssl_context=context, **kwargs
        )
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            **kwargs,
        )
    controller.start()
    try:
        yield request.param, port, handler
    finally:
        controller.stop()


async def test_tls_and_auth(services: Services, tls_server: tuple[str, int, _Handler]) -> None:
    security, port, handler = tls_server
    smtp = sender(
        services,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        smtp_tls_verify=False,
        smtp_user="smtp-user",
        smtp_password="pw",
    )
    await smtp.send(outbound(40))
    assert len(handler.mails) == 1
    wrong = sender(
        services,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        smtp_tls_verify=False,
        smtp_user="smtp-user",
        smtp_password="wrong",
        smtp_timeout=2,  # aiosmtpd answers a failed AUTH slowly
    )
    with pytest.raises(DeliveryError) as err:
        await wrong.send(outbound(41))
    assert err.value.permanent is False  # configuration: retried until fixed
