"""Every common update, as an agent sees it: delivered by webhook (which answers once the update
is stored), then read back from Nexus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from telegram_fake import (
    BOT_USER,
    CHANNEL,
    FakeBotAPI,
    attachment_bytes,
    deliver,
    group_chat,
    message,
    private_chat,
    reply,
    settings,
    user,
)

from nexus.db import models
from nexus.testing import RunningNexus

pytestmark = pytest.mark.asyncio(loop_scope="session")

MB = 1024 * 1024


@pytest_asyncio.fixture(loop_scope="session")
async def server(nexus_server, bot_api: FakeBotAPI) -> AsyncIterator[RunningNexus]:
    async with nexus_server(settings(bot_api, webhook=True)) as running:
        yield running


async def receive(server: RunningNexus, api: FakeBotAPI, kind: str, payload: dict) -> None:
    response = await deliver(server, api, api.update(kind, payload))
    assert response.status == 200, response.body


async def only_message(server: RunningNexus):
    (stored,) = await server.messages(CHANNEL)
    return stored


# --- Text and commands ------------------------------------------------------------------


async def test_start_command_keeps_its_deep_link_payload(server, bot_api):
    entities = [{"type": "bot_command", "offset": 0, "length": 6}]
    await receive(
        server, bot_api, "message", message(1, text="/start order-8841", entities=entities)
    )
    stored = await only_message(server)
    assert stored.text == "/start order-8841"
    assert stored.metadata["telegram"]["command"] == "start"
    assert stored.metadata["telegram"]["start_payload"] == "order-8841"


async def test_a_start_deep_link_payload_is_kept_on_the_contact(server, bot_api):
    """``t.me/<bot>?start=spring-sale`` sends ``/start spring-sale``: agents see on the
    contact where they came from; a later deep link replaces it, a plain /start keeps it."""
    entities = [{"type": "bot_command", "offset": 0, "length": 6}]
    await receive(
        server, bot_api, "message", message(51, text="/start spring-sale", entities=entities)
    )
    (ticket,) = await server.tickets()
    assert ticket.contact.attributes["telegram_start_payload"] == "spring-sale"
    status, contact = await server.api(
        "GET", f"/contacts/{ticket.contact.id}", await server.admin_token()
    )
    assert contact["attributes"]["telegram_start_payload"] == "spring-sale"

    await receive(server, bot_api, "message", message(52, text="/start", entities=entities))
    await receive(
        server, bot_api, "message", message(53, text="/start order-8841", entities=entities)
    )
    (ticket,) = await server.tickets()
    assert ticket.contact.attributes["telegram_start_payload"] == "order-8841"
    help_entities = [{"type": "bot_command", "offset": 0, "length": 5}]
    await receive(server, bot_api, "message", message(54, text="/help", entities=help_entities))
    texts = {m.text: m.metadata["telegram"] for m in await server.messages(CHANNEL)}
    assert texts["/help"]["command"] == "help" and "start_payload" not in texts["/help"]
    (ticket,) = await server.tickets()
    assert ticket.contact.attributes["telegram_start_payload"] == "order-8841"


async def test_the_messages_date_is_shown_and_the_ticket_runs_on_arrival(server, bot_api):
    """Telegram's ``date`` is when the user sent it; a message that reaches Nexus late (an
    update redelivered after an outage) still counts as activity when it arrives."""
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    before = datetime.now(UTC)
    await receive(
        server, bot_api, "message", message(55, text="Hello?", date=int(sent.timestamp()))
    )
    (ticket,) = await server.tickets()
    status, page = await server.api(
        "GET", f"/tickets/{ticket.id}/messages", await server.admin_token()
    )
    (shown,) = page["items"]
    assert shown["sent_at"] == "2026-01-01T00:00:00+00:00"
    assert datetime.fromisoformat(shown["received_at"]) >= before
    assert ticket.last_message_at == datetime.fromisoformat(shown["received_at"])


async def test_the_users_own_contact_card_fills_the_contacts_phone(server, bot_api):
    """A ``request_contact`` button sends the user's own card (its ``user_id`` is theirs):
    it becomes the contact's phone, for ``{{contact.phone}}``. Someone else's card does not."""
    casey = user()
    someone_else = {"phone_number": "+4915112345678", "first_name": "Max", "user_id": 777}
    await receive(server, bot_api, "message", message(56, contact=someone_else))
    (ticket,) = await server.tickets()
    assert ticket.contact.phone is None

    own = {
        "phone_number": "5511987654321",
        "first_name": casey["first_name"],
        "last_name": casey["last_name"],
        "user_id": casey["id"],
    }
    await receive(server, bot_api, "message", message(57, contact=own))
    (ticket,) = await server.tickets()
    assert ticket.contact.phone == "+5511987654321"
    token = await server.admin_token()
    status, canned = await server.api(
        "POST", "/canned-responses", token, {"shortcut": "sms", "body": "SMS to {{contact.phone}}"}
    )
    status, rendered = await server.api(
        "POST", f"/canned-responses/{canned['id']}/render", token, {"ticket_id": ticket.id}
    )
    assert rendered["body"] == "SMS to +5511987654321"


async def test_nul_in_text_and_names_is_stored_without_it(server, bot_api):
    """JSON's ``\u0000``, which PostgreSQL refuses in text and JSON columns."""
    await receive(
        server,
        bot_api,
        "message",
        message(58, sender=user(555009, "Ro\u0000bin", None), text="Re\u0000fund please"),
    )
    (stored,) = await server.messages(CHANNEL)
    assert stored.text == "Refund please"
    (ticket,) = await server.tickets()
    assert ticket.contact.name == "Robin"


