"""Raw RFC 5322 mail to an :class:`~nexus.InboundMessage`.

Parsing is best-effort and never raises on bad input: mail without a Date, with a broken
MIME boundary or truncated base64 is stored with what could be read, and every problem is
listed in ``metadata["email"]["defects"]`` (and logged by the channel).

One message gives one body. The plain-text alternative is preferred; HTML-only mail is turned
into text. A sanitised copy of the HTML, when there is one, goes to ``html``. Images that the
HTML shows by ``cid:`` reference keep their Content-ID (inline images); everything else is a
regular attachment.
"""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import errors as email_errors
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from nexus import Identity, InboundAttachment, InboundMessage

from nexus_email.charsets import decode_bytes, html_meta_charset, repair_header
from nexus_email.html import html_to_text, sanitize_html
from nexus_email.loops import auto_submitted_reason
from nexus_email.quotes import split_quoted
from nexus_email.thread import message_ids, normalize_message_id, ticket_token

__all__ = ["Sender", "author_of", "external_id_of", "header_text", "parse_bytes", "parse_leniently", "sender_of",
           "to_inbound"]

#: Dates further ahead than this are a sender's broken clock (noted among the defects).
MAX_CLOCK_SKEW = timedelta(hours=12)
MISSING_ID_DOMAIN = "message-id.invalid"
_SIGNATURE_TYPES = {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw mail with the modern policy. The parser itself does not raise on bad mail;
    it records defects (but see :func:`parse_leniently`)."""
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def parse_leniently(raw: bytes) -> tuple[EmailMessage, bool]:
    """The parsed mail, and True; or, for mail the parser itself chokes on (MIME parts nested
    thousands deep exhaust its recursion), its headers alone and False."""
    try:
        return parse_bytes(raw), True
    except Exception:  # noqa: BLE001 - RecursionError and whatever else a hostile structure causes
        message = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return message, False


# --- Headers ---------------------------------------------------------------------------


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", "")


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words in a raw value (the fallback when the parser gave up)."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - an unknown charset or a broken encoded word
        return value


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return _unfold(str(value))
    return None


def header_text(message: Message, name: str) -> str:
    """A header's decoded text: RFC 2047 words (also several on folded lines) and raw 8-bit
    bytes decoded, whitespace of folding collapsed. Empty when absent."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - the parser's header classes can choke on odd values
        raw = _raw_header(message, name)
        text = _decode_words(raw) if raw else ""
    return re.sub(r"\s+", " ", repair_header(text)).strip()


@dataclass(frozen=True)
class Sender:
    address: str
    name: str | None = None

    def identity(self) -> Identity:
        local, _, domain = self.address.rpartition("@")
        address = f"{local}@{domain.lower()}" if local else self.address
        return Identity(address=address, key=address.lower(), display_name=self.name or None, email=address)

    def json(self) -> dict[str, str | None]:
        return {"address": self.address, "name": self.name}


def _addresses(message: Message, name: str) -> list[Sender]:
    found: list[Sender] = []
    try:
        header = message.get(name)
        pairs = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())] if header is not None else []
    except Exception:  # noqa: BLE001
        pairs = []
    if not pairs:
        raw = _raw_header(message, name)
        pairs = getaddresses([_decode_words(raw)]) if raw else []
    for display, address in pairs:
        address = repair_header(address or "").strip().strip("<>")
        if "@" in address and not any(ch.isspace() for ch in address):
            display = re.sub(r"\s+", " ", repair_header(display or "")).strip().strip('"').strip() or None
            found.append(Sender(address, display if display != address else None))
    return found


def author_of(message: Message) -> Sender | None:
    """The From address (who wrote the mail, whatever its Reply-To says)."""
    found = _addresses(message, "From")
    return found[0] if found else None


def sender_of(message: Message, envelope_sender: str | None = None) -> Sender | None:
    """Who a reply goes to: the Reply-To when it names one address, else the From (the
    Sender, then the envelope sender, when From is missing or unreadable)."""
    reply_to = _addresses(message, "Reply-To")
    if len(reply_to) == 1:
        from_ = _addresses(message, "From")
        name = reply_to[0].name or (from_[0].name if from_ else None)
        return Sender(reply_to[0].address, name)
    for header in ("From", "Sender"):
        found = _addresses(message, header)
        if found:
            return found[0]
    for candidate in (envelope_sender, _raw_header(message, "Return-Path")):
        address = (candidate or "").strip().strip("<>")
        if "@" in address:
            return Sender(address)
    return None


