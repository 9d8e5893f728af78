"""Group commit for single-response posts.

Every commit of a durable write costs a flush to disk (SQLite in WAL with synchronous=FULL; PostgreSQL's
WAL flush), and SQLite has one writer at a time. With each request committing alone, a burst of field
officers syncing at once queues on that one lock, each holding it for a flush of its own. Here, a request
that has done its reads and checks hands its insert to this process's writer thread and waits; the writer
takes every insert waiting at that moment (up to MAX_GROUP) and stores them in one transaction with the
same code as the batch endpoint (`store.store`), so one flush acknowledges them all.

What does not change: a response is acknowledged only after the transaction holding it has committed
(the request thread waits for exactly that); a retried id is still resolved by the UNIQUE constraint,
including two posts of the same id in one group; sequence numbers still follow commit order.
If a group's transaction fails as a whole (something no item check foresaw), each of its items is
retried alone, so one bad item never fails the others. A request that waits longer than the busy
timeout gets 503 with Retry-After; if its insert commits later, the retry is answered as a duplicate.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import Unavailable
from app.responses.store import store

MAX_GROUP = 256


class _Job:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    def submit(self, item: Any) -> Any:
        """Store one checked response (store.Pending); returns its outcome or AppError once committed."""
        self._ensure_thread()
        job = _Job(item)
        with self._ready:
            self._queue.append(job)
            self._ready.notify()
        if not job.done.wait(timeout=2 * get_settings().sqlite_busy_timeout_ms / 1000 + 5):
            raise Unavailable("The database is busy; retry shortly.", headers={"Retry-After": "1"})
        if job.error is not None:
            raise job.error
        return job.result

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
            group[0].done.set()
            return
        for job, result in zip(group, results, strict=True):
            job.result = result
            job.done.set()


committer = GroupCommitter()
