"""Inline images of inbound HTML: ``cid:`` references (RFC 2392) pointed at the stored files.

An HTML mail shows its embedded images as ``<img src="cid:part1.abc@example.com">``, naming
the Content-ID of a file that came with it. Once the files are stored, each reference is
rewritten to the file's download URL, and the file is marked inline: it belongs in the body,
not in the list of attachments.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

__all__ = ["is_referenced", "referenced_content_ids", "resolve_cid_references"]

_CID = re.compile(r"\bcid:([^\"'\s)>]+)", re.IGNORECASE)


def _normal(content_id: str) -> str:
    return urllib.parse.unquote(content_id).strip().strip("<>").lower()


def referenced_content_ids(html: str | None) -> set[str]:
    """The Content-IDs that ``html`` refers to, normalised (unquoted, lower-case)."""
    return {_normal(match) for match in _CID.findall(html or "")}


def is_referenced(content_id: str | None, referenced: Iterable[str]) -> bool:
    return content_id is not None and _normal(content_id) in set(referenced)


def resolve_cid_references(html: str, urls: Mapping[str, str]) -> str:
    """``html`` with each ``cid:`` reference to a key of ``urls`` (a Content-ID) replaced by
    its URL; references to unknown Content-IDs are left as they are."""
    by_id = {_normal(content_id): url for content_id, url in urls.items()}

    def replace(match: re.Match[str]) -> str:
        return by_id.get(_normal(match.group(1)), match.group(0))

    return _CID.sub(replace, html)