def _date(message: Message, defects: list[str]) -> datetime | None:
    raw = header_text(message, "Date")
    if not raw:
        defects.append("no Date header")
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        defects.append(f"unreadable Date header {raw!r}")
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > datetime.now(UTC) + MAX_CLOCK_SKEW:
        # Kept: it is what the sender's clock said. Nexus sorts by when it received the mail.
        defects.append(f"Date header {raw!r} is in the future: the sender's clock is wrong")
    return when


# --- Parts -----------------------------------------------------------------------------

_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_CONTINUATION = re.compile(r"^(?P<name>[^*]+)\*(?P<index>\d+)(?P<encoded>\*)?$")


def _params(value: str | None) -> dict[str, str]:
    """The parameters of a raw structured header, names lower-cased, quotes removed."""
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(value or ""):
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(name.lower(), raw)
    return params


def _rfc2231(params: dict[str, str], name: str) -> str | None:
    """The RFC 2231 value of ``name*`` or its ``name*0*``, ``name*1`` ... continuations."""
    segments: list[tuple[int, str, bool]] = []
    if f"{name}*" in params:
        segments.append((0, params[f"{name}*"], True))
    for key, value in params.items():
        match = _CONTINUATION.match(key)
        if match and match.group("name") == name:
            segments.append((int(match.group("index")), value, bool(match.group("encoded"))))
    if not segments:
        return None
    segments.sort(key=lambda s: s[0])
    charset = "utf-8"
    data = b""
    for position, (_, value, encoded) in enumerate(segments):
        if encoded:
            if position == 0 and value.count("'") >= 2:
                charset, _, value = value.split("'", 2)
            data += urllib.parse.unquote_to_bytes(value)
        else:
            data += value.encode("utf-8", errors="surrogateescape")
    text, _ = decode_bytes(data, charset or "utf-8")
    return text


def _clean_filename(name: str) -> str:
    name = repair_header(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".") if name.strip(".") else ""
    return name[:255]


def filename_of(part: Message) -> str | None:
    """An attachment's filename. RFC 2231 ``filename*`` (and ``name*``) win over the plain
    parameters, whose RFC 2047 encoded words are decoded."""
    disposition = _params(_raw_header(part, "Content-Disposition"))
    content_type = _params(_raw_header(part, "Content-Type"))
    for candidate in (_rfc2231(disposition, "filename"), _rfc2231(content_type, "name"),
                      disposition.get("filename"), content_type.get("name")):
        if candidate:
            cleaned = _clean_filename(_decode_words(candidate) if "=?" in candidate else candidate)
            if cleaned:
                return cleaned
    return None


def _lenient_base64(text: str) -> bytes:
    """What can be read of truncated or damaged base64."""
    alphabet = re.sub(r"[^A-Za-z0-9+/]", "", text)
    remainder = len(alphabet) % 4
    if remainder == 1:
        alphabet = alphabet[:-1]
    elif remainder:
        alphabet += "=" * (4 - remainder)
    try:
        return binascii.a2b_base64(alphabet)
    except binascii.Error:
        return b""


def _payload(part: Message, defects: list[str]) -> bytes:
    """A leaf part's decoded bytes (base64 and quoted-printable undone)."""
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        defects.append(f"{part.get_content_type()} part could not be decoded: {exc}")
        data = None
    if any(isinstance(d, email_errors.InvalidBase64LengthDefect) for d in part.defects):
        # The parser hands back the encoded text in this case: decode what there is.
        raw = part.get_payload(decode=False)
        data = _lenient_base64(raw if isinstance(raw, str) else "")
        defects.append(f"{part.get_content_type()} part: truncated base64, {len(data)} bytes recovered")
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""
    return data


