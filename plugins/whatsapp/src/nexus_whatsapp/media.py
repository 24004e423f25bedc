"""Fetching an inbound message's file: look its media id up, download it with the bearer
token, and check it against the SHA-256 Meta reported."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import aiohttp

from nexus import InboundAttachment
from nexus.offload import off_loop
from nexus_whatsapp.errors import GraphAPIError, Outcome
from nexus_whatsapp.graph import GraphClient
from nexus_whatsapp.inbound import MediaRef

ATTEMPTS = 3
BACKOFF = 0.5


class MediaIntegrityError(Exception):
    """The downloaded bytes do not match the SHA-256 Meta reported."""


def matches(data: bytes, sha256: str | None) -> bool:
    """Whether ``data`` has the digest Meta reported. Meta sends it base64-encoded; a hex digest
    is accepted too."""
    if not sha256:
        return True
    digest = hashlib.sha256(data).digest()
    return sha256.strip() in (base64.b64encode(digest).decode(), digest.hex())


async def fetch_attachment(graph: GraphClient, ref: MediaRef) -> InboundAttachment:
    """The file as an attachment, keeping its filename.

    Transient failures (network, 5xx, rate limits, a corrupt download) are retried a few
    times and then raised, so the webhook payload is kept as failed and can be replayed while
    Meta still has the file (30 days). A file Meta refuses for good (deleted, expired) becomes
    a visible placeholder instead.
    """
    attempt = 1
    while True:
        try:
            info = await graph.media_info(ref.media_id)
            data = await graph.download(info.url)
            # Hashing megabytes takes milliseconds: a large file is checked in a thread.
            if not await off_loop(len(data), matches, data, ref.sha256 or info.sha256):
                raise MediaIntegrityError(
                    f"media {ref.media_id}: the download does not match its SHA-256"
                )
            return InboundAttachment(
                filename=ref.filename,
                content_type=ref.mime_type or info.mime_type or "application/octet-stream",
                data=data,
            )
        except GraphAPIError as exc:
            if exc.outcome is Outcome.PERMANENT:
                return InboundAttachment(
                    filename=ref.filename,
                    content_type=ref.mime_type,
                    note=f"WhatsApp could not provide this file: {exc}",
                )
            if exc.outcome is Outcome.AUTH or attempt >= ATTEMPTS:
                raise
        except (aiohttp.ClientError, TimeoutError, MediaIntegrityError):
            if attempt >= ATTEMPTS:
                raise
        await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
        attempt += 1
