"""Mail loops: recognise automatic mail, and turn bounces into delivery failures.

Automatic mail (out-of-office and other auto-replies, bulk mail, reports, anything from the
null sender) is handed to the host with ``auto_submitted=True``: it never opens or reopens a
ticket, never moves one, and is never answered automatically (RFC 3834). Mailing-list mail
is not automatic: a person wrote it, and a support address behind a Google Group or a list
manager gets ``List-Id`` on every customer's mail. A delivery status notification (RFC 3464:
``multipart/report; report-type=delivery-status``) is no customer's message at all: it
reports on mail we sent, and becomes a status update of that message.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from nexus import DeliveryStatus, StatusUpdate

from nexus_email.thread import normalize_message_id

__all__ = ["AUTOMATIC_SUBJECTS", "auto_submitted_reason", "delivery_reports", "is_report"]

#: Headers whose mere presence marks mail as automatic.
_PRESENCE = ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoreply-From",
             "X-Mail-Autoreply")
#: ``Precedence`` values of automatic mail (``list`` is a person writing through a list).
_BULK_PRECEDENCE = {"bulk", "junk", "auto_reply"}
#: Subject prefixes of out-of-office and other automatic replies, as Outlook, Exchange,
#: Gmail, Apple Mail, Thunderbird and webmail autoresponders write them in English,
#: Portuguese, Spanish, French and German. Only whole phrases followed by a colon, so that a
#: customer's "Auto: ..." (a car, in German) or "Ausência de resposta" is not taken for one.
AUTOMATIC_SUBJECTS = (
    # English
    r"automatic reply", r"auto[- ]?reply", r"auto[- ]?response", r"automatic response",
    r"out of (?:the )?office(?: (?:reply|auto[- ]?reply|notice))?",
    # Portuguese
    r"resposta autom[aá]tica", r"fora do escrit[oó]rio", r"aus[eê]ncia tempor[aá]ria",
    r"mensagem de aus[eê]ncia",
    # Spanish
    r"respuesta autom[aá]tica", r"fuera de la oficina", r"respuesta de fuera de la oficina",
    r"mensaje de ausencia",
    # French
    r"r[ée]ponse automatique", r"absence du bureau", r"absent(?:\(e\)|e)? du bureau",
    r"message d'absence",
    # German
    r"automatische antwort", r"abwesenheitsnotiz", r"automatische abwesenheitsnotiz",
    r"abwesenheitsnachricht", r"automatische antwort bei abwesenheit",
)
_AUTOMATIC_SUBJECT = re.compile(r"^\s*(?:" + "|".join(AUTOMATIC_SUBJECTS) + r")\s*[:：]", re.IGNORECASE)
_NULL_SENDERS = {"", "<>", "mailer-daemon", "postmaster"}

#: RFC 3463 enhanced status codes, for reports without a diagnostic text.
_STATUS_TEXT = {
    "1.0": "Other address status", "1.1": "Bad destination mailbox address",
    "1.2": "Bad destination system address", "1.3": "Bad destination mailbox address syntax",
    "1.6": "Destination mailbox has moved", "2.0": "Other or undefined mailbox status",
    "2.1": "Mailbox disabled, not accepting messages", "2.2": "Mailbox full",
    "2.3": "Message length exceeds administrative limit", "3.4": "Message too big for system",
    "4.0": "Other or undefined network or routing status", "4.1": "No answer from host",
    "4.4": "Unable to route", "4.7": "Delivery time expired", "5.0": "Other or undefined protocol status",
    "7.0": "Other or undefined security status", "7.1": "Delivery not authorized, message refused",
}


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the parser chokes on counts as absent
        return ""
    return str(value or "").strip()


def _local_part(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[0].lower() if "@" in address else address.strip().strip("<>").lower()


def auto_submitted_reason(message: Message, envelope_sender: str | None = None) -> str | None:
    """Why ``message`` is automatic mail, or None when a person sent it.

    :param envelope_sender: the SMTP ``MAIL FROM`` when known (``""`` is the null sender);
        otherwise the ``Return-Path`` header stands in for it.
    """
    auto = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    subject = re.sub(r"\s+", " ", _header(message, "Subject"))
    if not auto and _AUTOMATIC_SUBJECT.match(subject):
        # (An explicit "Auto-Submitted: no" is the sender's word that a person wrote it.)
        return f"subject {subject[:80]!r}"
    for name in _PRESENCE:
        if name in message:
            return f"{name} header"
    precedence = (_header(message, "Precedence") or _header(message, "X-Precedence")).lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if is_report(message):
        return f"{message.get_content_type()} report"
    sender = envelope_sender if envelope_sender is not None else _header(message, "Return-Path") or None
    if sender is not None and _local_part(sender) in _NULL_SENDERS:
        return "null sender" if sender.strip() in ("", "<>") else f"sent by {sender.strip()}"
    author = _header(message, "From")
    if "mailer-daemon@" in author.lower():
        return f"sent by {author}"
    return None


def is_report(message: Message) -> bool:
    """Whether ``message`` is a machine report (a bounce, a read receipt, a feedback report)."""
    return message.get_content_type() == "multipart/report"


def _status_text(status: str, diagnostic: str, action: str) -> str:
    if diagnostic:
        kind, _, text = diagnostic.partition(";")
        return re.sub(r"\s+", " ", text if text and kind.strip().isalpha() else diagnostic).strip()
    detail = _STATUS_TEXT.get(status.split(".", 1)[1] if status.count(".") == 2 else "", "")
    return f"delivery {action}: {status} {detail}".strip()


def _original_message_id(report: EmailMessage) -> str | None:
    """The Message-ID of the mail a report is about: from the returned message or headers,
    else from the report's own In-Reply-To/References."""
    for part in report.iter_parts():
        ctype = part.get_content_type()
        try:
            if ctype in ("message/rfc822", "message/global"):
                inner = part.get_payload()
                inner_message = inner[0] if isinstance(inner, list) and inner else None
                if isinstance(inner_message, Message):
                    found = normalize_message_id(_header(inner_message, "Message-ID"))
                    if found:
                        return found
            elif ctype in ("text/rfc822-headers", "message/global-headers"):
                data = part.get_payload(decode=True) or b""
                headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
                found = normalize_message_id(_header(headers, "Message-ID"))
                if found:
                    return found
        except Exception:  # noqa: BLE001 - a mangled returned message: try the next clue
            continue
    for name in ("In-Reply-To", "References"):
        found = normalize_message_id(_header(report, name))
        if found:
            return found
    return None


