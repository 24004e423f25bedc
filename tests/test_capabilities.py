"""Channel capabilities: a reply the channel cannot send is refused with a 422 naming the limit
before it is queued, and GET /api/v1/channels shows what each channel can send."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from nexus import (
    AttachmentLimits,
    Capabilities,
    Channel,
    ChannelConfig,
    Identity,
    InboundMessage,
    OutboundMessage,
    SendResult,
    WebhookRequest,
    WebhookResponse,
    hookimpl,
)
from nexus.capabilities import reply_problem
from nexus.http import HttpClient
from nexus.tickets import NewAttachment

SMS = Capabilities(max_text_length=1600, attachments=None)
TELEGRAM_LIKE = Capabilities(max_text_length=4096, text_length_unit="utf16", splits_long_text=True,
                             attachments=AttachmentLimits(max_size=50 * 1024 * 1024))
PICKY = Capabilities(attachments=AttachmentLimits(max_count=2, max_size=1000, max_total_size=1500,
                                                  content_types=("image/*", "application/pdf")))
WINDOWED = Capabilities(templates=True, templates_required_after=24 * 3600)
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def file(name: str = "a.png", content_type: str = "image/png", size: int = 10) -> NewAttachment:
    return NewAttachment(name, content_type, b"x" * size)


@pytest.mark.parametrize(("caps", "kwargs", "code", "names"), [
    (SMS, {"text": "x" * 1601}, "text_too_long", ["at most 1600 characters", "this reply has 1601"]),
    (SMS, {"text": "hi", "attachments": [file()]}, "attachments_not_supported", ["does not send attachments"]),
    (SMS, {"text": "hi", "metadata": {"template": {"name": "t"}}}, "templates_not_supported", ["templates"]),
    (Capabilities(text=False), {"text": "hi"}, "text_not_supported", ["files only"]),
    (Capabilities(max_text_length=10, text_length_unit="utf16"), {"text": "😀" * 6}, "text_too_long",
     ["at most 10 UTF-16 code units", "this reply has 12"]),
    (PICKY, {"text": "", "attachments": [file(), file(), file()]}, "too_many_attachments", ["at most 2", "has 3"]),
    (PICKY, {"text": "", "attachments": [file("a.zip", "application/zip")]}, "attachment_type_not_supported",
     ["application/zip", "a.zip", "image/*, application/pdf"]),
    (PICKY, {"text": "", "attachments": [file(size=1001)]}, "attachment_too_large_for_channel",
     ["at most 1000 bytes", "a.png has 1001 bytes"]),
    (PICKY, {"text": "", "attachments": [file(size=800), file("b.pdf", "application/pdf", 800)]},
     "attachments_too_large_for_channel", ["at most 1.46484 KB", "these have 1.5625 KB"]),
    (WINDOWED, {"text": "hi", "last_contact_message_at": AT - timedelta(hours=25)}, "template_required",
     ["only templates more than 24 hours after the contact's last message", "last wrote 25 hours ago"]),
    (WINDOWED, {"text": "hi"}, "template_required", ["the contact has not written on it"]),
])
def test_a_reply_beyond_the_channels_capabilities_names_the_limit(caps, kwargs, code, names):
    problem = reply_problem(caps, "sms", at=AT, **kwargs)
    assert problem is not None and problem.code == code
    assert problem.message.startswith("channel 'sms' ")
    for name in names:
        assert name in problem.message


@pytest.mark.parametrize(("caps", "kwargs"), [
    (SMS, {"text": "x" * 1600}),
    (SMS, {"text": "  " + "x" * 1600 + "\n"}),  # as the channel sends it: trimmed
    (TELEGRAM_LIKE, {"text": "x" * 10_000}),  # split into messages by the channel
    (PICKY, {"text": "", "attachments": [file(size=700), file("b.pdf", "application/pdf; name=b.pdf", 700)]}),
    (PICKY, {"text": "", "attachments": [file("c.JPG", "IMAGE/JPEG", 5)]}),
    (WINDOWED, {"text": "hi", "last_contact_message_at": AT - timedelta(hours=23, minutes=59)}),
    (WINDOWED, {"text": "", "metadata": {"template": {"name": "t"}}}),  # a template is fine at any time
    (Capabilities(), {"text": "x" * 100_000, "attachments": [file(size=10**6)] * 20}),
])
def test_a_reply_within_the_channels_capabilities_passes(caps, kwargs):
    assert reply_problem(caps, "sms", at=AT, **kwargs) is None


# --- Through the API -------------------------------------------------------------------


class SmsConfig(ChannelConfig):
    api_url: str


class SmsChannel(Channel):
    """A text-only channel: 1,600 characters, no files."""

    type_name = "smsish"
    Config = SmsConfig
    description = "SMS through a test gateway"
    capabilities = SMS
    config: SmsConfig

    async def start(self) -> None:
        self.api = await HttpClient(self.config.api_url).open()

    async def stop(self) -> None:
        await self.api.close()

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        data = json.loads(request.body)
        await self.host.receive(InboundMessage(external_id=data["id"], sender=Identity(data["from"]), text=data["text"]))
        return WebhookResponse.ok()

    async def send(self, message: OutboundMessage) -> SendResult:
        answer = await self.api.call("POST", "sms", json={"to": message.recipient.address, "text": message.text})
        return SendResult(external_id=answer["id"])


class SmsPlugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(SmsChannel)


@pytest.fixture
async def gateway(fake_provider):
    api = await fake_provider()
    api.route("POST", "/sms", lambda request: {"id": f"sms-{len(api.requests)}"})
    return api


@pytest.fixture
async def sms_server(nexus_server, gateway):
    config = {"channels": {"text": {"type": "smsish", "api_url": gateway.url}}}
    async with nexus_server(config, plugins={"smsish": SmsPlugin()}) as server:
        answer = await server.post_webhook("text", {"id": "in-1", "from": "+15550100001", "text": "Hello"})
        assert answer.status == 200
        yield server


async def test_the_api_refuses_a_reply_the_channel_cannot_send_before_queueing_it(sms_server, gateway):
    (ticket,) = await sms_server.tickets()
    token = await sms_server.admin_token()
    status, body = await sms_server.api("POST", f"/tickets/{ticket.id}/messages", token, {"text": "x" * 1601})
    assert status == 422
    assert body["error"]["code"] == "text_too_long"
    assert "at most 1600 characters" in body["error"]["message"]
    (detail,) = body["error"]["details"]
    assert detail["field"] == "text" and "1600" in detail["problem"]
    picture = {"filename": "map.png", "content_type": "image/png", "data": base64.b64encode(b"png").decode()}
    status, body = await sms_server.api("POST", f"/tickets/{ticket.id}/messages", token,
                                        {"text": "see the map", "attachments": [picture]})
    assert (status, body["error"]["code"]) == (422, "attachments_not_supported")
    assert [m.direction for m in await sms_server.messages("text")] == ["inbound"], "nothing was stored or queued"

    status, body = await sms_server.api("POST", f"/tickets/{ticket.id}/messages", token, {"text": "y" * 1600})
    assert status == 202, body
    await sms_server.wait_for_status(body["id"], "sent")
    assert [r.json()["text"] for r in gateway.requests_to("POST", "/sms")] == ["y" * 1600]


async def test_plugins_replying_through_the_hook_api_meet_the_same_check(sms_server):
    from nexus.tickets import TicketError

    (ticket,) = await sms_server.tickets()
    with pytest.raises(TicketError) as caught:
        await sms_server.nexus.tickets.reply(ticket.id, "z" * 2000, author=None, automatic=True)
    assert (caught.value.status, caught.value.code) == (422, "text_too_long")


async def test_channels_show_their_capabilities_to_frontends(sms_server):
    _, token = await sms_server.agent("agent@example.com", role="agent")
    status, body = await sms_server.api("GET", "/channels", token)
    assert status == 200
    (channel,) = body["items"]
    assert channel["description"] == "SMS through a test gateway"
    assert channel["capabilities"] == {
        "text": True, "max_text_length": 1600, "text_length_unit": "characters", "splits_long_text": False,
        "max_caption_length": None, "html": False, "subject": False, "attachments": None,
        "templates": False, "templates_required_after": None,
    }


async def test_the_built_in_channels_declare_what_their_providers_take(nexus_server, fake_provider):
    provider = await fake_provider()
    provider.route("POST", "/bot{token}/getMe", {"ok": True, "result": {
        "id": 42, "is_bot": True, "first_name": "Support", "username": "support_bot"}})
    provider.route("GET", "/v21.0/{phone}", {"display_phone_number": "15550783881", "verified_name": "Shop"})
    config = {"channels": {
        "bot": {"type": "telegram", "token": "42:AAHtest-token-of-the-bot", "api_server": provider.url,
                "mode": "polling"},
        "wa": {"type": "whatsapp", "phone_number_id": "1065", "access_token": "t", "app_secret": "s",
               "verify_token": "v", "graph_api_base": provider.url, "graph_api_version": "v21.0"},
        "mail": {"type": "email", "address": "support@example.com", "smtp": {"host": "127.0.0.1"}, "outbound_only": True},
    }}
    async with nexus_server(config, options=_no_receivers()) as server:
        _, body = await server.api("GET", "/channels", await server.admin_token())
    caps = {item["name"]: item["capabilities"] for item in body["items"]}
    assert (caps["bot"]["max_text_length"], caps["bot"]["text_length_unit"], caps["bot"]["splits_long_text"],
            caps["bot"]["max_caption_length"], caps["bot"]["attachments"]["max_size"]) == (
        4096, "utf16", True, 1024, 50 * 1024 * 1024)
    assert (caps["wa"]["max_text_length"], caps["wa"]["max_caption_length"], caps["wa"]["templates"],
            caps["wa"]["templates_required_after"]) == (4096, 1024, True, 86400.0)
    assert (caps["mail"]["html"], caps["mail"]["subject"], caps["mail"]["max_text_length"],
            caps["mail"]["attachments"]["max_total_size"]) == (True, True, None, 18 * 1024 * 1024)


def _no_receivers():
    from nexus.runtime import Options

    return Options(receivers=False, delivery_worker=False)


def test_capabilities_may_depend_on_the_instances_settings():
    from types import SimpleNamespace

    from nexus.capabilities import capabilities_of

    class Configurable(Channel):
        type_name = "configurable"

        @property
        def capabilities(self):
            return Capabilities(max_text_length=self.config["limit"])

    instance = Configurable("one", {"limit": 160}, None)
    running = SimpleNamespace(instance=instance, spec=SimpleNamespace(cls=Configurable))
    assert capabilities_of(running).max_text_length == 160
    not_started = SimpleNamespace(instance=None, spec=SimpleNamespace(cls=Configurable))
    assert capabilities_of(not_started) == Capabilities(), "the permissive default until an instance exists"
