"""CPU work on large inputs, off the event loop.

Hashing, base64 and decoding a few kilobytes take microseconds, less than handing them to a
thread and back; on megabytes they take milliseconds, during which every request of the
process would wait. :func:`off_loop` runs work inline below :data:`OFF_LOOP_BYTES` of input
and in a worker thread above.

A thread only frees the loop if the work lets go of the GIL: ``hashlib`` does on large
inputs, but ``binascii`` (base64) and ``bytes.decode`` hold it for the whole call. Such work
goes through in pieces of :data:`CHUNK` bytes (:func:`b64encode`, :func:`b64decode`), between
which the interpreter can hand the loop its turn.

Plugins may use this module too (``from nexus.offload import off_loop``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["CHUNK", "OFF_LOOP_BYTES", "b64decode", "b64encode", "off_loop"]

P = ParamSpec("P")
T = TypeVar("T")

#: Inputs this large or larger are worked on in a thread (about where the work begins to cost
#: more than the hop: some 100 µs here).
OFF_LOOP_BYTES = 64 * 1024
#: The piece that GIL-holding work does at a time: a multiple of 3 (base64's input group) and
#: of 4 (its output group), well under a millisecond of work.
CHUNK = 3 * 4 * 16 * 1024

_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


async def off_loop(size: int, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)``, inline when ``size`` (the input's bytes) is below
    :data:`OFF_LOOP_BYTES`, else in a worker thread."""
    if size < OFF_LOOP_BYTES:
        return func(*args, **kwargs)
    return await asyncio.to_thread(func, *args, **kwargs)


def b64encode(data: bytes) -> bytes:
    """``base64.b64encode(data)``, a :data:`CHUNK` at a time."""
    if len(data) <= CHUNK:
        return base64.b64encode(data)
    view = memoryview(data)
    return b"".join(binascii.b2a_base64(view[i:i + CHUNK], newline=False) for i in range(0, len(view), CHUNK))


def b64decode(text: str | bytes) -> bytes:
    """``base64.b64decode(text, validate=True)``, a :data:`CHUNK` at a time: the same bytes, and
    the same :class:`binascii.Error` on anything but the standard alphabet with padding at the
    end."""
    try:
        raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    except UnicodeEncodeError:
        raise binascii.Error("Non-base64 digit found") from None
    if len(raw) <= CHUNK:
        return base64.b64decode(raw, validate=True)
    view = memoryview(raw)
    parts = []
    for i in range(0, len(view), CHUNK):
        piece = view[i:i + CHUNK]
        last = i + CHUNK >= len(view)
        if not _BASE64.fullmatch(piece) or (not last and piece[-1] == ord("=")):
            raise binascii.Error("Non-base64 digit found")
        parts.append(binascii.a2b_base64(piece))
    return b"".join(parts)
