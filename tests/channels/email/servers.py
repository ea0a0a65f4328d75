"""Real mail servers on loopback for the email channel's tests.

Dovecot (Debian's ``dovecot-imapd``) runs with a throwaway configuration in a
world-readable directory under /tmp (pytest's tmp_path is mode 0700 and
Dovecot's unprivileged processes could not read it); aiosmtpd collects what
the channel sends. Both can be stopped and started again mid-test.

For TLS, :func:`make_certificates` makes a throwaway CA and a server
certificate for 127.0.0.1 with the ``openssl`` command, in such a directory
too; ``Dovecot(tls=...)`` then offers STARTTLS on its IMAP port and implicit
TLS on a second (IMAPS) port.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
OPENSSL = shutil.which("openssl")
USER = "support@northwind.example"
PASSWORD = "imap-secret"


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT) and os.access(DOVECOT, os.X_OK)


def openssl_available() -> bool:
    return OPENSSL is not None


def _world_readable_dir(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    return folder


@dataclass(frozen=True)
class Certificates:
    """A private CA (``ca``, what a client must trust) and a server certificate it signed."""

    dir: Path
    ca: Path
    cert: Path
    key: Path

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def make_certificates() -> Certificates:
    """A throwaway CA and a certificate for 127.0.0.1 / localhost, valid for two days.

    A CA plus a leaf, not one self-signed leaf: that is what a company's own
    mail server has, and what a client's ``imap_tls_ca_file`` points at.
    """
    assert OPENSSL is not None
    folder = _world_readable_dir("cc-certs-")
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ext = folder / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [OPENSSL, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=contactcenter test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", str(ca_key), "-out", str(ca)],
        [OPENSSL, "req", *ec, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr)],
        [OPENSSL, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    for path in (ca, cert):
        path.chmod(0o644)
    return Certificates(dir=folder, ca=ca, cert=cert, key=key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_port(port: int, *, up: bool, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


def _run_as() -> tuple[str, str]:
    """Who Dovecot's unprivileged processes run as: nobody when we are root."""
    if os.geteuid() == 0:
        return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, grp.getgrgid(me.pw_gid).gr_name


class Dovecot:
    """One Dovecot on loopback: ``port`` speaks plain IMAP (and STARTTLS when ``tls``
    is given), ``imaps_port`` implicit TLS (only with ``tls``)."""

    def __init__(self, tls: Certificates | None = None) -> None:
        self.dir = _world_readable_dir("cc-dovecot-")
        self.port = free_port()
        self.imaps_port = free_port() if tls is not None else 0
        self.process: subprocess.Popen[bytes] | None = None
        user, group = _run_as()
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        if os.geteuid() == 0:
            os.chown(self.dir / "mail", pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        passwd = self.dir / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        passwd.chmod(0o644)
        uid = pwd.getpwnam(user).pw_uid
        self.conf = self.dir / "dovecot.conf"
        self.conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
{self._ssl_settings(tls)}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {min(uid, 500)}
mail_location = maildir:{self.dir}/mail/%n
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={self.dir}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""
        )

    @staticmethod
    def _ssl_settings(tls: Certificates | None) -> str:
        if tls is None:
            return "ssl = no"
        # "yes", not "required": the tests' own plain client still logs in on ``port``.
        return f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}\n"

    @property
    def maildir(self) -> Path:
        return self.dir / "mail" / "support"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_port(self.port, up=True)
        if self.imaps_port:
            _wait_port(self.imaps_port, up=True)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None
        _wait_port(self.port, up=False)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- a plain client for the tests' own appends and checks ---------------------

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def append_sync(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self._client()
        try:
            status, data = client.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    async def append(self, raw: bytes, folder: str = "INBOX") -> None:
        await asyncio.to_thread(self.append_sync, raw, folder)

    def uids_sync(self, folder: str = "INBOX") -> list[int]:
        client = self._client()
        try:
            client.select(folder, readonly=True)
            status, data = client.uid("SEARCH", "ALL")
            assert status == "OK"
            return [int(x) for x in data[0].split()] if data and data[0] else []
        finally:
            client.logout()

    def flags_sync(self, folder: str = "INBOX") -> list[str]:
        client = self._client()
        try:
            client.select(folder, readonly=True)
            status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK"
            return [d.decode() for d in data if isinstance(d, bytes)]
        finally:
            client.logout()

    def create_folder_sync(self, folder: str) -> None:
        client = self._client()
        try:
            client.create(folder)
        finally:
            client.logout()

    def reset_uidvalidity(self) -> None:
        """Make Dovecot assign a new UIDVALIDITY (as a restored mailbox would get)."""
        assert self.process is None, "stop the server first"
        for path in self.maildir.rglob("dovecot-uidlist"):
            path.unlink()
        for path in self.maildir.rglob("dovecot.index*"):
            path.unlink()


@dataclass
class SentMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data)

    def header(self, name: str) -> str:
        value = self.message.get(name)
        return str(value) if value is not None else ""

    def text(self) -> str:
        msg = self.message
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload.decode(part.get_content_charset() or "utf-8")
        return ""


@dataclass
class _Handler:
    mails: list[SentMail] = field(default_factory=list)
    # The next replies to DATA, e.g. "451 4.3.0 try later"; empty means accept.
    fail_with: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.fail_with:
                return self.fail_with.pop(0)
            self.mails.append(
                SentMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK"


class SmtpSink:
    """aiosmtpd on loopback, keeping every accepted mail."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def mails(self) -> list[SentMail]:
        with self.handler.lock:
            return list(self.handler.mails)

    def fail_next(self, *replies: str) -> None:
        with self.handler.lock:
            self.handler.fail_with.extend(replies)

    async def wait_for(self, count: int, seconds: float = 20.0) -> list[SentMail]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.mails) >= count:
                return self.mails
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} mails, got {len(self.mails)}: {self.mails}")
