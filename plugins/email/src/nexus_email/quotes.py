"""Collapse the quoted history of a reply, so agents see what the customer just wrote.

A reply usually carries the whole conversation below an attribution ("On Mon, Jan 5, 2026 at
10:00 Jane <jane@example.com> wrote:"), an Outlook header block ("From: ... Sent: ...") or a
separator ("-----Original Message-----"), or as a trailing block of ``>`` lines. Everything from
the first such marker on is history. Quotes *between* the customer's own lines (an inline
answer) are context and stay. Nothing is collapsed when it would leave no text at all.
"""

from __future__ import annotations

import re

__all__ = ["split_quoted"]

#: "On <date>, <name> wrote:" in the languages mail clients localise it to.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{3,}\bwrote\s*:"               # English (Gmail, Apple Mail, Thunderbird)
    r"|Am\b.{3,}\bschrieb\b.*:"            # German
    r"|Le\b.{3,}\ba\s+écrit\s*:"           # French
    r"|El\b.{3,}\bescribió\s*:"            # Spanish
    r"|Op\b.{3,}\bschreef\b.*:"            # Dutch
    r"|Il\b.{3,}\bha\s+scritto\s*:"        # Italian
    r"|Em\b.{3,}\bescreveu\s*:"            # Portuguese
    r"|Den\b.{3,}\bskrev\b.*:"             # Scandinavian
    r"|W\s+dniu\b.{3,}\bpisze\s*:"         # Polish
    r"|.*[@\d].*\s(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu|skrev)\s*:"  # "<a@b> wrote:"
    r")\s*$",
    re.IGNORECASE,
)
#: Separators that Outlook, Lotus and others put above the quoted message.
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Oorspronkelijk bericht|Messaggio originale|Mensagem original|Originalmeddelande)\s*-{2,}"
    r"|_{20,})\s*$",
    re.IGNORECASE,
)
#: The first two lines of an Outlook header block: "From:" then "Sent:"/"Date:".
_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da|Från|Fra)\s*:\*?\s+\S", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato|Skickat|Sendt)\s*:\*?\s", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")


def _marker(lines: list[str], index: int) -> bool:
    """Whether ``lines[index]`` starts the quoted history."""
    line = lines[index]
    if _SEPARATOR.match(line):
        return True
    if _ATTRIBUTION.match(line):
        return True
    # Gmail wraps a long attribution over two lines.
    if index + 1 < len(lines) and line.strip() and _ATTRIBUTION.match(line.rstrip() + " " + lines[index + 1].strip()):
        return line.lstrip().split(" ", 1)[0].lower() in {"on", "am", "le", "el", "op", "il", "em", "den", "w"}
    if _FROM.match(line):
        following = [candidate for candidate in lines[index + 1: index + 4] if candidate.strip()]
        return any(_SENT.match(candidate) for candidate in following[:2])
    return False


def split_quoted(text: str) -> tuple[str, str]:
    """``(visible, history)``: the customer's new text and the quoted history below it.
    ``history`` is empty when nothing was collapsed."""
    lines = text.splitlines()
    cut = None
    for index in range(len(lines)):
        if _marker(lines, index):
            cut = index
            break
    if cut is None:
        # A trailing block of ">" lines (and the blank lines around it).
        end = len(lines)
        while end and not lines[end - 1].strip():
            end -= 1
        start = end
        while start and (_QUOTED.match(lines[start - 1]) or not lines[start - 1].strip()):
            start -= 1
        if start < end and any(_QUOTED.match(line) for line in lines[start:end]):
            cut = start
    if cut is None:
        return text.strip("\n"), ""
    visible = "\n".join(lines[:cut]).rstrip()
    if not visible.strip():
        return text.strip("\n"), ""
    return visible.strip("\n"), "\n".join(lines[cut:]).strip("\n")
