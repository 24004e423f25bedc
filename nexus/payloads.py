"""How a raw inbound payload is kept in the database, byte for byte.

A provider's body is usually UTF-8 text and is stored as such, readable in
``GET /api/v1/inbound-events/{id}``. A body that is not UTF-8, or holds a NUL byte (which
PostgreSQL refuses in text), is stored base64-encoded instead, so that every signed payload is
kept exactly as it arrived, whatever it holds.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["BASE64", "UTF8", "decode_payload", "encode_payload"]

UTF8 = "utf-8"
BASE64 = "base64"


def encode_payload(payload: bytes) -> tuple[str, str]:
    """The text to store for ``payload`` and its encoding, :data:`UTF8` or :data:`BASE64`."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, UTF8
    return base64.b64encode(payload).decode("ascii"), BASE64


def decode_payload(text: str, encoding: str | None) -> bytes:
    """The exact bytes that :func:`encode_payload` stored as ``text``."""
    if encoding == BASE64:
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"a stored payload marked base64 is not base64: {exc}") from None
    return text.encode("utf-8")
