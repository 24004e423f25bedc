"""Inbound files: ``getFile``, then the download, within the Bot API's size limit.

A file that cannot be had for good (too large, no longer on Telegram's servers) becomes an
attachment without data and with a note saying why, so the message is stored with a visible
placeholder. A transient failure (network, 5xx, flood control) raises instead: the update is
then processed again later and nothing is lost.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound
from aiohttp import ClientResponseError

from nexus import InboundAttachment

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a message carries, as Telegram describes it."""

    file_id: str
    filename: str
    content_type: str | None = None
    size: int | None = None


class FileTooLarge(Exception):
    """A download went past the size limit (the file was bigger than Telegram said)."""


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


class MediaFetcher:
    """Downloads the files of inbound messages through one bot."""

    def __init__(self, bot: Bot, *, max_size: int, timeout: float) -> None:
        self.bot = bot
        self.max_size = max_size
        self.timeout = timeout

    async def fetch(self, ref: FileRef) -> InboundAttachment:
        content_type = ref.content_type
        if ref.size is not None and ref.size > self.max_size:
            return self._placeholder(ref, content_type, self._too_large(ref.size))
        try:
            file = await self.bot.get_file(ref.file_id)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            # "file is too big" above the limit, or a file Telegram no longer has.
            if "too big" in exc.message:
                return self._placeholder(ref, content_type, self._too_large(None))
            return self._placeholder(
                ref, content_type, f"Telegram did not provide this file: {exc.message}"
            )
        if file.file_path:
            # A thumbnail's format shows only in its path: name it and type it from there.
            suffix = PurePosixPath(file.file_path).suffix
            if suffix and not PurePosixPath(ref.filename).suffix:
                ref = replace(ref, filename=ref.filename + suffix)
            content_type = content_type or mimetypes.guess_type(file.file_path)[0]
        if file.file_size is not None and file.file_size > self.max_size:
            return self._placeholder(ref, content_type, self._too_large(file.file_size))
        if not file.file_path:
            return self._placeholder(
                ref, content_type, "Telegram did not provide this file for download"
            )
        try:
            data = await self._download(file.file_path)
        except FileTooLarge:
            return self._placeholder(ref, content_type, self._too_large(None))
        except ClientResponseError as exc:
            if exc.status not in (400, 403, 404):
                raise
            return self._placeholder(
                ref, content_type, f"Telegram did not provide this file: HTTP {exc.status}"
            )
        return InboundAttachment(
            filename=ref.filename, content_type=content_type or DEFAULT_CONTENT_TYPE, data=data
        )

    async def _download(self, file_path: str) -> bytes:
        """The file's bytes, streamed and cut off above :attr:`max_size`."""
        session = self.bot.session
        url = session.api.file_url(self.bot.token, file_path)
        data = bytearray()
        async for chunk in session.stream_content(
            url, timeout=int(self.timeout), raise_for_status=True
        ):
            data += chunk
            if len(data) > self.max_size:
                raise FileTooLarge
        return bytes(data)

    def _too_large(self, size: int | None) -> str:
        given = f" ({megabytes(size)})" if size is not None else ""
        return (
            f"File not stored: it is larger{given} than the {megabytes(self.max_size)} a bot "
            "may download from Telegram's Bot API. Ask the contact to send it another way."
        )

    @staticmethod
    def _placeholder(ref: FileRef, content_type: str | None, note: str) -> InboundAttachment:
        return InboundAttachment(
            filename=ref.filename,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            data=None,
            note=note,
        )
