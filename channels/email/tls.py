"""TLS for IMAP and SMTP: verified by default, a private CA when configured.

Mail servers inside a company often carry a certificate from the company's
own CA; the answer to that is ``imap_tls_ca_file`` (or ``smtp_tls_ca_file``),
never switching verification off. So a configured CA file replaces the
system's trust store for that connection, and a CA file that cannot be
loaded stops the start with a :class:`ConfigError` naming the key, instead
of a watcher that fails every few minutes with an obscure handshake error.
``*_tls_verify = false`` still exists for throwaway setups and is announced
with a warning at start.
"""

from __future__ import annotations

import logging
import ssl

from contactcenter.config import ConfigError

from .config import EmailConfig

log = logging.getLogger(__name__)


def client_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context: the system's CAs, or only those in ``ca_file``; or no checks."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_problem(exc: BaseException) -> str | None:
    """Why the server's certificate was refused, if that is what ``exc`` says."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return str(exc.verify_message or exc.reason or exc)
    return None


def check_tls_settings(config: EmailConfig) -> None:
    """Load every configured CA file once (ConfigError if unusable); warn about opt-outs."""
    for box in config.mailboxes:
        for protocol, security, verify, ca_file, host in (
            ("imap", box.imap_security, box.imap_tls_verify, box.imap_tls_ca_file, box.imap_host),
            ("smtp", box.smtp_security, box.smtp_tls_verify, box.smtp_tls_ca_file, box.smtp_host),
        ):
            if ca_file:
                try:
                    client_context(True, ca_file)
                except (OSError, ssl.SSLError) as exc:
                    raise ConfigError(
                        f"email.{protocol}_tls_ca_file: cannot load {ca_file!r} "
                        f"(mailbox {box.name}): {exc}"
                    ) from None
            if host and security != "none" and not verify:
                log.warning(
                    "email: %s certificate verification is OFF for mailbox %s "
                    "(%s_tls_verify = false): anyone on the network path can read the "
                    "password and the mail; set %s_tls_ca_file instead",
                    protocol.upper(),
                    box.name,
                    protocol,
                    protocol,
                    extra={"mailbox": box.name, "host": host},
                )
