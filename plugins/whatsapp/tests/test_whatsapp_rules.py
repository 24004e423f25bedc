"""The plugin's rules on their own: number spellings, Meta's error codes, signatures and the
splitting of long text."""

from __future__ import annotations

import pytest
from nexus_whatsapp.errors import GraphAPIError, to_channel_error
from nexus_whatsapp.identity import canonical_wa_id, sender_identity
from nexus_whatsapp.inbound import parse_message
from nexus_whatsapp.outbound import recipient_fields, split_text
from nexus_whatsapp.signature import sign, signature_valid, subscription_challenge
from whatsapp_fakes import graph_error

from nexus import PermanentError, RetryableError


@pytest.mark.parametrize(
    ("wa_id", "canonical"),
    [
        ("553188887777", "5531988887777"),  # Brazilian mobile without the ninth digit
        ("5531988887777", "5531988887777"),  # ... and with it
        ("551133334444", "551133334444"),  # a São Paulo landline has eight digits
        ("5215512345678", "525512345678"),  # Mexico's legacy mobile prefix
        ("525512345678", "525512345678"),
        ("14155550101", "14155550101"),
        ("+447700900123", "447700900123"),
        ("US.13491208655302741918", "US.13491208655302741918"),  # a business-scoped user id
    ],
)
def test_spellings_of_one_number_share_a_key(wa_id: str, canonical: str) -> None:
    assert canonical_wa_id(wa_id) == canonical


def test_an_identity_replies_to_the_spelling_received() -> None:
    identity = sender_identity(
        "553188887777", {"profile": {"name": "Rafael"}, "wa_id": "553188887777"}
    )
    assert identity.address == "553188887777"
    assert identity.key == "5531988887777"
    assert identity.display_name == "Rafael"
    assert identity.profile["phone"] == "+5531988887777"


def test_a_user_known_only_by_business_scoped_id_is_answered_by_it() -> None:
    incoming = parse_message(
        {
            "from_user_id": "US.13491208655302741918",
            "id": "wamid.u1",
            "timestamp": "1767225600",
            "type": "text",
            "text": {"body": "hi"},
        },
        {
            "US.13491208655302741918": {
                "profile": {"name": "Sam", "username": "@sam"},
                "user_id": "US.13491208655302741918",
            }
        },
    )
    sender = incoming.message.sender
    assert sender.address == "US.13491208655302741918" and sender.display_name == "Sam"
    assert recipient_fields(sender.address) == {"recipient": "US.13491208655302741918"}
    assert recipient_fields("5511987654321") == {"to": "5511987654321"}


@pytest.mark.parametrize(
    ("status", "code", "expected", "pause"),
    [
        (400, 131047, PermanentError, None),
        (400, 131026, PermanentError, None),
        (400, 131030, PermanentError, None),
        (400, 100, PermanentError, None),
        (400, 130429, RetryableError, 1.0),
        (400, 80007, RetryableError, 60.0),
        (400, 131056, RetryableError, None),  # one recipient's limit holds no other reply
        (500, 131000, RetryableError, None),
        (503, 2, RetryableError, None),
        (401, 190, RetryableError, None),
    ],
)
def test_meta_errors_map_to_a_retry_or_a_failure(
    status: int, code: int, expected: type, pause: float | None
) -> None:
    error = GraphAPIError.from_response(status, graph_error(code, "Title", "Details."), {})
    mapped = to_channel_error(error)
    assert type(mapped) is expected
    assert mapped.code == str(code)
    assert getattr(mapped, "retry_after", None) == pause


def test_retry_after_from_meta_is_honoured_except_for_the_pair_limit() -> None:
    throttled = GraphAPIError.from_response(
        429, {"error": {"message": "Too many calls"}}, {"Retry-After": "7"}
    )
    assert to_channel_error(throttled).retry_after == 7.0
    pair = GraphAPIError.from_response(
        400, graph_error(131056, "pair rate limit hit"), {"Retry-After": "7"}
    )
    assert to_channel_error(pair).retry_after is None


def test_error_text_combines_title_and_details() -> None:
    error = GraphAPIError.from_response(
        400, graph_error(131047, "Re-engagement message", "More than 24 hours have passed."), {}
    )
    assert error.describe().startswith("Re-engagement message: More than 24 hours have passed. ")
    assert "template" in error.describe()


def test_signatures_and_the_verification_handshake() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = sign(body, "secret")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_valid(body, header, "secret")
    assert not signature_valid(body + b" ", header, "secret")
    assert not signature_valid(body, None, "secret")
    query = {"hub.mode": "subscribe", "hub.verify_token": "token", "hub.challenge": "abc"}
    assert subscription_challenge(query, "token") == "abc"
    assert subscription_challenge(query, "other") is None


def test_long_text_is_cut_at_a_space_within_the_limit() -> None:
    text = ("word " * 2000).strip()
    pieces = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces) == text
    assert split_text("x" * 5000, 4096) == ["x" * 4096, "x" * 904]
