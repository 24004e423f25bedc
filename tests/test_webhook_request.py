"""What a plugin gets from a webhook: the URL the provider called, the raw and multi-valued
query, the form, and a body never larger than the channel allows.

The channel here verifies webhooks the way Twilio documents for SMS: the signature is the
base64 HMAC-SHA1, under the account's auth token, of the full URL the provider called
(query string included) followed by each POST parameter's name and value, sorted by name.
A provider that does exactly that calls Nexus directly and through a real reverse proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from base64 import b64encode
from collections.abc import Iterable
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from nexus import (
    Channel,
    ChannelConfig,
    Identity,
    InboundMessage,
    WebhookRequest,
    WebhookResponse,
    hookimpl,
)
from nexus.http import signatures_match
from nexus.testing import RunningNexus

AUTH_TOKEN = "12345678901234567890123456789012"
SIGNATURE_HEADER = "X-Twilio-Signature"
PATH = "/webhooks/textmsg/sms"


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's scheme: the URL, then each parameter's name and value sorted by name (and a
    repeated name's values sorted too), HMAC-SHA1, base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    return b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class TextConfig(ChannelConfig):
    auth_token: SecretStr


class TextChannel(Channel):
    """A Twilio-style SMS channel's inbound half, as a third party writes it."""

    type_name = "textmsg"
    Config = TextConfig
    max_webhook_body = 64 * 1024
    config: TextConfig
    seen: list[WebhookRequest] = []

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        self.seen.append(request)
        form = request.form()
        expected = twilio_signature(self.config.auth_token.get_secret_value(), request.url, form.pairs)
        if not signatures_match(request.header(SIGNATURE_HEADER), expected):
            return WebhookResponse.error(403, "bad_signature", f"{SIGNATURE_HEADER} does not sign {request.url}")
        await self.host.receive(InboundMessage(
            external_id=form["MessageSid"], sender=Identity(form["From"]), text=form["Body"],
            metadata={"media": form.getall("MediaUrl")},
        ))
        return WebhookResponse(200, "<Response/>", content_type="text/xml")


class TextPlugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(TextChannel)


def settings(**server) -> dict:
    config: dict = {"channels": {"sms": {"type": "textmsg", "auth_token": AUTH_TOKEN}}}
    if server:
        config["server"] = server
    return config


FORM = [("MessageSid", "SM0001"), ("From", "+15550100001"), ("To", "+15550100999"), ("Body", "Hello & goodbye+ü"),
        ("MediaUrl", "https://media.example/b"), ("MediaUrl", "https://media.example/a"), ("NumMedia", "2")]
QUERY = "channel=support&tag=b&tag=a&note=two%20words"


async def deliver(target: str, signed_url: str, form=FORM, extra_headers: dict | None = None) -> tuple[int, str]:
    """POST the form to ``target`` the way the provider does, signed for ``signed_url``."""
    headers = {SIGNATURE_HEADER: twilio_signature(AUTH_TOKEN, signed_url, form),
               "Content-Type": "application/x-www-form-urlencoded", **(extra_headers or {})}
    async with aiohttp.ClientSession() as http, http.post(target, data=urlencode(form), headers=headers) as response:
        return response.status, await response.text()


@pytest.fixture(autouse=True)
def fresh_log():
    TextChannel.seen = []


@pytest.fixture
async def server(nexus_server):
    async with nexus_server(settings(), plugins={"textmsg": TextPlugin()}) as running:
        yield running


async def test_a_url_signed_form_verifies_against_the_url_the_provider_called(server: RunningNexus):
    url = f"{server.url}{PATH}?{QUERY}"
    status, body = await deliver(url, url)
    assert (status, body) == (200, "<Response/>")
    (request,) = TextChannel.seen
    assert request.url == url
    assert request.query_string == QUERY
    assert request.query == {"channel": "support", "tag": "b", "note": "two words"}
    assert request.query_params.getall("tag") == ["b", "a"]
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form().pairs == tuple(FORM)
    (message,) = await server.messages("sms")
    assert (message.text, message.metadata["media"]) == ("Hello & goodbye+ü", ["https://media.example/b", "https://media.example/a"])


async def test_a_signature_for_another_url_is_refused(server: RunningNexus):
    status, _ = await deliver(f"{server.url}{PATH}?{QUERY}", f"{server.url}{PATH}?channel=sales")
    assert status == 403
    assert await server.messages("sms") == []


async def test_server_public_url_is_the_url_behind_a_proxy_that_forwards_nothing(nexus_server, reverse_proxy):
    async with nexus_server(settings(public_url="https://support.example.com/nexus"),
                            plugins={"textmsg": TextPlugin()}) as server:
        proxy = await reverse_proxy(server.url, strip_prefix="/nexus")
        status, _ = await deliver(f"{proxy}/nexus{PATH}?{QUERY}", f"https://support.example.com/nexus{PATH}?{QUERY}")
        assert status == 200
        assert TextChannel.seen[0].url == f"https://support.example.com/nexus{PATH}?{QUERY}"


