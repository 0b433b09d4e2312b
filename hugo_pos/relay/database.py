"""Connections to the relay's database: SQLite (one WAL file) or PostgreSQL (psycopg 3).

Statements are written once with ``?`` placeholders and rewritten to ``%s`` for psycopg. Each
thread keeps its own connection (SQLite and psycopg connections must not be shared between
threads, nor across a fork). Statements are prepared once per connection by the drivers
(sqlite3's statement cache, psycopg's auto-prepare).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from hugo_pos.errors import HugoPosError


def default_database_url(site: Path | None) -> str:
    """Return the SQLite URL used when ``HUGO_POS_DATABASE_URL`` is unset."""
    base = (site / ".hugo_pos") if site else Path(".hugo_pos")
    return f"sqlite:///{(base / 'relay.sqlite3').resolve()}"


def connect(url: str) -> Database:
    """Return the database at ``url``: ``sqlite:///relative/path``, ``sqlite:////absolute/path``
    (an in-memory database is refused: threads need one shared file) or ``postgresql://...``.
    """
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return SqliteDatabase(url)
    if scheme in ("postgres", "postgresql"):
        return PostgresDatabase(url)
    raise HugoPosError(f"unsupported database URL scheme {scheme!r}",
                       "set HUGO_POS_DATABASE_URL to sqlite:///path/relay.sqlite3 or "
                       "postgresql://user:password@host/db")


class Tx:
    """A transaction's cursor: ``run`` executes one statement, ``rows``/``row`` read results."""

    def __init__(self, conn: Any, db: Database) -> None:
        self.conn, self.db = conn, db

    def run(self, sql: str, params: Sequence = ()) -> Any:
        return self.conn.execute(self.db.sql(sql), tuple(params))

    def rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        cursor = self.run(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def row(self, sql: str, params: Sequence = ()) -> dict | None:
        found = self.rows(sql, params)
        return found[0] if found else None


class Database:
    """A database URL and a connection per thread. Subclasses supply the dialect."""

    lock_clause = ""  # FOR UPDATE SKIP LOCKED where the database has it

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def sql(self, statement: str) -> str:
        """Rewrite a ``?``-placeholder statement for this database's driver."""
        return statement

    def _connect(self) -> Any:
        raise NotImplementedError

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        # A connection the server dropped (PostgreSQL restarted) is replaced, not reused.
        if conn is None or self._local.pid != os.getpid() or getattr(conn, "broken", False) \
                or getattr(conn, "closed", False):
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        raise NotImplementedError
        yield  # pragma: no cover

    def read(self) -> Tx:
        """A cursor for reads outside a transaction (autocommit)."""
        return Tx(self._conn(), self)

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def lock_schema(self, tx: Tx) -> None:
        """Serialize concurrent migrations (several replicas starting at once)."""


class SqliteDatabase(Database):
    """One SQLite file in WAL mode; writers serialize on ``BEGIN IMMEDIATE``.

    ``synchronous=NORMAL`` by default: a commit survives the relay process being killed (the
    WAL is written before the answer), not a power cut of the machine; add
    ``?synchronous=FULL`` to the URL for that (an fsync per commit, several ms on most disks).
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parsed = urlparse(url)
        self.synchronous = parse_qs(parsed.query).get("synchronous", ["NORMAL"])[0].upper()
        if self.synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise HugoPosError(f"unknown SQLite synchronous mode {self.synchronous!r}",
                               "use ?synchronous=NORMAL or ?synchronous=FULL")
        # sqlite:///relative and sqlite:////absolute, as SQLAlchemy spells them.
        raw = unquote(parsed.path)[1:]
        self.path = Path(raw)
        if raw in ("", ":memory:"):
            raise HugoPosError("an in-memory SQLite database cannot be shared by the relay",
                               "set HUGO_POS_DATABASE_URL to sqlite:///path/relay.sqlite3")
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                               check_same_thread=False, cached_statements=256)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(conn, self)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class PostgresDatabase(Database):
    """PostgreSQL through psycopg 3; workers claim rows with ``FOR UPDATE SKIP LOCKED``."""

    lock_clause = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise HugoPosError("PostgreSQL needs psycopg 3",
                               "pip install 'hugo-pos[postgres]'") from None

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        with conn.transaction():
            yield Tx(conn, self)

    def lock_schema(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(7142001)")
