"""Connections to the relay's database: SQLite (one WAL file) or PostgreSQL (psycopg 3).

Statements are written once with ``?`` placeholders and rewritten to ``%s`` for psycopg. Each
thread keeps its own connection (SQLite and psycopg connections must not be shared between
threads, nor across a fork). Statements are prepared once per connection by the drivers
(sqlite3's statement cache, psycopg's auto-prepare).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from hugo_pos.errors import HugoPosError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: SQLite's busy handler alone
    fcntl = None

log = logging.getLogger(__name__)


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

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file, where there is one to fold."""


class SqliteDatabase(Database):
    """One SQLite file in WAL mode; writers serialize on ``BEGIN IMMEDIATE``.

    ``synchronous=NORMAL`` by default: a commit survives the relay process being killed (the
    WAL is written before the answer), not a power cut of the machine; add
    ``?synchronous=FULL`` to the URL for that (an fsync per commit, several ms on most disks).

    Write transactions also take an exclusive ``flock`` on ``<database>-writer.lock`` (one open
    file per connection, so threads exclude each other too) before ``BEGIN IMMEDIATE``. A writer
    that finds the database locked by another process otherwise waits in SQLite's busy handler,
    which sleeps in steps of up to 100 ms instead of waking when the lock is released (p99 336 ms
    at 200 orders/s with two processes, bench/RESULTS.md); the kernel wakes a ``flock`` waiter
    at once. The busy timeout stays as the fallback (no lock file where the directory is not
    writable, another program writing the database).

    The delivery worker checkpoints the WAL every second (``checkpoint``). Left to SQLite, the
    commit that crosses 1,000 WAL pages does it, waiting for two fsyncs: every hundredth order
    or so took 11-18 ms longer. Connections keep SQLite's automatic checkpoint only as a
    fallback, at ``AUTOCHECKPOINT`` pages, for a relay that runs no delivery worker at all.
    """

    AUTOCHECKPOINT = 10000

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
        self.lock_path = self.path.with_name(f"{self.path.name}-writer.lock")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                               check_same_thread=False, cached_statements=256)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA wal_autocheckpoint={self.AUTOCHECKPOINT}")
        return conn

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, without waiting for anyone (PASSIVE:
        writers go on appending meanwhile)."""
        self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _writer_lock(self) -> int | None:
        """This thread's descriptor of the lock file (reopened after a fork: a descriptor
        inherited from the parent would share the parent's lock), or None without one."""
        local = self._local
        if getattr(local, "lock_pid", None) != os.getpid():
            local.lock_fd, local.lock_pid = None, os.getpid()
            if fcntl is not None:
                try:
                    local.lock_fd = os.open(self.lock_path,
                                            os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except OSError as exc:
                    log.warning("no writer lock file (%s): concurrent writers wait in SQLite's "
                                "busy handler", exc)
        return local.lock_fd

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        lock = self._writer_lock()
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn, self)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # e.g. disk full: do not leave the transaction open
                    conn.execute("ROLLBACK")
                raise
        finally:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this thread's connection and lock file."""
        super().close()
        if getattr(self._local, "lock_pid", None) == os.getpid() \
                and self._local.lock_fd is not None:
            os.close(self._local.lock_fd)
        self._local.lock_pid = None


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