def _text_of(part: Message, defects: list[str]) -> str:
    data = _payload(part, defects)
    declared = part.get_param("charset")
    charset = declared if isinstance(declared, str) else None
    if charset is None and part.get_content_subtype() == "html":
        charset = html_meta_charset(data)
    text, note = decode_bytes(data, charset)
    if note:
        defects.append(f"{part.get_content_type()} part: {note}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _content_id(part: Message) -> str | None:
    value = header_text(part, "Content-ID")
    value = value.strip().strip("<>").strip()
    return value or None


@dataclass
class _File:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    files: list[_File] = field(default_factory=list)

    def merge(self, other: _Body) -> None:
        self.texts += other.texts
        self.htmls += other.htmls
        self.files += other.files


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or filename_of(part) is not None


def _file(part: Message, defects: list[str], index: int) -> _File | None:
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        try:
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else _payload(part, defects)
        except Exception:  # noqa: BLE001 - a forwarded message too broken to re-serialise
            data = str(inner[0]).encode("utf-8", errors="surrogateescape") if isinstance(inner, list) and inner else b""
        subject = header_text(inner[0], "Subject") if isinstance(inner, list) and inner else ""
        name = filename_of(part) or (_clean_filename(subject) + ".eml" if _clean_filename(subject) else None)
    else:
        data = _payload(part, defects)
        name = filename_of(part)
    if not data and name is None:
        return None  # an empty part, such as the one a broken boundary leaves behind
    if name is None:
        extension = mimetypes.guess_extension(ctype) or ".bin"
        name = f"{'image' if ctype.startswith('image/') else 'attachment'}-{index}{extension}"
    return _File(name, ctype, data, _content_id(part))


_BOUNDARY_LINE = re.compile(rb"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.MULTILINE)


def _recover_multipart(part: Message, defects: list[str], counter: list[int]) -> _Body:
    """A multipart part the parser could not split (its boundary missing, or not the one its
    parts use): split it at the delimiter lines it really has, or else keep its body as text.
    Its text must never end up as an opaque attachment."""
    ctype = part.get_content_type()
    raw = part.get_payload(decode=False)
    data = raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""
    declared = part.get_param("boundary")
    found = _BOUNDARY_LINE.search(data)
    if found:
        token = found.group(1).decode("ascii")
        boundary = token[:-2] if token.endswith("--") and len(token) > 2 else token  # "--b--" closes
        rebuilt = parse_bytes(f'Content-Type: {ctype}; boundary="{boundary}"\r\n\r\n'.encode() + data)
        if rebuilt.is_multipart() and rebuilt.get_payload():
            defects.append(f"{ctype}: boundary {declared!r} not found; split at the parts' own {boundary!r}")
            return _walk(rebuilt, defects, counter)
    charset = part.get_param("charset")
    text, _ = decode_bytes(data, charset if isinstance(charset, str) else None)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    defects.append(f"{ctype} without readable parts; its body kept as text")
    body = _Body()
    if re.search(r"<(?:html|body|div|p|br)\b", text, re.IGNORECASE):
        body.htmls.append(text)
    elif text.strip():
        body.texts.append(text)
    return body


def _walk(part: Message, defects: list[str], counter: list[int]) -> _Body:
    body = _Body()
    ctype = part.get_content_type()
    if part.get_content_maintype() == "multipart" and not part.is_multipart():
        return _recover_multipart(part, defects, counter)
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)] if isinstance(part.get_payload(), list) else []
        subtype = part.get_content_subtype()
        if subtype == "alternative":
            walked = [_walk(child, defects, counter) for child in children]
            with_text = [w for w in walked if w.texts]
            with_html = [w for w in walked if w.htmls]
            body.texts = with_text[0].texts if with_text else []  # the simplest text version
            body.htmls = with_html[-1].htmls if with_html else []  # the richest HTML version
            for w in walked:
                body.files += w.files
        elif subtype == "related" and children:
            start = part.get_param("start")
            root = next((c for c in children if isinstance(start, str) and _content_id(c) == start.strip("<>")), children[0])
            body.merge(_walk(root, defects, counter))
            for child in children:
                if child is root:
                    continue
                if child.is_multipart():
                    body.files += _walk(child, defects, counter).files
                else:
                    counter[0] += 1
                    resource = _file(child, defects, counter[0])
                    if resource is not None:
                        body.files.append(resource)
        elif subtype == "signed" and children:
            body.merge(_walk(children[0], defects, counter))
            for child in children[1:]:
                if child.get_content_type() not in _SIGNATURE_TYPES:
                    body.merge(_walk(child, defects, counter))
        else:  # mixed, report, digest and anything unknown: every part in turn
            for child in children:
                body.merge(_walk(child, defects, counter))
        return body

    if ctype in ("text/plain", "text/html") and not _is_attachment(part):
        text = _text_of(part, defects)
        (body.texts if ctype == "text/plain" else body.htmls).append(text)
        return body
    counter[0] += 1
    leaf = _file(part, defects, counter[0])
    if leaf is not None:
        body.files.append(leaf)
    return body