async def test_entities_are_read_in_utf16_code_units(server, bot_api):
    # "🎉" is one code point but two UTF-16 code units: "terms" starts at code point 11,
    # which Telegram counts as 12.
    text = "🎉 Read our terms first"
    entities = [
        {"type": "text_link", "offset": 12, "length": 5, "url": "https://example.com/terms"}
    ]
    await receive(server, bot_api, "message", message(2, text=text, entities=entities))
    stored = await only_message(server)
    assert stored.text == text
    assert stored.metadata["telegram"]["links"] == [
        {"text": "terms", "url": "https://example.com/terms"}
    ]


async def test_a_command_after_an_emoji_keeps_its_arguments_whole(server, bot_api):
    text = "/ticket@nexus_support_bot 🚚 late delivery"
    entities = [{"type": "bot_command", "offset": 0, "length": 25}]
    await receive(server, bot_api, "message", message(3, text=text, entities=entities))
    telegram = (await only_message(server)).metadata["telegram"]
    assert (telegram["command"], telegram["command_args"]) == ("ticket", "🚚 late delivery")


# --- Media ------------------------------------------------------------------------------


async def test_a_photo_keeps_only_its_largest_size(server, bot_api):
    small = bot_api.add_file(b"small jpeg", "photos/file_1_small.jpg")
    large = bot_api.add_file(b"\xff\xd8 large jpeg", "photos/file_1.jpg")
    sizes = [{**small, "width": 90, "height": 67}, {**large, "width": 1280, "height": 960}]
    await receive(server, bot_api, "message", message(4, photo=sizes, caption="Broken on arrival"))

    stored = await only_message(server)
    assert stored.text == "Broken on arrival"
    (photo,) = stored.attachments
    assert photo.content_type == "image/jpeg"
    assert await attachment_bytes(server, photo) == b"\xff\xd8 large jpeg"
    assert [call["file_id"] for call in bot_api.calls("getFile")] == [large["file_id"]]


@pytest.mark.parametrize(
    ("kind", "extra", "filename", "content_type"),
    [
        (
            "document",
            {"file_name": "invoice.pdf", "mime_type": "application/pdf"},
            "invoice.pdf",
            "application/pdf",
        ),
        ("voice", {"duration": 4, "mime_type": "audio/ogg"}, "voice_{unique}.ogg", "audio/ogg"),
        (
            "audio",
            {"duration": 180, "file_name": "call.mp3", "mime_type": "audio/mpeg"},
            "call.mp3",
            "audio/mpeg",
        ),
        (
            "video",
            {"duration": 9, "width": 640, "height": 360, "mime_type": "video/mp4"},
            "video_{unique}.mp4",
            "video/mp4",
        ),
    ],
)
async def test_files_are_downloaded_and_stored(
    server, bot_api, kind, extra, filename, content_type
):
    file = bot_api.add_file(f"{kind} bytes".encode(), f"{kind}s/file_7.bin")
    await receive(server, bot_api, "message", message(5, **{kind: {**file, **extra}}))
    (attachment,) = (await only_message(server)).attachments
    assert attachment.filename == filename.format(unique=file["file_unique_id"])
    assert attachment.content_type == content_type
    assert await attachment_bytes(server, attachment) == f"{kind} bytes".encode()


async def test_a_file_over_20_mb_is_stored_as_a_placeholder(server, bot_api):
    file = bot_api.add_file(None, "documents/backup.zip", size=25 * MB)
    document = {**file, "file_name": "backup.zip", "mime_type": "application/zip"}
    await receive(server, bot_api, "message", message(6, document=document, caption="the logs"))

    stored = await only_message(server)
    assert stored.text == "the logs"
    (attachment,) = stored.attachments
    assert attachment.filename == "backup.zip" and attachment.size == 0
    assert "20 MB" in attachment.note and "larger" in attachment.note
    assert bot_api.calls("getFile") == []  # the size was known: no download attempted


