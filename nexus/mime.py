"""What a file's content type and name may look like, wherever they enter or leave.

A content type travels into HTTP headers (a provider's upload, an attachment download) and
MIME parts; one with a line break or another control character can never be sent, so it is
refused where it enters and replaced where it leaves.
"""

from __future__ import annotations

import re

_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
CONTENT_TYPE = re.compile(
    rf"^{_TOKEN}/{_TOKEN}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:\"[^\"\x00-\x1f\x7f]*\"|[A-Za-z0-9!#$&^_.+-]+))*$"
)
CONTENT_TYPE_PATTERN = CONTENT_TYPE.pattern
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FALLBACK = "application/octet-stream"


def valid_content_type(value: str) -> bool:
    """``type/subtype`` with optional parameters, and no control characters."""
    return bool(CONTENT_TYPE.match(value))


def safe_content_type(value: str | None) -> str:
    """``value`` if it is a valid content type, else ``application/octet-stream``."""
    return value if value and valid_content_type(value) else FALLBACK


def valid_filename(value: str) -> bool:
    """A file name that is not blank and has no control characters (storage makes its own
    safe name; this is about the name shown and sent)."""
    return bool(value.strip()) and not _CONTROL.search(value)