# --- The message -----------------------------------------------------------------------


def _collect_defects(message: Message) -> list[str]:
    found = []
    for part in message.walk():
        for defect in part.defects:
            name = type(defect).__name__
            detail = str(defect)
            found.append(f"{part.get_content_type()}: {name}" + (f" ({detail})" if detail and detail != name else ""))
    return found


def external_id_of(message: Message, raw: bytes) -> str:
    """The message's id for the host: its Message-ID, or a digest of the raw bytes when it
    has none (so that a redelivery still deduplicates)."""
    found = normalize_message_id(header_text(message, "Message-ID"))
    if found:
        return found
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@{MISSING_ID_DOMAIN}>"


def to_inbound(message: EmailMessage, raw: bytes, *, envelope_sender: str | None = None) -> InboundMessage:
    """The :class:`InboundMessage` for ``message`` (``raw`` is its exact bytes)."""
    defects = _collect_defects(message)
    counter = [0]
    try:
        body = _walk(message, defects, counter)
    except Exception as exc:  # noqa: BLE001 - a structure no walk foresaw: keep the raw mail
        defects.append(f"MIME structure unreadable ({type(exc).__name__}: {exc}); raw message attached")
        body = _Body(files=[_File("message.eml", "message/rfc822", raw, None)])

    html_source = "\n".join(body.htmls).strip()
    safe_html = sanitize_html(html_source) if html_source else None
    text = "\n\n".join(t.strip("\n") for t in body.texts if t.strip()).strip("\n")
    if not text and html_source:
        text = html_to_text(html_source)
    visible, quoted = split_quoted(text)

    referenced = {m.lower() for m in re.findall(r"cid:([^\"'\s)>]+)", html_source, flags=re.IGNORECASE)}
    referenced |= {urllib.parse.unquote(m) for m in referenced}
    attachments = []
    for file in body.files:
        inline = file.content_id is not None and file.content_id.lower() in referenced
        attachments.append(InboundAttachment(
            filename=file.filename, content_type=file.content_type, data=file.data,
            content_id=file.content_id if inline else None,
        ))

    sender = sender_of(message, envelope_sender)
    if sender is None:
        defects.append("no sender address (From, Sender, Reply-To, Return-Path)")
        sender = Sender("unknown-sender@invalid", "Unknown sender")
    in_reply_to = message_ids(header_text(message, "In-Reply-To"))
    references = message_ids(header_text(message, "References"))
    thread_keys = list(dict.fromkeys([*references, *in_reply_to]))
    subject = header_text(message, "Subject") or None
    auto = auto_submitted_reason(message, envelope_sender)
    sent_at = _date(message, defects)

    meta: dict[str, Any] = {
        "message_id": normalize_message_id(header_text(message, "Message-ID")),
        "from": header_text(message, "From") or None,
        "to": [s.json() for s in _addresses(message, "To")],
        "cc": [s.json() for s in _addresses(message, "Cc")],
        "date": header_text(message, "Date") or None,
        "in_reply_to": in_reply_to[0] if in_reply_to else None,
        "references": references,
    }
    if envelope_sender is not None:
        meta["envelope_sender"] = envelope_sender
    if quoted:
        meta["quoted_text"] = quoted
    if auto:
        meta["auto_submitted"] = auto
    if defects:
        meta["defects"] = defects[:50]

    return InboundMessage(
        external_id=external_id_of(message, raw),
        sender=sender.identity(),
        text=visible or None,
        html=safe_html or None,
        subject=subject,
        attachments=attachments,
        reply_to=in_reply_to[0] if in_reply_to else None,
        thread_keys=thread_keys,
        ticket_hint=ticket_token(subject),
        sent_at=sent_at,
        auto_submitted=auto is not None,
        metadata={"email": {k: v for k, v in meta.items() if v not in (None, [], "")}},
    )
