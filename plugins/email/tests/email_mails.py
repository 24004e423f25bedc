"""Test mail in the shapes real clients produce: Gmail, Outlook, Apple Mail and Thunderbird,
plus auto-replies, bounces and broken mail. Each builder returns the exact bytes on the wire
(CRLF line ends), with the Message-ID and threading headers the test needs."""

from __future__ import annotations

import base64
import quopri
from email.header import Header

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JAPANESE_SUBJECT = "ご注文の商品がまだ届いていません（注文番号１２３４５）"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def crlf(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def threading_headers(in_reply_to: str | None, references: list[str] | None) -> str:
    lines = []
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append("References: " + "\n ".join(references))
    return "\n".join(lines) + ("\n" if lines else "")


def gmail(*, message_id: str = "<CAFx7Yq1mP0gK3tz=Hq2B@mail.gmail.com>", sender: str = "jane.doe@gmail.com",
          name: str = "Jane Doe", to: str = "support@example.com", subject: str = "My order has not arrived",
          text: str = "Hi,\n\nmy order #1042 has not arrived yet. Can you help?\n\nThanks,\nJane",
          in_reply_to: str | None = None, references: list[str] | None = None, quote: str | None = None,
          extra_headers: str = "") -> bytes:
    """Gmail: multipart/alternative, text/plain and text/html in UTF-8 (quoted-printable when
    needed), the quote in a gmail_quote div, attribution wrapped over two lines."""
    html_body = "".join(f"<div>{line or '<br>'}</div>" for line in text.split("\n"))
    plain = text
    html = f'<div dir="ltr">{html_body}</div>'
    if quote:
        plain += (f"\n\nOn Mon, Jan 5, 2026 at 10:02 AM Example Support <\n{to}> wrote:\n\n"
                  + "\n".join(f"> {line}" if line else ">" for line in quote.split("\n")) + "\n")
        html += (f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 5, 2026 at 10:02 AM '
                 f'Example Support &lt;<a href="mailto:{to}">{to}</a>&gt; wrote:<br></div>'
                 f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
                 f'padding-left:1ex">{"<br>".join(quote.split(chr(10)))}</blockquote></div>')
    return crlf(f"""MIME-Version: 1.0
Date: Mon, 5 Jan 2026 10:15:32 +0100
{threading_headers(in_reply_to, references)}Message-ID: {message_id}
Subject: {subject}
From: {name} <{sender}>
To: {to}
{extra_headers}Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(plain)}
--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(html)}
--000000000000a1b2c3d4e5f60718--
""")


def gmail_inline_image(*, message_id: str = "<CAFx7Yq3img@mail.gmail.com>") -> bytes:
    """Gmail with a pasted screenshot: alternative → related (html + image by cid) plus a
    real attachment in mixed."""
    html = ('<div dir="ltr">The error looks like this:<div><img src="cid:ii_lr4k2b1x0" alt="screenshot.png" '
            'width="320" height="200"><br></div><div>Invoice attached.</div></div>')
    return crlf(f"""MIME-Version: 1.0
Date: Tue, 6 Jan 2026 08:01:02 +0000
Message-ID: {message_id}
Subject: Error when paying
From: Jane Doe <jane.doe@gmail.com>
To: support@example.com
Content-Type: multipart/mixed; boundary="000000000000mixed"

--000000000000mixed
Content-Type: multipart/alternative; boundary="000000000000alt"

--000000000000alt
Content-Type: text/plain; charset="UTF-8"

The error looks like this:
[image: screenshot.png]
Invoice attached.

--000000000000alt
Content-Type: multipart/related; boundary="000000000000rel"

--000000000000rel
Content-Type: text/html; charset="UTF-8"

{html}

--000000000000rel
Content-Type: image/png; name="screenshot.png"
Content-Disposition: inline; filename="screenshot.png"
Content-Transfer-Encoding: base64
X-Attachment-Id: ii_lr4k2b1x0
Content-ID: <ii_lr4k2b1x0>

{b64(PNG)}
--000000000000rel--

--000000000000alt--
--000000000000mixed
Content-Type: application/pdf; name="invoice-1042.pdf"
Content-Disposition: attachment; filename="invoice-1042.pdf"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_lr4k2b1y1

{b64(PDF)}
--000000000000mixed--
""")


def outlook_html(*, message_id: str = "<DB9PR07MB7193A1B2C3D4E5F6A7B8C9D0E1F2A@DB9PR07MB7193.eurprd07.prod.outlook.com>",
                 in_reply_to: str | None = None, references: list[str] | None = None) -> bytes:
    """Outlook (Microsoft 365) HTML-only reply in windows-1252, no winmail.dat: Word HTML with
    conditional comments, the quoted mail under a "From: / Sent:" block, a long folded
    Thread-Topic, and an RFC 2047 display name."""
    html = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv="Content-Type" content="text/html; charset=Windows-1252">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif;} --></style>
