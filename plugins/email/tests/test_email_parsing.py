"""Charsets, encoded headers, attachments, inline images and broken mail, as agents see them:
each mail goes in through the SMTP listener and is read back from what Nexus stored."""

from __future__ import annotations

import pytest
from email_mails import (
    JAPANESE_SUBJECT,
    PDF,
    PNG,
    apple_mail,
    broken,
    crlf,
    encoded_recipients,
    gmail_inline_image,
    html_with_inline_images,
    latin1_plain,
    missing_boundary,
    nested_deeply,
    no_parts,
    outlook_html,
    shift_jis,
    thunderbird,
    wrong_boundary,
)
from email_servers import smtp_send

from nexus.db import models
from nexus_email.parse import parse_bytes, to_inbound

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUPPORT = "support@example.com"


async def store(email_server, raw: bytes, mail_from: str = "customer@customer.test"):
    async with email_server() as (server, port):
        await smtp_send(port, raw, mail_from=mail_from, to=SUPPORT)
        (message,) = await server.messages("support")
        (ticket,) = await server.tickets()
        files = {a.filename: a for a in message.attachments}
        data = {row.filename: row for row in await models.Attachment.filter(message_id=message.id)}
        contents = {name: await server.nexus.storage.load(row.storage_key) for name, row in data.items() if row.storage_key}
        return message, ticket, files, contents


async def test_latin1_with_windows_1252_quotes_and_folded_encoded_subject(email_server) -> None:
    message, ticket, _, _ = await store(email_server, latin1_plain())
    assert ticket.subject == "Colis abîmé : je voudrais un remboursement très rapidement"
    assert message.sender["display_name"] == "Céline Lefèvre"
    assert ticket.contact.email == "celine.lefevre@orange.fr"  # {{contact.email}}
    assert message.text == "Bonjour,\n\nJ’ai reçu un colis abîmé – “très” déçu.\n\nCordialement,\nCéline"


async def test_shift_jis_body_and_iso_2022_jp_headers(email_server) -> None:
    message, ticket, _, _ = await store(email_server, shift_jis())
    assert ticket.subject == JAPANESE_SUBJECT
    assert message.sender["display_name"] == "山田 太郎"
    assert message.text == "お世話になっております。\n注文番号①の商品がまだ届いていません。\nよろしくお願いいたします。"


async def test_outlook_html_only_windows_1252(email_server) -> None:
    message, ticket, files, _ = await store(email_server, outlook_html())
    assert message.sender["display_name"] == "Björn Müller"
    # One body: the HTML turned into text, the quoted Outlook header block collapsed.
    assert message.text == ("Hello,\n\nthe replacement part still hasn’t arrived – could you check the “express” option?\n\n"
                            "Kind regards\nBjörn Müller")
    assert message.metadata["email"]["quoted_text"].startswith("From: Example Support")
    assert "<script" not in message.html and "mso" not in message.html and "hasn’t arrived" in message.html
    assert files == {}


async def test_apple_mail_quoted_printable_and_inline_image_part(email_server) -> None:
    message, _, files, contents = await store(email_server, apple_mail())
    assert message.sender["display_name"] == "Zoë Martin"
    assert message.text == ("Hello support team, the app crashes every time I open the settings screen on my iPhone — "
                            "here is a photo of the screen.\n\nBest,\nZoë")
    assert message.html is None
    # Not shown inline by any HTML: a regular attachment.
    assert files["IMG_0042.png"].content_type == "image/png" and files["IMG_0042.png"].content_id is None
    assert contents["IMG_0042.png"] == PNG


async def test_gmail_inline_image_points_at_its_download(email_server) -> None:
    message, _, files, contents = await store(email_server, gmail_inline_image())
    assert message.text == "The error looks like this:\n[image: screenshot.png]\nInvoice attached."
    screenshot, invoice = files["screenshot.png"], files["invoice-1042.pdf"]
    assert f'src="{screenshot.url}"' in message.html and "cid:" not in message.html
    assert (screenshot.inline, screenshot.content_id) == (True, "ii_lr4k2b1x0")
    assert (invoice.inline, invoice.content_id) == (False, None)
    assert contents == {"screenshot.png": PNG, "invoice-1042.pdf": PDF}