async def test_a_trusted_proxys_forwarded_scheme_host_and_client_are_believed(nexus_server, reverse_proxy):
    async with nexus_server(settings(trusted_proxies=["127.0.0.0/8"]), plugins={"textmsg": TextPlugin()}) as server:
        proxy = await reverse_proxy(server.url, forwarded={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com",
                                                            "X-Forwarded-For": "203.0.113.7"})
        status, _ = await deliver(f"{proxy}{PATH}?{QUERY}", f"https://sms.example.com{PATH}?{QUERY}")
        assert status == 200
        (request,) = TextChannel.seen
        assert (request.url, request.remote_addr) == (f"https://sms.example.com{PATH}?{QUERY}", "203.0.113.7")


async def test_forwarded_headers_from_an_untrusted_address_are_ignored(server: RunningNexus, reverse_proxy):
    proxy = await reverse_proxy(server.url, forwarded={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com"})
    status, _ = await deliver(f"{proxy}{PATH}", f"https://sms.example.com{PATH}")
    assert status == 403, "an untrusted caller must not choose the URL its signature is checked against"
    assert TextChannel.seen[0].url == f"{server.url}{PATH}"
    assert TextChannel.seen[0].remote_addr == "127.0.0.1"
    assert await server.messages("sms") == []


def test_trusted_proxies_is_a_checked_setting(tmp_path, monkeypatch):
    from nexus.config import ConfigErrors, load_settings

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigErrors) as caught:
        load_settings(environ={"NEXUS_SERVER__TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"})
    (line,) = caught.value.lines()
    assert line.startswith("config error: server.trusted_proxies: ")
    assert "'proxy.local' is not an IP address or network" in line
    loaded = load_settings(environ={"NEXUS_SERVER__TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.2"})
    assert loaded.settings.server.trusted_proxies == ["10.0.0.0/8", "192.168.1.2"]


# --- Body limits -----------------------------------------------------------------------


async def test_a_body_larger_than_the_channel_allows_is_refused_before_it_is_read(server: RunningNexus):
    limit = TextChannel.max_webhook_body
    answer = await server.post_webhook("sms", b"x" * (limit + 1))
    assert answer.status == 413
    assert answer.body["error"]["code"] == "payload_too_large"
    assert answer.body["error"]["details"] == [{"field": "body", "problem": f"larger than {limit} bytes"}]
    assert TextChannel.seen == [], "the plugin never saw it"


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(server: RunningNexus):
    """No Content-Length: the host counts the chunks as they arrive and answers 413 as soon as
    they pass the limit. The body here never ends, so waiting for its end would hang."""
    limit = TextChannel.max_webhook_body
    reader, writer = await asyncio.open_connection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    writer.write(f"POST {PATH} HTTP/1.1\r\nHost: nexus\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    sent = 0
    while sent <= limit:  # one chunk past the limit, and never the final empty chunk
        chunk = b"y" * 8192
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sent += len(chunk)
    await writer.drain()
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
    writer.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert TextChannel.seen == []


async def test_a_body_of_exactly_the_limit_is_accepted(server: RunningNexus):
    filler = "x" * (TextChannel.max_webhook_body - len(urlencode(FORM)) - len("&Pad="))
    form = [*FORM, ("Pad", filler)]
    assert len(urlencode(form)) == TextChannel.max_webhook_body
    status, _ = await deliver(f"{server.url}{PATH}", f"{server.url}{PATH}", form=form)
    assert status == 200


def test_the_default_limit_is_a_few_megabytes():
    assert Channel.max_webhook_body == 4 * 1024 * 1024


# --- A real reverse proxy --------------------------------------------------------------


@pytest.fixture
async def reverse_proxy():
    """``await reverse_proxy(upstream, forwarded=..., strip_prefix=...)``: an HTTP proxy that
    passes requests on to ``upstream`` with the given forwarded headers, as nginx would."""
    runners: list[web.AppRunner] = []

    async def start(upstream: str, *, forwarded: dict[str, str] | None = None, strip_prefix: str = "") -> str:
        session = aiohttp.ClientSession(auto_decompress=False)

        async def forward(request: web.Request) -> web.Response:
            path = request.raw_path
            if strip_prefix and path.startswith(strip_prefix):
                path = path[len(strip_prefix):]
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            headers.update(forwarded or {})
            async with session.request(request.method, upstream + path, headers=headers, data=await request.read()) as answer:
                return web.Response(status=answer.status, body=await answer.read(),
                                    headers={"Content-Type": answer.headers.get("Content-Type", "text/plain")})

        app = web.Application(client_max_size=1024 ** 2)
        app.router.add_route("*", "/{tail:.*}", forward)
        app.on_cleanup.append(lambda _: session.close())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()
