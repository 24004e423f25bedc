"""nexus.http, the helpers every HTTP channel shares, against a real local HTTP server."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from nexus import PermanentError, RetryableError, http
from nexus.http import HttpClient, error_for_status, hmac_signature, retry_after, signatures_match
from nexus.testing import FakeProvider, Reply
from nexus.testing.server import free_port


@pytest.fixture
async def api(fake_provider) -> FakeProvider:
    provider = await fake_provider()

    def answer(request):
        sent = request.json() if request.header("Content-Type") == "application/json" else dict(request.form())
        return {"id": "m-1", "echo": sent}

    provider.route("POST", "/v1/messages", answer)
    return provider


async def test_call_returns_the_json_and_sends_credentials_and_a_user_agent(api):
    async with HttpClient(api.url + "/v1/", bearer="s3cret", timeout=5) as client:
        answer = await client.call("POST", "messages", json={"to": "+15550100"})
    assert answer == {"id": "m-1", "echo": {"to": "+15550100"}}
    (request,) = api.requests_to("POST", "/v1/messages")
    assert request.header("Authorization") == "Bearer s3cret"
    assert request.header("User-Agent").startswith("nexus-helpdesk/")


async def test_basic_auth_is_sent_as_the_provider_expects(api):
    async with HttpClient(api.url + "/v1", basic_auth=("AC123", "token")) as client:
        await client.call("POST", "/messages", data={"Body": "hi"})
    (request,) = api.requests_to("POST", "/v1/messages")
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"AC123:token").decode()
    assert request.form() == {"Body": "hi"}


async def test_a_rate_limit_is_retryable_after_the_providers_delay(api):
    api.fail(1, status=429, json={"message": "slow down", "code": 20429}, headers={"Retry-After": "7"})
    async with HttpClient(api.url + "/v1") as client:
        with pytest.raises(RetryableError) as caught:
            await client.call("POST", "messages", json={})
    assert (caught.value.message, caught.value.code, caught.value.retry_after) == ("provider answered 429: slow down", "20429", 7.0)


async def test_a_client_error_is_permanent_with_the_providers_own_words(api):
    api.fail(1, status=400, json={"error": {"message": "The 'To' number is not valid", "code": 21211}})
    async with HttpClient(api.url + "/v1", provider="SMS API") as client:
        with pytest.raises(PermanentError) as caught:
            await client.call("POST", "messages", json={})
    assert (caught.value.message, caught.value.code) == ("The 'To' number is not valid", "21211")


async def test_a_server_error_without_a_body_names_the_provider_and_status(api):
    api.fail(1, status=502, body=b"<html>Bad gateway</html>")
    async with HttpClient(api.url + "/v1", provider="SMS API") as client:
        with pytest.raises(RetryableError) as caught:
            await client.call("POST", "messages")
    assert (caught.value.message, caught.value.code, caught.value.retry_after) == ("SMS API answered 502", "502", None)


async def test_an_unreachable_provider_is_a_retryable_network_error():
    async with HttpClient(f"http://127.0.0.1:{free_port()}", provider="SMS API", timeout=5) as client:
        with pytest.raises(RetryableError) as caught:
            await client.call("GET", "anything")
    assert caught.value.code == "network"
    assert caught.value.message.startswith("could not reach SMS API: ")


async def test_request_answers_any_status_and_a_custom_description_is_used(api):
    api.route("GET", "/v1/odd", lambda request: Reply(404, json={"errors": [{"title": "no such thing", "id": "E404"}]}))

    def describe(answer):
        first = answer.json()["errors"][0]
        return first["title"], first["id"]

    async with HttpClient(api.url + "/v1", describe=describe) as client:
        answer = await client.request("GET", "odd")
        assert (answer.status, answer.ok) == (404, False)
        with pytest.raises(PermanentError) as caught:
            await client.call("GET", "odd")
    assert (caught.value.message, caught.value.code) == ("no such thing", "E404")


def test_a_client_that_was_not_opened_says_so():
    with pytest.raises(RuntimeError, match="not open"):
        HttpClient("http://example.invalid").session  # noqa: B018


@pytest.mark.parametrize(("status", "kind"), [
    (400, PermanentError), (401, PermanentError), (404, PermanentError), (408, RetryableError),
    (409, PermanentError), (425, RetryableError), (429, RetryableError), (500, RetryableError),
    (503, RetryableError), (504, RetryableError),
])
def test_statuses_are_classified(status, kind):
    assert type(error_for_status(status)) is kind


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_hmac_signatures_match_the_rfc_4231_vectors():
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hmac_signature("Jefe", "what do ya want for nothing?") == expected
    raw = bytes.fromhex(expected)
    assert hmac_signature(b"Jefe", b"what do ya want for nothing?", encoding="base64") == base64.b64encode(raw).decode()


def test_signatures_are_compared_whole():
    assert signatures_match("sha256=abc", "sha256=abc")
    assert signatures_match(" sha256=abc\n", "sha256=abc")
    assert signatures_match(b"abc", b"abc")
    assert not signatures_match("sha256=abd", "sha256=abc")
    assert not signatures_match("sha256=ab", "sha256=abc")
    assert not signatures_match(None, "sha256=abc")
    assert not signatures_match("", "")


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"text": "Ol\xe1"}', "not UTF-8 text"),
    (b'{"text": "a\x00b"}', "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_read_json_says_why_a_body_cannot_be_read(body, reason):
    class Unreadable(http.UnreadablePayload):
        pass

    with pytest.raises(Unreadable, match=reason):
        http.read_json(body, Unreadable)
    assert http.read_json(b'{"ok": [1, "\\u00e9"]}') == {"ok": [1, "é"]}
