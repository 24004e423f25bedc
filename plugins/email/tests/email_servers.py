"""Real mail servers on loopback for the tests: a Dovecot IMAP server started as a
subprocess with its own configuration in a temporary directory, and an aiosmtpd SMTP sink
that records what our channel sends and can be told to refuse it."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import aioimaplib
import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from nexus.testing.server import free_port, wait_for

DOVECOT_USER = "nexus"
DOVECOT_PASSWORD = "imap-secret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT)


class Dovecot:
    """A private Dovecot: one passwd-file user, maildir storage, plaintext login on a
    loopback port, and optionally STARTTLS with a self-signed certificate."""

    def __init__(self, *, tls: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="nexus-dovecot-"))
        self.port = free_port()
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        d = self.dir
        if os.geteuid() == 0:
            internal, login = "dovecot", "dovenull"
        else:  # an unprivileged run: every Dovecot process is this user
            internal = login = pwd.getpwuid(os.geteuid()).pw_name
        owner = pwd.getpwnam(internal)
        ssl = "no"
        if self.tls:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                 "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                check=True, capture_output=True,
            )
            ssl = f"yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem"
        return f"""
base_dir = {d}/run
state_dir = {d}/state
instance_name = nexus-test-{self.port}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(owner.pw_gid).gr_name}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""

    async def start(self) -> Dovecot:
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        (self.dir / "passwd").write_text(f"{DOVECOT_USER}:{{PLAIN}}{DOVECOT_PASSWORD}::::::\n")
        (self.dir / "dovecot.conf").write_text(self._config())
        os.chmod(self.dir, 0o777)
        os.chmod(self.dir / "mail", 0o777)
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.dir / "dovecot.conf")],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        async def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"dovecot exited: {output}")
            try:
                client = await self.client()
            except (OSError, asyncio.TimeoutError, aioimaplib.AioImapException):
                return False
            await client.logout()
            return True

        await wait_for(ready, timeout=20, message="dovecot to accept logins")
        return self

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(self.process.wait, 10)
            if self.process.poll() is None:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def settings(self, **overrides: object) -> dict[str, object]:
        """The channel's ``imap`` settings for this server."""
        values: dict[str, object] = {
            "host": "127.0.0.1", "port": self.port, "security": "starttls" if self.tls else "none",
            "user": DOVECOT_USER, "password": DOVECOT_PASSWORD, "poll_interval": 1.0,
        }
        if self.tls:
            values["verify_certificate"] = False
        values.update(overrides)
        return values

    # --- A second, independent client: the test's view of the mailbox ------------------

    async def client(self) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4(host="127.0.0.1", port=self.port, timeout=10)
        await client.wait_hello_from_server()
        response = await client.login(DOVECOT_USER, DOVECOT_PASSWORD)
        assert response.result == "OK", response
        return client

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> None:
        client = await self.client()
        try:
            response = await client.append(raw, mailbox=folder, flags=flags)
            assert response.result == "OK", response
        finally:
            await client.logout()

    async def create(self, folder: str) -> None:
        client = await self.client()
        try:
            await client.create(folder)
        finally:
            await client.logout()

    async def messages(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID → flags of every message in ``folder``."""
        client = await self.client()
        try:
            response = await client.select(folder)
            assert response.result == "OK", response
            if aioimaplib.extract_exists(response) == 0:
                return {}
            response = await client.fetch("1:*", "(UID FLAGS)")
            found: dict[int, set[str]] = {}
            for line in response.lines:
                match = re.search(rb"UID (\d+)", line) if isinstance(line, bytes) else None
                flags = re.search(rb"FLAGS \(([^)]*)\)", line) if match else None
                if match and flags:
                    found[int(match.group(1))] = set(flags.group(1).decode().split())
            return found
        finally:
            await client.logout()

    async def set_flags(self, uid: int, operation: str, flags: str, folder: str = "INBOX") -> None:
        client = await self.client()
        try:
            await client.select(folder)
            response = await client.uid("store", str(uid), f"{operation}FLAGS ({flags})")
            assert response.result == "OK", response
        finally:
            await client.logout()


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return body.get_content().replace("\r\n", "\n") if body is not None else ""

    @property
    def html(self) -> str:
        body = self.message.get_body(("html",))
        return body.get_content().replace("\r\n", "\n") if body is not None else ""


@dataclass
class SmtpSink:
    """An SMTP server that accepts everything (or refuses as scripted) and records it."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _server: asyncio.AbstractServer | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.failures and self.failures[0].startswith("5"):
            return self.failures.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.failures:
            return self.failures.pop(0)
        raw = envelope.original_content or b""
        message = BytesParser(policy=default).parsebytes(raw)
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), raw, message))
        return "250 2.0.0 Ok: queued"

    def fail(self, times: int, answer: str) -> None:
        """Refuse the next ``times`` messages: 5xx at RCPT, 4xx at DATA."""
        self.failures += [answer] * times

    async def start(self) -> SmtpSink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="sink.test", loop=loop), "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


async def smtp_send(port: int, raw: bytes, *, mail_from: str, to: list[str] | str) -> str:
    """Send ``raw`` to our listener as an MTA would; returns the final answer. Raises on a
    refusal (aiosmtplib's SMTPRecipientsRefused, SMTPDataError ...)."""
    recipients = [to] if isinstance(to, str) else to
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False) as client:
        _, answer = await client.sendmail(mail_from, recipients, raw)
        return answer


async def wait_listening(port: int) -> None:
    async def accepting() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_for(accepting, timeout=30, message=f"the SMTP listener on port {port}")
