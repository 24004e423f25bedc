"""Password hashing and checks run beside the event loop: in threads of their own, fewer than
the cores, at a lower CPU priority than the loop's (on Linux), never on the loop itself."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from nexus.accounts import HASHING_NICENESS, HASHING_THREADS, hashing
from nexus.auth import hash_password, verify_password


def here() -> tuple[str, int]:
    """The calling thread's name and its niceness."""
    return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_passwords_are_hashed_and_checked_off_the_loop():
    encoded = await hashing(hash_password, "correct horse battery")
    assert await hashing(verify_password, "correct horse battery", encoded)
    assert not await hashing(verify_password, "wrong horse battery", encoded)
    name, _ = await hashing(here)
    assert name.startswith("nexus-password")
    assert threading.current_thread() is threading.main_thread()


async def test_no_more_checks_run_at_once_than_the_hashing_threads():
    names = await asyncio.gather(*(hashing(here) for _ in range(4 * HASHING_THREADS + 4)))
    assert 1 <= len({name for name, _ in names}) <= HASHING_THREADS


@pytest.mark.skipif(sys.platform != "linux", reason="threads have priorities of their own on Linux")
async def test_hashing_threads_yield_the_cpu_to_the_loop():
    _, loop_niceness = here()
    _, niceness = await hashing(here)
    assert niceness == min(19, loop_niceness + HASHING_NICENESS)