async def test_html_inline_images_are_inline_and_point_at_their_downloads(email_server) -> None:
    """RFC 2392: ``cid:`` names a Content-ID, %-escaped, compared without regard to case."""
    async with email_server() as (server, port):
        await smtp_send(port, html_with_inline_images(), mail_from="ana.silva@customer.test", to=SUPPORT)
        (ticket,) = await server.tickets()
        token = await server.admin_token()
        status, page = await server.api("GET", f"/tickets/{ticket.id}/messages", token)
        (message,) = page["items"]
        by_name = {a["filename"]: a for a in message["attachments"]}
        label, box, receipt = by_name["label.png"], by_name["image-2.png"], by_name["receipt.pdf"]
        assert label["inline"] and box["inline"] and not receipt["inline"]
        assert f'src="{label["url"]}"' in message["html"] and f'src="{box["url"]}"' in message["html"]
        assert "cid:" not in message["html"]
        async with server.http.get(server.url + box["url"], headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200 and await r.read() == PNG


async def test_rfc2231_filename_wins_over_rfc2047_name(email_server) -> None:
    message, _, files, contents = await store(email_server, thunderbird())
    assert list(files) == ["Rechnung für März 2026.pdf"]
    assert contents["Rechnung für März 2026.pdf"] == PDF
    assert message.text == "Guten Tag,\n\nanbei die Rechnung für März.\n\nViele Grüße\nJürgen"
    assert message.metadata["email"]["quoted_text"].startswith("Am 05.01.26 um 10:02 schrieb Example Support:")


async def test_malformed_mail_is_stored_best_effort(email_server) -> None:
    message, ticket, files, contents = await store(email_server, broken())
    assert ticket.subject == "Attachment as promised"
    assert message.text == "Here is the file."
    assert contents["report.pdf"] and PDF.startswith(contents["report.pdf"][:20])
    defects = message.metadata["email"]["defects"]
    assert "no Date header" in defects
    assert any("truncated base64" in d for d in defects)
    assert any("CloseBoundaryNotFound" in d for d in defects)


@pytest.mark.parametrize(("mail", "text", "files"), [
    (wrong_boundary, "Bonjour, la facture n° 17 est fausse.", ["facture.pdf"]),
    (missing_boundary, "Where is my order 1042?", []),
    (no_parts, "Please call me back about the delivery.", []),
])
async def test_malformed_mime_still_gives_the_text_as_body(email_server, mail, text, files) -> None:
    """A wrong or missing boundary (and no Date): the text is the body, never an opaque
    attachment-1.bin."""
    message, ticket, stored, _ = await store(email_server, mail())
    assert message.text == text
    assert sorted(stored) == files
    assert not any(name.endswith(".bin") for name in stored)
    assert "no Date header" in message.metadata["email"]["defects"]
    assert message.sent_at is None and message.received_at is not None


async def test_to_and_cc_keep_their_decoded_display_names(email_server) -> None:
    message, _, _, _ = await store(email_server, encoded_recipients())
    assert message.metadata["email"]["to"] == [
        {"address": "support@example.com", "name": "Suporte Técnico"},
        {"address": "joerg@customer.test", "name": "Jörg Müller"},
    ]
    assert message.metadata["email"]["cc"] == [
        {"address": "taro@example.jp", "name": "山田太郎"},
        {"address": "plain@customer.test", "name": None},
    ]


async def test_nul_in_headers_body_and_filenames_is_stored_without_it(email_server) -> None:
    raw = crlf(b"From: =?UTF-8?Q?Ana=00_Silva?= <ana@customer.test>\nTo: support@example.com\n"
               b"Subject: Order\x00 1042\nMessage-ID: <nul@customer.test>\nMIME-Version: 1.0\n"
               b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n"
               b"Hello\x00 there\n--b\nContent-Type: text/plain; name=\"notes.txt\"\n"
               b"Content-Disposition: attachment; filename*=UTF-8''no%00tes.txt\n\nnotes\n--b--\n")
    message, ticket, files, _ = await store(email_server, raw)
    assert message.text == "Hello there"
    assert ticket.subject == "Order 1042"
    assert message.sender["display_name"] == "Ana Silva"
    assert list(files) == ["notes.txt"]


async def test_mime_nested_too_deeply_to_parse_is_kept_raw(email_server) -> None:
    raw = nested_deeply(3000)
    message, ticket, files, contents = await store(email_server, raw)
    assert message.text == "This email could not be read; the original is attached."
    assert ticket.subject == "Deep"
    assert contents["message.eml"] == raw


async def test_mislabelled_and_unlabelled_charsets() -> None:
    utf8_as_ascii = crlf("From: a@customer.test\nMessage-ID: <m1@x>\nContent-Type: text/plain; charset=us-ascii\n\n"
                         "Grüße\n".encode())
    unknown = crlf(b"From: a@customer.test\nMessage-ID: <m2@x>\nContent-Type: text/plain; charset=x-klingon\n\nna\xefve\n")
    raw_header = crlf("From: Jörg <a@customer.test>\nSubject: Bestellung für Jörg\nMessage-ID: <m3@x>\n\nhi\n".encode())
    assert to_inbound(parse_bytes(utf8_as_ascii), utf8_as_ascii).text == "Grüße"
    assert to_inbound(parse_bytes(unknown), unknown).text == "naïve"
    inbound = to_inbound(parse_bytes(raw_header), raw_header)
    assert inbound.subject == "Bestellung für Jörg" and inbound.sender.display_name == "Jörg"


async def test_garbage_never_crashes() -> None:
    for raw in (b"", b"\x00\xff\xfe garbage", b"From: <>\n\n", b"Content-Type: multipart/mixed\n\n--\n--",
                crlf(b"From: x@y.z\nContent-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: text/html\n\n<p>hi")):
        inbound = to_inbound(parse_bytes(raw), raw)
        assert inbound.external_id and inbound.sender.address


async def test_missing_message_id_still_deduplicates(email_server) -> None:
    raw = crlf(b"From: a@customer.test\nTo: support@example.com\nSubject: no id\n\nHello\n")
    async with email_server() as (server, port):
        await smtp_send(port, raw, mail_from="a@customer.test", to=SUPPORT)
        await smtp_send(port, raw, mail_from="a@customer.test", to=SUPPORT)
        (message,) = await server.messages("support")
        assert message.external_id.endswith("@message-id.invalid>")


async def test_reply_to_names_the_contact() -> None:
    """A web form mails From its own address with the customer in Reply-To."""
    raw = crlf(b"From: Shop contact form <forms@shop.test>\nReply-To: Ana Silva <ana.silva@customer.test>\n"
               b"Message-ID: <form-1@shop.test>\nSubject: Contact form\n\nPlease call me back.\n")
    inbound = to_inbound(parse_bytes(raw), raw)
    assert inbound.sender.address == "ana.silva@customer.test"
    assert inbound.sender.display_name == "Ana Silva"
    assert inbound.metadata["email"]["from"] == "Shop contact form <forms@shop.test>"
