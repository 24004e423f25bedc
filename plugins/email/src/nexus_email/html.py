"""HTML in mail: sanitise what customers send, turn HTML into readable text, and text into
HTML for outgoing mail."""

from __future__ import annotations

import html as htmllib
import re
from html.parser import HTMLParser

import nh3

__all__ = ["html_to_text", "sanitize_html", "text_to_html"]

#: Tags kept in the safe copy: ammonia's defaults plus the layout tags mail clients use.
TAGS = set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}
ATTRIBUTES = {
    **{tag: set(values) for tag, values in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "dir", "lang", "title"},
    "font": {"color", "face", "size"},
    "td": {"align", "valign", "colspan", "rowspan", "width", "height", "bgcolor"},
    "th": {"align", "valign", "colspan", "rowspan", "width", "height", "bgcolor", "scope"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing", "bgcolor"},
    "tr": {"align", "valign", "bgcolor"},
    "img": {"src", "alt", "width", "height", "align", "title"},
    "a": {"href", "hreflang", "title"},
}
#: CSS properties kept in style attributes: presentation only, nothing that positions content
#: over the agent's interface or loads anything.
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "text-indent", "text-transform", "vertical-align", "white-space",
    "line-height", "letter-spacing", "direction", "width", "max-width", "height", "border",
    "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-collapse", "border-spacing", "border-radius", "margin", "margin-top",
    "margin-right", "margin-bottom", "margin-left", "padding", "padding-top", "padding-right",
    "padding-bottom", "padding-left", "list-style-type",
}
#: ``cid:`` keeps inline images pointing at their attachment (by Content-ID).
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def sanitize_html(html: str) -> str:
    """A copy of ``html`` that is safe to show in the agents' interface."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    ).strip()


BLOCK = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tr", "ul",
}
SKIP = {"head", "script", "style", "title", "template", "noscript"}


class _TextExtractor(HTMLParser):
    """HTML to plain text: blocks become lines, blockquotes become ``>`` quotes, links keep
    their target."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.links: list[tuple[str, int]] = []

    def _flush(self, blank: bool = False) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()
        self.current = []
        prefix = "> " * self.quote
        for line in text.split("\n") if text else []:
            self.lines.append((prefix + line).rstrip())
        if blank and self.lines and self.lines[-1].strip(" >"):
            self.lines.append(prefix.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            if self.current and "".join(self.current).strip():
                self._flush()
            else:
                self.current = []
                self.lines.append(("> " * self.quote).rstrip())
        elif tag == "blockquote":
            self._flush(blank=True)
            self.quote += 1
        elif tag in BLOCK:
            self._flush(blank=tag in ("p", "table", "hr", "h1", "h2", "h3"))
            if tag == "li":
                self.current.append("- ")
            elif tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href, len("".join(self.current))))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
            self._flush(blank=True)
        elif tag in BLOCK:
            self._flush(blank=tag in ("p", "table", "h1", "h2", "h3"))
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.current)[start:].strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if href.lower().startswith(("http:", "https:", "mailto:")) and target not in label:
                self.current.append(f" <{target}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data.replace("\xa0", " "))

    def text(self) -> str:
        self._flush()
        lines: list[str] = []
        for line in self.lines:
            if not line.strip(" >") and lines and not lines[-1].strip(" >"):
                continue  # one blank line between blocks is enough
            lines.append(line)
        return "\n".join(lines).strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001 - html.parser copes with nearly anything; this is the rest
        return re.sub(r"<[^>]+>", " ", html)
    return extractor.text()


def text_to_html(text: str) -> str:
    """Plain text as simple HTML: paragraphs, line breaks and links."""
    paragraphs = re.split(r"\n\s*\n", text.strip("\n"))
    out = []
    for paragraph in paragraphs:
        escaped = htmllib.escape(paragraph)
        escaped = re.sub(r"(https?://[^\s<>&]+(?:&amp;[^\s<>&]+)*)", r'<a href="\1">\1</a>', escaped)
        out.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return '<div dir="auto">\n' + "\n".join(out) + "\n</div>"
