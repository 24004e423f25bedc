"""Grouped commits: rows that callers add while a commit is under way are written together, in
one statement and one commit, and each caller is answered only once its row is committed.

At most one write runs at a time. The first row after a quiet spell is written at once (after
waiting up to ``max_wait`` for company, when set); rows that arrive meanwhile form the next
batch, up to ``max_batch`` rows. So under load one commit serves many callers, and when idle
nothing runs at all: no task, no timer.

When a write fails, every caller of its batch gets the error; the write itself must be
all-or-nothing (one statement), so that no row of a failed batch is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Batches rows for ``write``, which stores a batch in one commit and returns one id per
    row, in order."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Sequence[int]]], *, max_batch: int,
                 max_wait: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("a batch holds at least one row")
        self._write = write
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._waiting: list[tuple[T, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._full = asyncio.Event()
        #: Batches written so far (for tests and metrics).
        self.batches = 0

    async def add(self, row: T) -> int:
        """Store ``row``; returns its id once its batch is committed, or raises the batch's
        error. A caller that is cancelled meanwhile does not take its row out of the batch."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if len(self._waiting) >= self.max_batch:
            self._full.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._run(), name="group-commit")
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                await self._gather()
                batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
                if len(self._waiting) < self.max_batch:
                    self._full.clear()
                await self._commit(batch)
        finally:
            self._writer = None
            left, self._waiting = self._waiting, []  # only when the writer itself was cancelled
            for _, future in left:
                if not future.done():
                    future.set_exception(RuntimeError("stopped before the commit"))

    async def _gather(self) -> None:
        """Let the rows already on their way join: one turn of the loop, or up to ``max_wait``."""
        if len(self._waiting) >= self.max_batch:
            return
        if self.max_wait <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._full.wait(), self.max_wait)

    async def _commit(self, batch: list[tuple[T, asyncio.Future[int]]]) -> None:
        try:
            ids = await self._write([row for row, _ in batch])
            if len(ids) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} rows was stored with {len(ids)} ids")
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the commit was interrupted"))
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self.batches += 1
        for (_, future), row_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(row_id)

    async def close(self) -> None:
        """Wait for what was added to be written."""
        while self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)
