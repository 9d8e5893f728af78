"""Engine, session dependency and the few dialect-specific helpers (SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.core.config import get_settings

T = TypeVar("T")


def _configure_sqlite(engine: Engine, synchronous: str, busy_ms: int) -> None:
    # The pysqlite driver's own transaction handling is replaced so that writes can use
    # BEGIN IMMEDIATE: a deferred transaction that later needs the write lock fails with
    # "database is locked" without waiting, whatever the busy timeout.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | None = None) -> Engine:
    settings = get_settings()
    url = url or settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Connections are cheap in SQLite; the pool must never be what request threads wait for.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
            pool_size=64,
            max_overflow=64,
            pool_timeout=120,
        )
        _configure_sqlite(engine, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(
        url, pool_size=settings.db_pool_size, max_overflow=48, pool_timeout=120, pool_pre_ping=True
    )


@lru_cache
def get_engine() -> Engine:
    return make_engine()


def is_sqlite(bind: Engine | Connection | Session) -> bool:
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"


# SQLite has one writer at a time and its busy handler polls with sleeps, so under sustained contention
# a waiting writer can starve past the busy timeout. Writers of this process therefore queue on a lock
# first (no polling), and only one of them at a time asks SQLite for its write lock.
_sqlite_writer = threading.Lock()


def _hold_writer(session: Session) -> None:
    if session.info.get("sqlite_writer") or not is_sqlite(session):
        return
    if not _sqlite_writer.acquire(timeout=get_settings().sqlite_busy_timeout_ms / 1000):
        from app.core.errors import Unavailable

        raise Unavailable("The database is busy; retry shortly.", headers={"Retry-After": "1"})
    session.info["sqlite_writer"] = True


def _release_writer(session: Session) -> None:
    if session.info.pop("sqlite_writer", False):
        _sqlite_writer.release()


@contextmanager
def session_scope(*, write: bool = False, engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: committed on success (before the caller answers anyone), rolled back on error."""
    engine = engine or get_engine()
    with engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
        if write:
            with writing(session):
                yield session
            return
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _session_dependency(kind: str, doc: str) -> Callable[[], AsyncIterator[Session]]:
    async def dependency() -> AsyncIterator[Session]:
        session = Session(bind=get_engine(), expire_on_commit=False)
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_finish, session, False)
            raise
        if session.in_transaction():
            await run_in_threadpool(_finish, session, True)
        else:
            session.close()

    dependency.__doc__ = doc
    dependency.session_kind = kind  # type: ignore[attr-defined]
    return dependency


# Creating the session does no I/O (a pooled connection is taken on first use, in the thread that uses it),
# so these run on the event loop; at the end, a transaction still open (reads) is committed in a worker
# thread, before the response is sent, and a session whose transactions are over is simply closed.
get_session = _session_dependency("read", "The request's read session.")
get_write_session = _session_dependency(
    "write",
    "A write route's session: the route class runs the whole (sync) endpoint inside writing(session), "
    "so it commits before the response is sent.",
)
get_staged_session = _session_dependency(
    "staged",
    "A write route that reads and computes first (no lock held), then writes briefly: its service opens "
    "`with writing(session):` itself (or hands rows to the group committer).",
)


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def begin_write(session: Session) -> None:
    """End the read-only part of the request and start the short write transaction.

    On SQLite the write transaction begins IMMEDIATE, so it waits for the lock (busy timeout) instead
    of failing on upgrade; what was read before stays valid because nothing is ever deleted or moved.
    """
    session.commit()
    _hold_writer(session)  # SQLite: queue behind this process's other writers first
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # ignored by PostgreSQL


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
StagedWriteSessionDep = Annotated[Session, Depends(get_staged_session, scope="function")]


@contextmanager
def writing(session: Session) -> Iterator[None]:
    """The request's write transaction, begun, committed (or rolled back) and released in the calling thread.

    The commit happens here, before the endpoint returns, so an acknowledged write is durable; and the
    SQLite writer lock is released by the same thread, never left to dependency teardown, which would
    need a free threadpool thread while every thread may be queued on that lock.
    """
    begin_write(session)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _release_writer(session)