async def test_a_file_that_turns_out_too_large_is_stored_as_a_placeholder(server, bot_api):
    # Without file_size in the message, getFile is what refuses it ("file is too big").
    file = bot_api.add_file(None, "videos/long.mp4", size=30 * MB)
    video = {
        "file_id": file["file_id"],
        "file_unique_id": file["file_unique_id"],
        "duration": 600,
        "width": 1920,
        "height": 1080,
    }
    await receive(server, bot_api, "message", message(7, video=video))
    (attachment,) = (await only_message(server)).attachments
    assert attachment.size == 0 and "20 MB" in attachment.note


async def test_an_animated_sticker_shows_its_emoji_and_thumbnail_never_the_tgs(server, bot_api):
    sticker_file = bot_api.add_file(b'{"v":"5.5.2","layers":[]}', "stickers/file_9.tgs")
    thumb = bot_api.add_file(b"RIFF webp thumb", "thumbnails/file_10.webp")
    sticker = {
        **sticker_file,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": True,
        "is_video": False,
        "emoji": "😂",
        "set_name": "FunnyCats",
        "thumbnail": {**thumb, "width": 128, "height": 128},
    }
    await receive(server, bot_api, "message", message(8, sticker=sticker))

    stored = await only_message(server)
    assert stored.text == "😂"
    (image,) = stored.attachments
    assert image.content_type == "image/webp"
    assert image.filename.endswith(".webp")
    assert await attachment_bytes(server, image) == b"RIFF webp thumb"
    assert stored.metadata["telegram"]["sticker"] == {
        "emoji": "😂",
        "set_name": "FunnyCats",
        "kind": "animated",
    }
    assert sticker_file["file_id"] not in [call["file_id"] for call in bot_api.calls("getFile")]


async def test_a_static_sticker_is_its_webp_image(server, bot_api):
    file = bot_api.add_file(b"RIFF static webp", "stickers/file_11.webp")
    sticker = {
        **file,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    await receive(server, bot_api, "message", message(9, sticker=sticker))
    stored = await only_message(server)
    assert stored.text == "👍"
    assert [(a.filename.endswith(".webp"), a.content_type) for a in stored.attachments] == [
        (True, "image/webp")
    ]


# --- Location and contact ---------------------------------------------------------------


async def test_a_location_is_readable_text_and_metadata(server, bot_api):
    await receive(
        server,
        bot_api,
        "message",
        message(10, location={"latitude": 52.520008, "longitude": 13.404954}),
    )
    stored = await only_message(server)
    assert stored.text == "Location: 52.520008, 13.404954"
    assert stored.metadata["telegram"]["location"] == {
        "latitude": 52.520008,
        "longitude": 13.404954,
    }


async def test_a_shared_contact_gets_its_plus_back(server, bot_api):
    contact = {
        "phone_number": "4915112345678",
        "first_name": "Alex",
        "last_name": "Meyer",
        "user_id": 777,
    }
    await receive(server, bot_api, "message", message(11, contact=contact))
    stored = await only_message(server)
    assert stored.text == "Contact: Alex Meyer, +4915112345678"
    assert stored.metadata["telegram"]["contact"]["phone_number"] == "+4915112345678"


# --- Edits, replies, buttons, reactions -------------------------------------------------


async def test_an_edit_updates_the_stored_message(server, bot_api):
    await receive(server, bot_api, "message", message(12, text="my order is 1234"))
    edited = message(12, text="my order is 1243", edit_date=1767225700)
    await receive(server, bot_api, "edited_message", edited)

    stored = await only_message(server)
    assert stored.text == "my order is 1243"
    assert stored.edited_at is not None
    assert stored.metadata["edits"][0]["text"] == "my order is 1234"


async def test_a_reply_links_to_the_message_it_answers(server, bot_api):
    original = message(13, text="Which size?")
    await receive(server, bot_api, "message", original)
    await receive(
        server, bot_api, "message", message(14, text="The large one", reply_to_message=original)
    )
    first, answer = await server.messages(CHANNEL)
    assert answer.reply_to_id == first.id


async def test_a_contact_replying_to_an_agent_links_to_the_agents_message(server, bot_api):
    await receive(server, bot_api, "message", message(15, text="Hello"))
    (ticket,) = await server.tickets()
    agent_message = await server.wait_for_status(
        await reply(server, ticket.id, "Which order?"), "sent"
    )
    (sent,) = bot_api.sent()
    # The agent's message, as Telegram quotes it: sent by the bot, in the contact's chat.
    ours = message(
        int(agent_message.external_id.split(":")[1]),
        sender=BOT_USER,
        chat=private_chat(user()),
        text="Which order?",
    )
    await receive(server, bot_api, "message", message(16, text="#1234", reply_to_message=ours))
    answer = (await server.messages(CHANNEL))[-1]
    assert sent["chat_id"] == "555001"
    assert answer.reply_to_id == agent_message.id


async def test_a_button_press_is_recorded_and_answered(server, bot_api):
    keyboard = {
        "inline_keyboard": [
            [
                {"text": "Track my parcel", "callback_data": "track:1234"},
                {"text": "Talk to a person", "callback_data": "human"},
            ]
        ]
    }
    buttons = message(
        17,
        sender=BOT_USER,
        chat=private_chat(user()),
        text="How can we help?",
        reply_markup=keyboard,
    )
    query = {
        "id": "4382bfdwdsb323b2d9",
        "from": user(),
        "chat_instance": "-7001",
        "message": buttons,
        "data": "human",
    }
    await receive(server, bot_api, "callback_query", query)

    stored = await only_message(server)
    assert stored.text == "[button] Talk to a person"
    assert stored.metadata["telegram"]["callback_data"] == "human"
    assert [call["callback_query_id"] for call in bot_api.calls("answerCallbackQuery")] == [
        "4382bfdwdsb323b2d9"
    ]
    (ticket,) = await server.tickets()
    assert ticket.contact.identities[0]["address"] == "555001"


async def test_a_reaction_attaches_to_its_message(server, bot_api):
    await receive(server, bot_api, "message", message(18, text="Thanks!"))
    reaction = {
        "chat": {"id": 555001, "type": "private", "first_name": "Casey"},
        "message_id": 18,
        "user": user(),
        "date": 1767225800,
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "❤"}],
    }
    await receive(server, bot_api, "message_reaction", reaction)
    assert (await only_message(server)).reactions == {"555001": "❤"}

    removed = {**reaction, "old_reaction": reaction["new_reaction"], "new_reaction": []}
    await receive(server, bot_api, "message_reaction", removed)
    assert (await only_message(server)).reactions == {}


