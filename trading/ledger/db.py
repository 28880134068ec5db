"""Engines and sessions, created lazily per process (never shared across a fork).

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so two
processes never both read-then-write the same rows (the paper broker relies on this).
PostgreSQL relies on row locks (``SELECT ... FOR UPDATE``) instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError as SQLOperationalError
from sqlalchemy.orm import Session, sessionmaker

from trading.errors import TemporaryError

WRITE_LOCK_WAIT_SECONDS = 30
_lock = threading.Lock()
_databases: dict[tuple[int, str], Database] = {}


class Database:
    """One ledger database: a read engine and a write engine sharing a pool."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            engine = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=8,
                max_overflow=8,
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
        else:
            engine = create_engine(
                url,
                pool_size=5,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 5},
            )
        self.engine: Engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(tvbridge_write=True)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that will write: committed on success, rolled back on error."""
        with _translated(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A write transaction without the ORM, for the hottest statements."""
        with _translated(), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translated(), self._read() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def get_database(url: str) -> Database:
    """The Database for ``url`` in this process (a forked child gets its own)."""
    key = (os.getpid(), url)
    database = _databases.get(key)
    if database is None:
        with _lock:
            database = _databases.get(key)
            if database is None:
                database = _databases[key] = Database(url)
    return database


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except SQLOperationalError as error:
        # Locked or unreachable database: transient for the caller, who may retry.
        raise TemporaryError(f"ledger unavailable: {error.orig}") from error


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={WRITE_LOCK_WAIT_SECONDS * 1000}")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    if connection.get_execution_options().get("tvbridge_write"):
        _begin_immediate(connection.connection.dbapi_connection)
    else:
        connection.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in fine steps.

    SQLite's own busy handler sleeps 1, 2, 5, 10... ms between attempts, which turns a
    lock held for 2 ms into a 8 ms wait for the webhook; polling every ~0.2 ms does not.
    """
    deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
    delay = 0.0002
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={WRITE_LOCK_WAIT_SECONDS * 1000}")


def insert_or_ignore(session: Session, table: Any, **values: Any) -> None:
    """Insert a row unless its key exists: two first writers of a row (a lock, the day's
    first value) then both go on, one having created it, neither failing."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())
