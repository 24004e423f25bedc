"""Bytes to text without mojibake, whatever charset a mail client declared (or forgot).

Mail in the wild declares charsets loosely: ``iso-8859-1`` text that uses Windows-1252's curly
quotes, ``shift_jis`` with Microsoft's extensions, ``us-ascii`` over UTF-8 bytes, or no charset
at all. The rules here follow what browsers settled on (the WHATWG encoding standard): decode
with the superset a label really means, and fall back from a wrong label to UTF-8, then to
Windows-1252, which maps every byte.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_bytes", "html_meta_charset", "repair_header"]

#: Labels whose real-world meaning is a superset codec (WHATWG "encoding" table).
SUPERSETS = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
#: Codecs of labels that UTF-8 is often sent under by mistake.
LATIN = {"cp1252", "ascii", "latin_1", "iso8859-15"}
#: Labels that say nothing about the bytes.
UNKNOWN = {"", "unknown", "unknown-8bit", "x-unknown", "default", "charset", "x-user-defined"}

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _codec(label: str | None) -> str | None:
    """The Python codec for a declared charset, or None when it is unknown or meaningless."""
    name = (label or "").strip().strip("\"'").lower()
    if name in UNKNOWN:
        return None
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``data`` that claims to be in charset ``declared``.

    Returns the text and, when the declared charset was wrong or unknown, a note saying which
    one was used instead (for the defects log). Never raises.
    """
    codec = _codec(declared)
    if codec in LATIN and not data.isascii():
        # UTF-8 mislabelled as ASCII or Latin-1 is common; Latin-1 text that happens to be
        # valid UTF-8 practically never is.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return text, f"declared charset {declared!r} did not fit; decoded as utf-8"
    if codec is not None:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            pass
    if codec is None and data.isascii():
        return data.decode("ascii"), None
    for fallback in ("utf-8", "cp1252"):
        if fallback == codec:
            continue
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        return text, f"declared charset {declared!r} did not fit; decoded as {fallback}"
    # cp1252 leaves five bytes undefined: keep everything else readable.
    return data.decode(codec or "utf-8", errors="replace"), f"undecodable bytes in charset {declared!r} replaced"


def html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a ``<meta>`` tag, if any."""
    match = _META.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def repair_header(value: str) -> str:
    """Undo raw 8-bit bytes in a header (sent without RFC 2047 encoding), which the parser
    keeps as surrogate escapes or U+FFFD: decode them as UTF-8, else Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", errors="surrogateescape")
    text, _ = decode_bytes(raw, "utf-8")
    return text
