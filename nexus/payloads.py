"""How a raw inbound payload is kept in the database, byte for byte.

A provider's body is usually UTF-8 text and is stored as such, readable in
``GET /api/v1/inbound-events/{id}``. A body that is not UTF-8, or holds a NUL byte (which
PostgreSQL refuses in text), is stored base64-encoded instead, so that every signed payload is
kept exactly as it arrived, whatever it holds.

On the event loop, use :func:`encode_payload_async` and :func:`decode_payload_async`: on a
large body (a webhook may have megabytes) they work in a thread, a piece at a time, so that
the loop is never held for long.
"""

from __future__ import annotations

import binascii
import codecs

from nexus.offload import CHUNK, b64decode, b64encode, off_loop

__all__ = ["BASE64", "UTF8", "decode_payload", "decode_payload_async", "encode_payload", "encode_payload_async"]

UTF8 = "utf-8"
BASE64 = "base64"


def encode_payload(payload: bytes) -> tuple[str, str]:
    """The text to store for ``payload`` and its encoding, :data:`UTF8` or :data:`BASE64`."""
    text = _as_text(payload)
    if text is not None:
        return text, UTF8
    return b64encode(payload).decode("ascii"), BASE64


def _as_text(payload: bytes) -> str | None:
    """``payload`` as UTF-8 text without NUL, decoded a :data:`~nexus.offload.CHUNK` at a time;
    None when it is not such text."""
    if len(payload) <= CHUNK:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return None if "\x00" in text else text
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(payload)
    parts = []
    try:
        for i in range(0, len(view), CHUNK):
            part = decoder.decode(view[i:i + CHUNK])
            if "\x00" in part:
                return None
            parts.append(part)
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return None
    return "".join(parts)


def decode_payload(text: str, encoding: str | None) -> bytes:
    """The exact bytes that :func:`encode_payload` stored as ``text``."""
    if encoding == BASE64:
        try:
            return b64decode(text)
        except binascii.Error as exc:
            raise ValueError(f"a stored payload marked base64 is not base64: {exc}") from None
    return text.encode("utf-8")


async def encode_payload_async(payload: bytes) -> tuple[str, str]:
    """:func:`encode_payload`, in a worker thread when ``payload`` is large."""
    return await off_loop(len(payload), encode_payload, payload)


async def decode_payload_async(text: str, encoding: str | None) -> bytes:
    """:func:`decode_payload`, in a worker thread when ``text`` is large."""
    return await off_loop(len(text), decode_payload, text, encoding)
