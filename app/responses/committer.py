"""Group commit for single-response posts.

Every commit of a durable write costs a flush to disk (SQLite in WAL with synchronous=FULL; PostgreSQL's
WAL flush), and SQLite has one writer at a time. With each request committing alone, a burst of field
officers syncing at once queues on that one lock, each holding it for a flush of its own. Here, a request
that has done its checks hands its insert to this process's writer thread and waits; the writer takes every
insert waiting at that moment (up to MAX_GROUP) and stores them in one transaction with the same code as the
batch endpoint (`store.store`), so one flush acknowledges them all.

Two ways to wait: a worker thread blocks in `submit` (OpenRosa, inline registrations, form links); the single
JSON post's hot path awaits `submit_async` on the event loop, with no worker thread at all, and its facility
is read in the group's transaction (one read for the group). The writer wakes each event loop once per group.

What does not change: a response is acknowledged only after the transaction holding it has committed
(the request thread waits for exactly that); a retried id is still resolved by the UNIQUE constraint,
including two posts of the same id in one group; sequence numbers still follow commit order.
If a group's transaction fails as a whole (something no item check foresaw), each of its items is
retried alone, so one bad item never fails the others. A request that waits longer than the busy
timeout gets 503 with Retry-After; if its insert commits later, the retry is answered as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import Unavailable
from app.responses.store import store

MAX_GROUP = 256


class _Job:
    """One item waiting for its group: a thread waits on `done`; a coroutine awaits `future` on `loop`."""

    __slots__ = ("item", "done", "result", "error", "loop", "future")

    def __init__(self, item: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.item = item
        self.done = threading.Event() if loop is None else None
        self.result: Any = None
        self.error: BaseException | None = None
        self.loop = loop
        self.future: asyncio.Future[Any] | None = loop.create_future() if loop is not None else None

    def finish(self) -> None:
        """On the loop (or in place for a waiting thread): hand over the outcome."""
        if self.future is None:
            assert self.done is not None
            self.done.set()
        elif not self.future.done():  # a request that gave up (503) is not told
            if self.error is not None:
                self.future.set_exception(self.error)
            else:
                self.future.set_result(self.result)


def _give_up(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(
            Unavailable("The database is busy; retry shortly.", headers={"Retry-After": "1"})
        )


def _finish_all(jobs: list[_Job]) -> None:
    for job in jobs:
        job.finish()


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    @staticmethod
    def wait_seconds() -> float:
        """How long a request waits for its group before answering 503 (twice the busy timeout, plus 5 s)."""
        return 2 * get_settings().sqlite_busy_timeout_ms / 1000 + 5

    def submit(self, item: Any) -> Any:
        """Store one checked response (store.Pending); returns its outcome or AppError once committed."""
        self._ensure_thread()
        job = _Job(item)
        assert job.done is not None
        with self._ready:
            self._queue.append(job)
            self._ready.notify()
        if not job.done.wait(timeout=self.wait_seconds()):
            raise Unavailable("The database is busy; retry shortly.", headers={"Retry-After": "1"})
        if job.error is not None:
            raise job.error
        return job.result

    async def submit_async(self, item: Any) -> Any:
        """The same as `submit`, awaited on the event loop instead of blocking a worker thread (the single
        post's hot path: no thread hop; the writer thread wakes the loop once per group)."""
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        job = _Job(item, loop)
        future = job.future
        assert future is not None
        with self._ready:
            self._queue.append(job)
            self._ready.notify()
        timer = loop.call_later(self.wait_seconds(), _give_up, future)
        try:
            return await future
        finally:
            timer.cancel()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._started:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                group = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_GROUP))]
            self._commit(group)

    def _commit(self, group: list[_Job]) -> None:
        try:
            with session_scope(write=True) as session:
                results = store(session, [job.item for job in group])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request, or retried alone
            if len(group) > 1:
                for job in group:
                    self._commit([job])
                return
            group[0].error = exc
            self._hand_over(group)
            return
        for job, result in zip(group, results, strict=True):
            job.result = result
        self._hand_over(group)

    @staticmethod
    def _hand_over(group: list[_Job]) -> None:
        """Wake the waiting threads, and each event loop once for all its jobs of the group."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            if job.loop is None:
                job.finish()
            else:
                by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody is waiting any more
                loop.call_soon_threadsafe(_finish_all, jobs)


committer = GroupCommitter()