def in_write_transaction(endpoint: Callable[..., T], session_param: str) -> Callable[..., T]:
    """`endpoint` run inside writing() of its write session (applied by the route class, not by hand)."""

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with writing(kwargs[session_param]):
            return endpoint(*args, **kwargs)

    return wrapper


def advisory_lock(session: Session, key: int) -> None:
    """Serialise a critical section across processes (PostgreSQL); SQLite's write lock already does."""
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


class RowWriter:
    """Inserts rows of one table through the driver, with values already in their stored form.

    For the write transaction's hot paths (ingest, demo data): SQLAlchemy's per-statement compilation and
    per-value processing are Python work done while the database's write lock is held. Here the SQL is
    built once per dialect and row count, and `stored()` converts a row's values (JSON → text, UTC
    datetimes → the column type's stored form) wherever the caller likes, typically before the write
    transaction. The stored forms are exactly what the ORM writes, so the ORM reads these rows back as
    its own (tested through the API).
    """

    CHUNK = 512  # most rows per INSERT (far below SQLite's and PostgreSQL's parameter limits)

    def __init__(self, table: Any, columns: list[str], dialect: Any) -> None:
        from sqlalchemy import JSON

        from app.models.types import UTCDateTime

        self.columns = columns
        pg = dialect.name == "postgresql"
        mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        self._marks = ", ".join(
            f"CAST({mark} AS jsonb)" if pg and isinstance(table.c[c].type, JSON) else mark for c in columns
        )
        self._convert: list[Callable[[Any], Any] | None] = []
        for c in columns:
            col_type = table.c[c].type
            if isinstance(col_type, UTCDateTime):
                self._convert.append(UTCDateTime().dialect_impl(dialect).bind_processor(dialect))
            elif isinstance(col_type, JSON):
                self._convert.append(json.dumps)  # None is stored as JSON null, as the ORM's JSON type does
            else:
                self._convert.append(None)
        self._head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        self._sql: dict[tuple[int, str | None], str] = {}  # by (row count, conflict key): a handful of texts

    def stored(self, values: dict[str, Any]) -> tuple[Any, ...]:
        """The row's values in column order, converted to what the driver is given."""
        return tuple(
            values[c] if f is None else f(values[c]) for c, f in zip(self.columns, self._convert, strict=True)
        )

    def stored_value(self, column: str, value: Any) -> Any:
        f = self._convert[self.columns.index(column)]
        return value if f is None else f(value)

    def _statement(self, n: int, conflict_key: str | None) -> str:
        key = (n, conflict_key)
        if key not in self._sql:
            sql = self._head + ", ".join([f"({self._marks})"] * n)
            if conflict_key is not None:
                sql += f" ON CONFLICT ({conflict_key}) DO NOTHING RETURNING {conflict_key}"
            self._sql[key] = sql
        return self._sql[key]

    def insert(
        self, bind: Session | Connection, rows: list[tuple[Any, ...]], conflict_key: str | None = None
    ) -> set[Any]:
        """Insert stored rows; with `conflict_key`, rows whose key exists are skipped and the inserted keys returned.

        Multi-row statements, not executemany: one round into the database per statement, during which the
        driver releases the GIL (executemany takes it back after every row). Statements hold a power-of-two
        number of rows (13 rows: 8 + 4 + 1), so each connection's cache of prepared statements keeps a
        few shapes, not one per group size.
        """
        conn = bind.connection() if isinstance(bind, Session) else bind
        inserted: set[Any] = set()
        i = 0
        while i < len(rows):
            n = min(self.CHUNK, 1 << ((len(rows) - i).bit_length() - 1))
            chunk = rows[i : i + n]
            params = tuple(v for row in chunk for v in row)
            result = conn.exec_driver_sql(self._statement(n, conflict_key), params)
            if conflict_key is not None:
                inserted.update(r[0] for r in result)
            i += n
        return inserted


_writers: dict[tuple[str, tuple[str, ...], str], RowWriter] = {}


def row_writer(table: Any, columns: tuple[str, ...], dialect: Any) -> RowWriter:
    """The RowWriter of (table, columns) for this dialect, built once."""
    key = (table.name, columns, dialect.name)
    if key not in _writers:
        _writers[key] = RowWriter(table, list(columns), dialect)
    return _writers[key]