# --- What is ignored --------------------------------------------------------------------


async def test_group_messages_are_ignored_by_default(server, bot_api):
    group = group_chat()
    await receive(
        server,
        bot_api,
        "message",
        message(19, sender=user(555003, "Sam", None), chat=group, text="hi all"),
    )
    assert await server.messages(CHANNEL) == []
    assert await models.Contact.all().count() == 0


async def test_unknown_update_types_are_ignored_without_harm(server, bot_api):
    await receive(
        server, bot_api, "teleport_request", {"id": "x1", "from": user(), "destination": "Mars"}
    )
    await receive(
        server,
        bot_api,
        "poll_answer",
        {"poll_id": "p1", "user": user(), "option_ids": [0], "option_persistent_ids": ["a"]},
    )
    await receive(
        server, bot_api, "message", message(20, new_chat_title="renamed")
    )  # a service message
    assert await server.messages(CHANNEL) == []

    await receive(server, bot_api, "message", message(21, text="still working?"))
    assert (await only_message(server)).text == "still working?"


async def test_content_nexus_cannot_show_is_stored_as_a_labelled_placeholder(server, bot_api):
    await receive(server, bot_api, "message", message(22, dice={"emoji": "🎲", "value": 4}))
    stored = await only_message(server)
    assert stored.text == "[Telegram dice: not shown in Nexus]"


# --- Groups, when allowed ---------------------------------------------------------------


async def test_allowed_groups_are_one_contact_each_and_replies_go_to_the_group(
    nexus_server, bot_api
):
    async with nexus_server(settings(bot_api, webhook=True, allow_groups=True)) as server:
        group = group_chat(-1001234567890, "Customers Lounge")
        await receive(
            server,
            bot_api,
            "message",
            message(23, sender=user(555003, "Sam", None), chat=group, text="Is the shop open?"),
        )
        await receive(
            server,
            bot_api,
            "message",
            message(24, sender=user(555004, "Kim", None), chat=group, text="Same question"),
        )
        (ticket,) = await server.tickets()
        assert ticket.contact.name == "Customers Lounge"
        (identity,) = await models.ContactIdentity.all()
        assert (identity.address, identity.key) == ("-1001234567890", "group:-1001234567890")
        assert identity.profile["chat_type"] == "supergroup"
        authors = [m.metadata["telegram"]["author"]["name"] for m in await server.messages(CHANNEL)]
        assert authors == ["Sam", "Kim"]
        # Neither member became a contact of their own.
        assert await models.ContactIdentity.filter(address__in=["555003", "555004"]).count() == 0

        await server.wait_for_status(await reply(server, ticket.id, "Open until 6"), "sent")
        assert [(m["chat_id"], m["text"]) for m in bot_api.sent()] == [
            ("-1001234567890", "Open until 6")
        ]