<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]--></head>
<body lang="DE" link="#0563C1" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal">Hello,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">the replacement part still hasn\x92t arrived \x96 could you check the \x93express\x94 option?<o:p></o:p></p>
<p class="MsoNormal">Kind regards<br>Bj\xf6rn M\xfcller<o:p></o:p></p>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p class="MsoNormal"><b>From:</b> Example Support &lt;support@example.com&gt; <br>
<b>Sent:</b> Monday, January 5, 2026 10:02 AM<br>
<b>To:</b> Bj\xf6rn M\xfcller &lt;bjoern.mueller@contoso.com&gt;<br>
<b>Subject:</b> Re: Replacement part [#7]<o:p></o:p></p>
</div>
<p class="MsoNormal">We have shipped the part.<o:p></o:p></p>
</div>
</body>
</html>
"""
    return crlf(b"""Received: from DB9PR07MB7193.eurprd07.prod.outlook.com ([fe80::1]) by
 DB9PR07MB7193.eurprd07.prod.outlook.com ([fe80::1%4]) with mapi id 15.20.8335.015;
 Tue, 6 Jan 2026 09:12:44 +0000
From: =?iso-8859-1?Q?Bj=F6rn_M=FCller?= <bjoern.mueller@contoso.com>
To: Example Support <support@example.com>
Subject: RE: Replacement part [#7]
Thread-Topic: Replacement part [#7] and a very long topic that Outlook folds over several
 lines because it is longer than seventy-eight characters
Thread-Index: AQHbXxyzAbCdEfGhIjKlMnOpQrStUvWxYz==
Date: Tue, 6 Jan 2026 09:12:44 +0000
Message-ID: """ + message_id.encode() + b"\n" + threading_headers(in_reply_to, references).encode() + b"""Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/html; charset="Windows-1252"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

""" + quopri.encodestring(html.encode("latin-1")).replace(b"\n", b"\r\n") + b"\n")


def apple_mail(*, message_id: str = "<5B1C7E52-9F3A-4D8E-B1C2-0A9E8D7C6B5A@icloud.com>",
               in_reply_to: str | None = None, references: list[str] | None = None) -> bytes:
    """Apple Mail: quoted-printable with soft line breaks, Content-Type "text/plain;
    charset=utf-8" and an inline image as a separate mixed part, plus a blockquote reply."""
    text = ("Hello support team, the app crashes every time I open the settings screen on my iPhone \u2014 "
            "here is a photo of the screen.\n\nBest,\nZo\u00eb\n")
    return crlf(f"""Content-Type: multipart/mixed;
\tboundary="Apple-Mail=_1F2E3D4C-5B6A-4798-8A9B-0C1D2E3F4A5B"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.300.61.1.2\\))
Subject: App crashes on settings
From: =?utf-8?Q?Zo=C3=AB_Martin?= <zoe.martin@icloud.com>
Date: Wed, 7 Jan 2026 18:44:10 +0100
{threading_headers(in_reply_to, references)}Message-Id: {message_id}
To: support@example.com
X-Mailer: Apple Mail (2.3774.300.61.1.2)

--Apple-Mail=_1F2E3D4C-5B6A-4798-8A9B-0C1D2E3F4A5B
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{qp(text)}
--Apple-Mail=_1F2E3D4C-5B6A-4798-8A9B-0C1D2E3F4A5B
Content-Disposition: inline;
\tfilename=IMG_0042.png
Content-Type: image/png;
\tx-unix-mode=0644;
\tname="IMG_0042.png"
Content-Transfer-Encoding: base64

{b64(PNG)}
--Apple-Mail=_1F2E3D4C-5B6A-4798-8A9B-0C1D2E3F4A5B--
""")


def thunderbird(*, message_id: str = "<8f1c2b3a-4d5e-6f70-8192-a3b4c5d6e7f8@contoso.de>",
                in_reply_to: str | None = None, references: list[str] | None = None,
                subject: str = "Re: Lieferung", text: str | None = None) -> bytes:
    """Thunderbird: format=flowed UTF-8 8bit text, a moz-cite-prefix attribution, and a PDF
    whose German filename comes as RFC 2231 ``filename*`` next to an RFC 2047 ``name=``
    (the 2231 one must win)."""
    body = text or ("Guten Tag,\n\nanbei die Rechnung für März.\n\nViele Grüße\nJürgen\n\n"
                    "Am 05.01.26 um 10:02 schrieb Example Support:\n> Bitte senden Sie uns die Rechnung.\n")
    return crlf(f"""Message-ID: {message_id}
Date: Thu, 8 Jan 2026 11:20:33 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: {subject}
Content-Language: de-DE
To: Example Support <support@example.com>
{threading_headers(in_reply_to, references)}From: =?UTF-8?Q?J=C3=BCrgen_Wei=C3=9F?= <juergen.weiss@contoso.de>
Content-Type: multipart/mixed; boundary="------------mCq8Rj5T0Ol2gTZHg1aVx3Yb"

This is a multi-part message in MIME format.
--------------mCq8Rj5T0Ol2gTZHg1aVx3Yb
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{body}
--------------mCq8Rj5T0Ol2gTZHg1aVx3Yb
Content-Type: application/pdf; name="=?UTF-8?B?UmVjaG51bmdfTcOkcnoucGRm?="
Content-Disposition: attachment;
 filename*0*=UTF-8''%52%65%63%68%6E%75%6E%67%20%66%C3%BC%72%20%4D%C3%A4;
 filename*1*=%72%7A%20%32%30%32%36%2E%70%64%66
Content-Transfer-Encoding: base64

{b64(PDF)}
--------------mCq8Rj5T0Ol2gTZHg1aVx3Yb--
""")


def latin1_plain() -> bytes:
    """An old client: ISO-8859-1 quoted-printable, encoded-word subject over two folded
    lines, and Windows-1252 curly quotes in an iso-8859-1 labelled part."""
    text = "Bonjour,\n\nJ\x92ai re\xe7u un colis ab\xeem\xe9 \x96 \x93tr\xe8s\x94 d\xe9\xe7u.\n\nCordialement,\nC\xe9line\n"
    return crlf(b"""From: =?ISO-8859-1?Q?C=E9line_Lef=E8vre?= <celine.lefevre@orange.fr>
To: support@example.com
Subject: =?ISO-8859-1?Q?Colis_ab=EEm=E9_:_je_voudrais_un_?=
 =?ISO-8859-1?Q?remboursement_tr=E8s_rapidement?=
Date: Fri, 9 Jan 2026 14:03:12 +0100
Message-ID: <000001db6a3f$1a2b3c4d$4e5f6a7b@orange.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

""" + quopri.encodestring(text.encode("latin-1")) + b"\n")


def shift_jis() -> bytes:
    """A Japanese client: ISO-2022-JP encoded words in the subject and name, the body in
    Shift_JIS (with an NEC special character that only Microsoft's cp932 has), base64."""
    text = "お世話になっております。\n注文番号①の商品がまだ届いていません。\nよろしくお願いいたします。\n"
    subject = Header(JAPANESE_SUBJECT, "iso-2022-jp").encode(maxlinelen=50).replace("\r\n", "\n")
    name = Header("山田 太郎", "iso-2022-jp").encode()
    return crlf(f"""From: {name} <taro.yamada@example.jp>
To: support@example.com
Subject: {subject}
Date: Sat, 10 Jan 2026 09:00:00 +0900
Message-ID: <20260110090000.1234@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset="Shift_JIS"
Content-Transfer-Encoding: base64

{b64(text.encode("cp932"))}
""")


def out_of_office(*, in_reply_to: str, message_id: str = "<ooo-1@contoso.com>", sender: str = "jane.doe@gmail.com") -> bytes:
    """An Exchange out-of-office answer to one of our replies."""
    return crlf(f"""From: Jane Doe <{sender}>
To: support@example.com
Subject: Automatic reply: Re: My order has not arrived [#1]
Date: Mon, 5 Jan 2026 10:03:00 +0000
Message-ID: {message_id}
In-Reply-To: {in_reply_to}
References: {in_reply_to}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until January 12 with limited access to email.
""")


def dsn_bounce(*, original_message_id: str, recipient: str, status: str = "5.1.1",
               diagnostic: str = "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
               message_id: str = "<20260105100301.4F2E31A0@mx.example.com>") -> bytes:
    """A Postfix bounce (RFC 3464 DSN) for a message we sent, with its headers returned."""
    return crlf(f"""Return-Path: <>
Date: Mon, 5 Jan 2026 10:03:01 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@example.com
Auto-Submitted: auto-replied
Message-Id: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2E31A0.1767607381/mx.example.com"

This is a MIME-encapsulated message.

--4F2E31A0.1767607381/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mail.customer.test[203.0.113.5] said: 550 5.1.1 User unknown

--4F2E31A0.1767607381/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4F2E31A0
Arrival-Date: Mon,  5 Jan 2026 10:03:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mail.customer.test
Diagnostic-Code: {diagnostic.format(rcpt=recipient)}

--4F2E31A0.1767607381/mx.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Example Support <support@example.com>
To: {recipient}
Subject: Re: My order has not arrived [#1]
Message-ID: {original_message_id}
Date: Mon, 5 Jan 2026 10:02:59 +0000

--4F2E31A0.1767607381/mx.example.com--
""")


def broken() -> bytes:
    """No Date, a boundary that never closes, and base64 cut off mid-stream."""
    return crlf(f"""From: "Broken Client" <broken@example.net>
To: support@example.com
Subject: Attachment as promised
Message-ID: <broken-1@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=utf-8

Here is the file.
--XYZ
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)[:-7]}
""")


def simple(*, message_id: str, sender: str, name: str = "Casey Contact", text: str = "Hello",
           subject: str = "Question", to: str = "support@example.com", extra_headers: str = "",
           date: str = "Mon, 5 Jan 2026 12:00:00 +0000") -> bytes:
    """A minimal single-part text mail (``date`` is its RFC 5322 Date: header)."""
    return crlf(f"""From: {name} <{sender}>
To: {to}
Subject: {subject}
Date: {date}
Message-ID: {message_id}
MIME-Version: 1.0
{extra_headers}Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}
""")


#: The subject an Outlook / Exchange out-of-office reply carries, per the mailbox owner's
#: language, followed by the original subject.
OUTLOOK_AUTOMATIC_REPLY = {
    "en": "Automatic reply: {subject}",
    "pt": "Resposta automática: {subject}",
    "es": "Respuesta automática: {subject}",
    "fr": "Réponse automatique : {subject}",
    "de": "Automatische Antwort: {subject}",
}
#: Other autoresponders' subjects (webmail vacation messages, old server autoresponders).
OTHER_AUTOMATIC_SUBJECTS = (
    "Out of Office: {subject}",
    "Auto-Reply: {subject}",
    "Fora do escritório: {subject}",
    "Fuera de la oficina: {subject}",
    "Absent(e) du bureau : {subject}",
    "Abwesenheitsnotiz: {subject}",
)


def autoresponder(*, subject: str, message_id: str, sender: str = "jane.doe@gmail.com", headers: str = "",
                  in_reply_to: str | None = None, date: str = "Mon, 5 Jan 2026 10:03:00 +0000",
                  text: str = "I am away until January 12 and will answer your message when I am back.") -> bytes:
    """An automatic reply as autoresponders send it: the subject (RFC 2047-encoded when it
    is not ASCII, as clients do), optional RFC 3834 headers, and optionally the threading
    headers of the mail it answers."""
    encoded = subject if subject.isascii() else Header(subject, "utf-8").encode()
    threading = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else ""
    return crlf(f"""From: Jane Doe <{sender}>
To: support@example.com
Subject: {encoded}
Date: {date}
Message-ID: {message_id}
{threading}{headers}MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{text}
""")


def html_with_inline_images(*, message_id: str = "<5f0c1a2b.inline@mail.example.net>") -> bytes:
    """An HTML mail with two images shown by ``cid:`` (RFC 2392) in a multipart/related, one
    Content-ID written with capitals and %-escaped in the HTML, plus a regular attachment."""
    html = ('<html><body><p>The label is torn:</p><img src="cid:label.photo@mail.example.net" alt="label">'
            '<p>and the box:</p><img src="cid:Box%20Photo@mail.example.net" alt="box"></body></html>')
    return crlf(f"""From: Ana Silva <ana.silva@customer.test>
To: support@example.com
Subject: Damaged parcel
Date: Tue, 6 Jan 2026 08:01:02 +0000
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="related"; type="text/html"

--related
Content-Type: text/html; charset="utf-8"

{html}
--related
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <label.photo@mail.example.net>
Content-Disposition: inline; filename="label.png"

{b64(PNG)}
--related
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <Box Photo@mail.example.net>

{b64(PNG)}
--related--

--outer
Content-Type: application/pdf; name="receipt.pdf"
Content-Disposition: attachment; filename="receipt.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--outer--
""")


def _old_client(subject: str, message_id: str, content_type: str, body: str) -> bytes:
    """Mail from an old client that sends no Date header."""
    return crlf(f"""From: Old Client <old@broken.test>
To: support@example.com
Subject: {subject}
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: {content_type}

{body}""")


def wrong_boundary(*, message_id: str = "<wrong-boundary@broken.test>") -> bytes:
    """A multipart whose declared boundary is not the one its parts use, and no Date."""
    return _old_client("Invoice question", message_id, 'multipart/mixed; boundary="=_declared"', f"""--=_actual
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Bonjour, la facture n=B0 17 est fausse.
--=_actual
Content-Type: application/pdf; name="facture.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--=_actual--
""")


def missing_boundary(*, message_id: str = "<no-boundary@broken.test>") -> bytes:
    """A multipart/alternative without any boundary parameter, and no Date."""
    return _old_client("Where is my order?", message_id, "multipart/alternative", """--0016e6d7e0b8
Content-Type: text/plain; charset=utf-8

Where is my order 1042?
--0016e6d7e0b8
Content-Type: text/html; charset=utf-8

<p>Where is my order 1042?</p>
--0016e6d7e0b8--
""")


def no_parts(*, message_id: str = "<no-parts@broken.test>") -> bytes:
    """Declared multipart, but only text follows: no delimiter line at all."""
    return _old_client("Just text", message_id, 'multipart/mixed; boundary="never-used"',
                       "Please call me back about the delivery.\n")


def encoded_recipients(*, message_id: str = "<recipients@customer.test>") -> bytes:
    """To and Cc with RFC 2047 display names (Q and B encodings, two charsets)."""
    return crlf(f"""From: Ana Silva <ana.silva@customer.test>
To: =?UTF-8?Q?Suporte_T=C3=A9cnico?= <support@example.com>,
 =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@customer.test>
Cc: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>, plain@customer.test
Subject: Recipients
Date: Mon, 5 Jan 2026 12:00:00 +0000
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello all
""")


def nested_deeply(depth: int, *, message_id: str = "<deep@hostile.test>") -> bytes:
    """Multipart parts nested ``depth`` deep: more than Python's parser can recurse."""
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    closing = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    return crlf(f"""From: Deep <deep@hostile.test>
To: support@example.com
Subject: Deep
Message-ID: {message_id}
MIME-Version: 1.0
{opening}Content-Type: text/plain

deep inside
{closing}""")