def _status_blocks(part: Message) -> list[Message]:
    """The field blocks of a ``message/delivery-status`` part: per-message, then one per
    recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # A part the parser left as text (for example base64-encoded): parse the blocks here.
    data = part.get_payload(decode=True) or b""
    blocks = re.split(rb"\r?\n\s*\r?\n", data.strip())
    return [BytesHeaderParser(policy=default_policy).parsebytes(block + b"\n") for block in blocks if block.strip()]


def delivery_reports(message: EmailMessage) -> list[StatusUpdate] | None:
    """The status updates a DSN reports, or None when ``message`` is no DSN.

    A failed recipient marks the returned message ``failed`` with the enhanced status code and
    the server's diagnostic; a successful delivery marks it ``delivered``; a delay changes
    nothing (the message may still arrive), so it yields no update.
    """
    if not is_report(message) or message.get_param("report-type", "").lower() != "delivery-status":
        return None
    original = _original_message_id(message)
    status_part = next((p for p in message.iter_parts() if p.get_content_type() in
                        ("message/delivery-status", "message/global-delivery-status")), None)
    if status_part is None or original is None:
        return []
    blocks = _status_blocks(status_part)
    recipients = blocks[1:] if len(blocks) > 1 else blocks
    updates: list[StatusUpdate] = []
    for block in recipients:
        action = _header(block, "Action").lower()
        status = _header(block, "Status").split()[0] if _header(block, "Status") else ""
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        diagnostic = _header(block, "Diagnostic-Code")
        meta = {"email": {"dsn": {"action": action, "status": status, "recipient": recipient.partition(";")[2].strip() or recipient,
                                  "diagnostic": diagnostic, "reporting_mta": _header(blocks[0], "Reporting-MTA")}}}
        if action == "failed" or (not action and status.startswith("5")):
            updates.append(StatusUpdate(
                external_id=original, status=DeliveryStatus.FAILED, error_code=status or "bounced",
                error_text=_status_text(status, diagnostic, "failed"), metadata=meta,
            ))
        elif action in ("delivered", "relayed", "expanded"):
            updates.append(StatusUpdate(external_id=original, status=DeliveryStatus.DELIVERED, metadata=meta))
    # One outgoing message has one recipient: its first failure is the one that counts.
    failed = [u for u in updates if u.status == DeliveryStatus.FAILED]
    return failed[:1] or updates[:1]
