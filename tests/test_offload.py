"""CPU work on large inputs leaves the event loop: hashing, base64 and payload encoding give
the same results as the plain calls, and run in a worker thread once the input is large."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading

import pytest

from nexus.offload import CHUNK, OFF_LOOP_BYTES, b64decode, b64encode, off_loop
from nexus.payloads import (
    BASE64,
    UTF8,
    decode_payload,
    decode_payload_async,
    encode_payload,
    encode_payload_async,
)
from nexus.storage import sha256_hex, sha256_of

SIZES = [0, 1, 2, 3, 4, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 2]


async def test_small_work_runs_inline_and_large_work_in_a_thread():
    loop_thread = threading.get_ident()
    assert await off_loop(OFF_LOOP_BYTES - 1, threading.get_ident) == loop_thread
    assert await off_loop(OFF_LOOP_BYTES, threading.get_ident) != loop_thread


async def test_off_loop_passes_arguments_and_raises_what_the_work_raises():
    assert await off_loop(OFF_LOOP_BYTES, int, "ff", base=16) == 255
    with pytest.raises(ValueError):
        await off_loop(OFF_LOOP_BYTES, int, "not a number")


@pytest.mark.parametrize("size", SIZES)
def test_chunked_base64_is_the_standard_encoding(size):
    data = os.urandom(size)
    encoded = base64.b64encode(data)
    assert b64encode(data) == encoded
    assert b64decode(encoded) == data
    assert b64decode(encoded.decode("ascii")) == data


@pytest.mark.parametrize("text", [
    b"QQ==QUJD" * (CHUNK // 8 + 1),  # padding in the middle, at a piece's end
    b"QUJD" * (CHUNK // 4) + b"QQ==" + b"QUJD",  # padding ending the first piece exactly
    b"QUJD" * (CHUNK // 4 + 1) + b"!",  # not the alphabet
    b"QUJD" * (CHUNK // 4) + b"QU\nJD",  # whitespace, which validate=True refuses
    b"QUJD" * (CHUNK // 4 + 1) + b"Q",  # truncated
    "QUJD" * (CHUNK // 4 + 1) + "é",  # not ASCII
    b"QQ==QUJD",  # and the same refusals below one piece
])
def test_chunked_base64_refuses_what_the_standard_decoder_refuses(text):
    with pytest.raises((binascii.Error, ValueError)):
        base64.b64decode(text, validate=True)
    with pytest.raises(binascii.Error):
        b64decode(text)


@pytest.mark.parametrize("payload, encoding", [
    (b'{"text": "hello"}', UTF8),
    (("Olá, ✓ " * CHUNK).encode(), UTF8),
    (b"a" * (CHUNK - 1) + "é".encode() * 3, UTF8),  # a character split between two pieces
    (b"a" * 2 * CHUNK + b"\x00", BASE64),  # NUL, which PostgreSQL refuses in text
    (b"a" * 2 * CHUNK + b"\xff", BASE64),  # not UTF-8
    (b"a" * 2 * CHUNK + b"\xc3", BASE64),  # a character cut off at the end
    ("\ud800".encode("utf-8", "surrogatepass") + b"a" * 2 * CHUNK, BASE64),  # a lone surrogate
    (os.urandom(3 * CHUNK), BASE64),
])
async def test_payloads_are_encoded_as_before_and_come_back_byte_for_byte(payload, encoding):
    text, used = encode_payload(payload)
    assert used == encoding
    if encoding == UTF8:
        assert text == payload.decode("utf-8")
    else:
        assert text == base64.b64encode(payload).decode("ascii")
    assert await encode_payload_async(payload) == (text, used)
    assert decode_payload(text, used) == payload
    assert await decode_payload_async(text, used) == payload


async def test_a_stored_payload_that_is_not_base64_is_an_error_off_the_loop_too():
    with pytest.raises(ValueError, match="not base64"):
        await decode_payload_async("QQ==" * OFF_LOOP_BYTES, BASE64)


@pytest.mark.parametrize("size", [0, OFF_LOOP_BYTES - 1, OFF_LOOP_BYTES, 4 * 1024 * 1024])
async def test_attachment_hashes_are_the_same_off_the_loop(size):
    data = os.urandom(size)
    assert await sha256_of(data) == sha256_hex(data) == hashlib.sha256(data).hexdigest()


async def test_the_loop_runs_other_tasks_while_a_large_payload_is_decoded():
    """base64 holds the GIL for a whole call: decoded a piece at a time in a thread, the loop
    gets its turns meanwhile (inline, the other task could not run before the decode ended)."""
    text = base64.b64encode(os.urandom(24 * 1024 * 1024)).decode("ascii")
    decoding = asyncio.ensure_future(decode_payload_async(text, BASE64))
    turns_during = 0

    async def other_task() -> None:
        nonlocal turns_during
        while not decoding.done():
            turns_during += 1
            await asyncio.sleep(0)

    await asyncio.gather(decoding, other_task())
    assert len(decoding.result()) == 24 * 1024 * 1024
    assert turns_during > 1
