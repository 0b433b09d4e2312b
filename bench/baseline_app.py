"""The relay benchmark's baseline: a WSGI app that parses a JSON body and inserts one row.

Same SQLite settings as the relay's store by default (WAL, ``synchronous=NORMAL``, ``BEGIN
IMMEDIATE``), one connection per thread, served by the same gunicorn settings as the relay.
``GET`` answers 200 (readiness). The database path comes from ``BASELINE_DB``;
``BASELINE_SYNCHRONOUS=FULL`` gives the fsync per commit that this baseline had until
2026-11-25 (the relay's default has been NORMAL all along).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid

_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["BASELINE_DB"], isolation_level=None, timeout=30,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={os.environ.get('BASELINE_SYNCHRONOUS', 'NORMAL')}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, idem_key TEXT "
                     "UNIQUE, data TEXT NOT NULL)")
        _local.conn = conn
    return conn


def app(environ: dict, start_response):
    """POST: parse JSON, insert one row, answer 201 with its id. GET: 200."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        data = json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        start_response("400 Bad Request", [("Content-Length", "0")])
        return [b""]
    order_id = uuid.uuid4().hex
    conn = _connection()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO orders (id, idem_key, data) VALUES (?, ?, ?)",
                 (order_id, environ.get("HTTP_IDEMPOTENCY_KEY"), json.dumps(data)))
    conn.execute("COMMIT")
    body = json.dumps({"order_id": order_id, "status": "received"}).encode()
    start_response("201 Created", [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(body)))])
    return [body]
