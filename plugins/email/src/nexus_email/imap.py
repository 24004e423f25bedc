"""Inbound mail from an IMAP folder: poll, or IDLE where the server offers it.

Nothing is fetched twice or skipped across restarts. The host's state keeps, per folder, the
folder's UIDVALIDITY, the highest UID handled (``last_uid``) and the ``backlog`` of older UIDs
still to handle. Each message is fetched without setting \\Seen (``BODY.PEEK[]``), committed
through the host, *then* marked \\Seen or moved, and only then is the state advanced. A crash
in between fetches the message again, and the host absorbs the duplicate by its Message-ID.

The first time a folder is seen (or when its UIDVALIDITY changed, which means its UIDs were
renumbered) the backlog is what still needs handling: the unread messages when processed
mail is marked \\Seen, every message when processed mail is moved away.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aioimaplib

from nexus import ChannelHost

from nexus_email.config import ImapSettings

__all__ = ["ImapError", "ImapReceiver"]

#: A raw message → a short description of what was done with it. Raises if not stored.
Deliver = Callable[[bytes], Awaitable[str]]
BACKOFF = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0)
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """The server refused a command."""


def _check(response: Any, what: str) -> Any:
    if response.result != "OK":
        detail = b" ".join(line for line in response.lines if isinstance(line, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what} failed: {response.result} {detail}".strip())
    return response


def _quote(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (modified UTF-7 for non-ASCII names)."""
    if not mailbox.isascii():
        mailbox = _utf7(mailbox)
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(text: str) -> str:
    """RFC 3501 modified UTF-7."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            encoded = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(encoded).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in text:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


class _Client(aioimaplib.IMAP4):
    """aioimaplib's client with STARTTLS, which it lacks, done with asyncio's start_tls."""

    async def starttls(self, context: ssl.SSLContext) -> None:
        protocol = self.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the server does not offer STARTTLS")
        response = await asyncio.wait_for(
            protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)), self.timeout)
        _check(response, "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(protocol.transport, protocol, context, server_hostname=self.host)
        await asyncio.wait_for(protocol.capability(), self.timeout)  # RFC 3501: ask again after TLS


class ImapReceiver:
    def __init__(self, settings: ImapSettings, host: ChannelHost, deliver: Deliver, logger: logging.Logger) -> None:
        self.settings = settings
        self.host = host
        self.deliver = deliver
        self.logger = logger
        self.state_key = f"imap:{settings.user}@{settings.host}:{settings.effective_port}/{settings.folder}"
        self._lost = asyncio.Event()
        self.idling = False

    # --- The loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Receive until cancelled, reconnecting with backoff; problems show on the channel."""
        failures = 0
        where = f"IMAP {self.settings.host}:{self.settings.effective_port}"
        while True:
            try:
                await self._session(on_healthy=lambda: self.host.report_error(None))
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, ConnectionError, aioimaplib.AioImapException, ImapError) as exc:
                message = f"{where}: {exc or type(exc).__name__}"
            except Exception as exc:  # noqa: BLE001 - keep receiving after a bug; show it
                self.logger.exception("IMAP receiver failed")
                message = f"{where}: {type(exc).__name__}: {exc}"
            else:
                message = f"{where}: the connection ended"
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            self.host.report_error(f"{message}; reconnecting in {delay:g}s")
            await asyncio.sleep(delay)

    async def _connect(self) -> _Client:
        settings = self.settings
        context = ssl.create_default_context()
        if not settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._lost = asyncio.Event()
        client = _Client(host=settings.host, port=settings.effective_port, timeout=settings.timeout,
                         conn_lost_cb=self._connection_lost,
                         ssl_context=context if settings.security == "tls" else None)
        await client.wait_hello_from_server()
        if settings.security == "starttls":
            await client.starttls(context)
        _check(await client.login(settings.user, settings.password.get_secret_value()), "LOGIN")
        return client

    def _connection_lost(self, exc: Exception | None) -> None:
        self._lost.set()

    async def _session(self, on_healthy: Callable[[], None]) -> None:
        client = await self._connect()
        try:
            if self.settings.after_processing == "move":
                await self._ensure_folder(client, self.settings.move_to or "")
            while not self._lost.is_set():
                await self.sync(client)
                on_healthy()
                if self.settings.idle and client.has_capability("IDLE"):
                    await self._idle(client)
                else:
                    await asyncio.sleep(self.settings.poll_interval)
            raise ConnectionError("the server closed the connection")
        finally:
            await self._close(client)

    async def _close(self, client: _Client) -> None:
        with contextlib.suppress(Exception):
            if not self._lost.is_set():
                if client.has_pending_idle():
                    client.idle_done()  # LOGOUT waits for the IDLE to end
                await asyncio.wait_for(client.logout(), 2)
        with contextlib.suppress(Exception):
            if client.protocol.transport is not None:
                client.protocol.transport.close()

    async def _idle(self, client: _Client) -> None:
        """Wait in IDLE until the server reports new mail, or for ``poll_interval``."""
        queue = client.protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        idle = await client.idle_start(timeout=self.settings.poll_interval)
        self.idling = True
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while client.has_pending_idle():
                push = asyncio.ensure_future(client.wait_server_push(timeout=self.settings.poll_interval + 30))
                done, _ = await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
                if lost in done:
                    push.cancel()
                    raise ConnectionError("the server closed the connection")
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                if any(isinstance(line, bytes) and (line.endswith(b"EXISTS") or line.endswith(b"RECENT")) for line in lines):
                    break
        finally:
            self.idling = False
            lost.cancel()
        if client.has_pending_idle():
            client.idle_done()
        await asyncio.wait_for(idle, self.settings.timeout)

    async def _ensure_folder(self, client: _Client, folder: str) -> None:
        response = await client.create(_quote(folder))
        if response.result != "OK" and not any(b"ALREADYEXISTS" in line or b"already exists" in line.lower()
                                               for line in response.lines if isinstance(line, bytes)):
            _check(response, f"CREATE {folder}")

    # --- One pass over the folder --------------------------------------------------------

    async def sync(self, client: _Client) -> int:
        """Handle every message not handled yet; returns how many."""
        response = _check(await client.select(_quote(self.settings.folder)), f"SELECT {self.settings.folder}")
        text = b" ".join(line for line in response.lines if isinstance(line, bytes))
        validity_match = _UIDVALIDITY.search(text)
        uidvalidity = int(validity_match.group(1)) if validity_match else 0
        state = await self.host.get_state(self.state_key)
        if not isinstance(state, dict) or state.get("uidvalidity") != uidvalidity:
            state = await self._baseline(client, uidvalidity, text, state)

        handled = 0
        while state["backlog"]:
            uid = state["backlog"][0]
            await self._handle(client, uid)
            state["backlog"] = state["backlog"][1:]
            await self.host.set_state(self.state_key, state)
            handled += 1
        for uid in await self._search(client, f"UID {state['last_uid'] + 1}:*"):
            if uid <= state["last_uid"]:
                continue  # "n:*" always matches the highest UID, even below n
            await self._handle(client, uid)
            state["last_uid"] = uid
            await self.host.set_state(self.state_key, state)
            handled += 1
        return handled

    async def _baseline(self, client: _Client, uidvalidity: int, select_text: bytes, previous: Any) -> dict[str, Any]:
        if isinstance(previous, dict):
            self.logger.warning("IMAP folder %r changed UIDVALIDITY (%s → %s): its UIDs were renumbered; "
                                "checking it afresh", self.settings.folder, previous.get("uidvalidity"), uidvalidity)
        everything = await self._search(client, "ALL")
        backlog = everything if self.settings.after_processing == "move" else await self._search(client, "UNSEEN")
        next_match = _UIDNEXT.search(select_text)
        last = max([int(next_match.group(1)) - 1 if next_match else 0, *everything])
        state = {"uidvalidity": uidvalidity, "last_uid": last, "backlog": sorted(backlog)}
        await self.host.set_state(self.state_key, state)
        self.logger.info("IMAP folder %r: %s message(s) to import", self.settings.folder, len(backlog))
        return state

    async def _search(self, client: _Client, criteria: str) -> list[int]:
        response = _check(await client.uid_search(criteria, charset=None), f"UID SEARCH {criteria}")
        uids: list[int] = []
        for line in response.lines:
            if isinstance(line, bytes) and line and line.split()[0].isdigit():
                uids += [int(token) for token in line.split() if token.isdigit()]
        return sorted(set(uids))

    async def _handle(self, client: _Client, uid: int) -> None:
        raw = await self._fetch(client, uid)
        if raw is None:
            self.logger.info("IMAP message UID %s is gone (expunged meanwhile)", uid)
            return
        outcome = await self.deliver(raw)
        self.logger.debug("IMAP UID %s: %s", uid, outcome)
        await self._processed(client, uid)

    async def _fetch(self, client: _Client, uid: int) -> bytes | None:
        response = _check(await client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), f"UID FETCH {uid}")
        lines = response.lines
        for index, line in enumerate(lines):
            if isinstance(line, bytes) and b"FETCH" in line and line.rstrip().endswith(b"}"):
                match = _FETCH_UID.search(line)
                if match and int(match.group(1)) != uid:
                    continue
                literal = lines[index + 1] if index + 1 < len(lines) else None
                if isinstance(literal, (bytes, bytearray)):
                    return bytes(literal)
        return None

    async def _processed(self, client: _Client, uid: int) -> None:
        if self.settings.after_processing == "move":
            target = _quote(self.settings.move_to or "")
            if client.has_capability("MOVE"):
                _check(await client.uid("move", str(uid), target), f"UID MOVE {uid}")
                return
            _check(await client.uid("copy", str(uid), target), f"UID COPY {uid}")
            _check(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Deleted)"), f"UID STORE {uid}")
            if client.has_capability("UIDPLUS"):
                _check(await client.uid("expunge", str(uid)), f"UID EXPUNGE {uid}")
            else:
                _check(await client.expunge(), "EXPUNGE")
        else:
            _check(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"), f"UID STORE {uid}")
