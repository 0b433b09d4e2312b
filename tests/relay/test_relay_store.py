"""The store on SQLite and on a real PostgreSQL server (HUGO_POS_TEST_POSTGRES_URL)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from relay_support import make_app, make_relay, order_body

from hugo_pos.relay.store import OrderIdTaken, open_store


def _order(store, order_id: str, now: float, pos=("local",)) -> None:
    created, _ = store.create_order(
        key=f"key-{order_id}", fingerprint="f", now=now, status_code=201,
        response=json.dumps({"order_id": order_id}),
        order={"id": order_id, "location": "town", "total": 100, "currency": "TTD",
               "data": {"lines": []}},
        deliveries=[{"pos_name": p, "provider": p} for p in pos])
    assert created


def test_orders_deliveries_and_status(store_url):
    store = open_store(store_url)
    open_store(store_url)  # opening again (another replica) migrates nothing twice
    _order(store, "A", 100.0, pos=("loyverse", "odoo"))
    claims = store.claim_deliveries(now=100.0, until=130.0, worker="w1", limit=10)
    assert sorted((c.pos_name, c.attempts, c.ambiguous) for c in claims) == [
        ("loyverse", 1, False), ("odoo", 1, False)]
    assert store.claim_deliveries(now=101.0, until=131.0, worker="w2", limit=10) == []
    loyverse, odoo = sorted(claims, key=lambda c: c.pos_name)
    store.finish_delivery(loyverse, worker="w1", status="delivered", now=102.0, pos_ref="R-1")
    assert store.order("A")["status"] == "received"
    store.finish_delivery(odoo, worker="w1", status="failed", now=102.0, error="bad token")
    order = store.order("A")
    assert order["status"] == "attention"
    assert {d["pos_name"]: (d["status"], d["pos_ref"], d["last_error"])
            for d in order["deliveries"]} == {"loyverse": ("delivered", "R-1", None),
                                              "odoo": ("failed", None, "bad token")}
    assert store.requeue("A", 200.0) == 1
    assert store.order("A")["status"] == "received"
    again = store.claim_deliveries(now=200.0, until=230.0, worker="w1", limit=10)
    assert [(c.pos_name, c.attempts, c.budget_from) for c in again] == [("odoo", 2, 200.0)]
    store.finish_delivery(again[0], worker="w1", status="delivered", now=201.0, pos_ref="7")
    assert store.order("A")["status"] == "in_pos"
    stats = store.stats()
    assert {r["status"]: r["n"] for r in stats["orders"]} == {"in_pos": 1}
    assert int(stats["latency"]["count"]) == 2


def test_an_order_id_already_taken_stores_nothing(store_url):
    store = open_store(store_url)
    _order(store, "A", 100.0)
    with pytest.raises(OrderIdTaken):
        store.create_order(
            key="another key", fingerprint="f", now=101.0, status_code=201, response="{}",
            order={"id": "A", "location": "city", "total": 5, "currency": "TTD", "data": {}},
            deliveries=[{"pos_name": "local", "provider": "local"}])
    assert store.idempotency("another key") is None
    assert [(o["id"], o["location"], o["total"]) for o in store.orders()] == [("A", "town", 100)]
    assert [d["pos_name"] for d in store.order("A")["deliveries"]] == ["local"]


def test_an_expired_claim_comes_back_ambiguous_and_the_late_worker_changes_nothing(store_url):
    store = open_store(store_url)
    _order(store, "B", 100.0)
    (first,) = store.claim_deliveries(now=100.0, until=130.0, worker="dead", limit=5)
    assert store.claim_deliveries(now=129.0, until=159.0, worker="w2", limit=5) == []
    (second,) = store.claim_deliveries(now=131.0, until=161.0, worker="w2", limit=5)
    assert second.ambiguous and second.attempts == 2
    store.finish_delivery(first, worker="dead", status="failed", now=132.0, error="late")
    assert store.order("B")["deliveries"][0]["status"] == "pending"
    store.finish_delivery(second, worker="w2", status="delivered", now=133.0)
    assert store.order("B")["status"] == "in_pos"


def test_concurrent_workers_never_claim_the_same_delivery(store_url):
    store = open_store(store_url)
    for i in range(60):
        _order(store, f"C{i}", 100.0)
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            claims = store.claim_deliveries(now=100.0, until=130.0, worker=name, limit=3)
            if not claims:
                return
            with lock:
                claimed.extend(c.order_id for c in claims)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, [f"w{i}" for i in range(6)]))
    assert sorted(claimed) == sorted(f"C{i}" for i in range(60))


def test_webhook_events_dedupe_and_timers_debounce(store_url):
    store = open_store(store_url)
    args = dict(provider="loyverse", kind="stock", pos_name="loyverse", location=None,
                payload={"event": {}}, needs_confirm=False)
    assert store.add_event(event_id="e1", now=1.0, **args)
    assert not store.add_event(event_id="e1", now=2.0, **args)
    (row,) = store.claim_events(now=3.0, until=33.0, limit=10)
    assert row["event_id"] == "e1" and store.claim_events(now=4.0, until=34.0, limit=10) == []
    store.finish_event("loyverse", "e1", "applied", 5.0)
    assert store.claim_events(now=100.0, until=130.0, limit=10) == []
    store.schedule_timer("rebuild", 10.0, 30.0, 100.0)
    store.schedule_timer("rebuild", 20.0, 30.0, 100.0)  # a burst pushes the call back
    assert not store.timer_due("rebuild", 49.0) and store.timer_due("rebuild", 50.0)
    assert store.take_timer("rebuild", 50.0) and not store.take_timer("rebuild", 50.0)
    store.set_availability("town", ["X", "Y"], False, 1.0)
    store.set_availability("town", ["Y"], True, 2.0)
    assert store.availability("town") == {"X": False, "Y": True}


def test_50_concurrent_posts_with_one_key_make_one_order(site, store_url, clock):
    relay = make_relay(site, store_url, clock)
    app = make_app(relay)
    body = json.dumps(order_body())
    barrier = threading.Barrier(50)

    def send(_: int):
        barrier.wait()
        response = app.test_client().post("/v1/orders", data=body,
                                          content_type="application/json",
                                          headers={"Idempotency-Key": "same-key"})
        return response.status_code, response.json

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(send, range(50)))
    assert {status for status, _ in results} == {201}
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    orders = relay.store.orders(limit=100)
    assert len(orders) == 1 and len(orders[0]["deliveries"]) == 1


def test_a_dropped_postgres_connection_is_replaced(store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server connection")
    import psycopg

    store = open_store(store_url)
    pid = store.read().row("SELECT pg_backend_pid() AS pid")["pid"]
    base = store_url.split("?")[0]
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # The request that meets the dead connection fails...
    with contextlib.suppress(psycopg.OperationalError):
        store.read().row("SELECT 1 AS ok")
    assert store.ping()  # ...the next one gets a new connection


# -- SQLite's writer lock across processes --------------------------------------------------------

WRITER = """
import sqlite3, sys, time
from pathlib import Path
from hugo_pos.relay.database import connect

db = connect(sys.argv[1])
db.read().run("PRAGMA busy_timeout=0")  # no waiting in SQLite: only the writer lock may order us
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
locked = 0
for i in range(300):
    try:
        with db.transaction() as tx:
            for j in range(5):
                tx.run("INSERT INTO t (who, n) VALUES (?, ?)", (sys.argv[3], i * 5 + j))
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc) or "busy" in str(exc), exc
        locked += 1
print(locked)
"""


def test_writers_in_two_processes_queue_on_the_lock_file_not_in_sqlite(tmp_path):
    """With SQLite's busy timeout at 0, a writer that met another process's transaction would
    fail at once with "database is locked"; the writer lock makes it wait its turn instead."""
    import subprocess
    import sys

    from hugo_pos.relay.database import connect

    url = f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    with connect(url).transaction() as tx:
        tx.run("CREATE TABLE t (who TEXT, n INTEGER)")
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(go), who],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for who in ("a", "b")]
    go.touch()
    results = [writer.communicate(timeout=60) for writer in writers]
    assert [(w.returncode, out.strip()) for w, (out, _) in zip(writers, results, strict=True)] \
        == [(0, "0"), (0, "0")], [err[-2000:] for _, err in results]
    counts = dict(connect(url).read().conn.execute("SELECT who, count(*) FROM t GROUP BY who"))
    assert counts == {"a": 1500, "b": 1500}
    assert (tmp_path / "relay.sqlite3-writer.lock").is_file()


def test_without_a_lock_file_writers_fall_back_to_sqlites_busy_handler(tmp_path, caplog):
    from hugo_pos.relay.database import connect

    (tmp_path / "relay.sqlite3-writer.lock").mkdir()  # cannot be opened as a file
    store = open_store(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    _order(store, "A", 100.0)
    assert store.order("A")["status"] == "received"
    assert "no writer lock file" in caplog.text
    with connect(store.url).transaction() as tx:  # another connection, same fallback
        assert tx.row("SELECT count(*) AS n FROM orders")["n"] == 1


def test_web_writes_leave_the_wal_to_the_workers_checkpoint(tmp_path):
    """SQLite's own checkpoint, by whichever commit crosses 1,000 WAL pages, waits for fsyncs
    inside a web request; the relay raises that threshold and checkpoints in the worker."""
    store = open_store(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    main_file = tmp_path / "relay.sqlite3"
    empty = main_file.stat().st_size
    for i in range(300):  # a few thousand WAL pages, several times SQLite's default threshold
        _order(store, f"order-{i:04d}", 100.0 + i)
    assert (tmp_path / "relay.sqlite3-wal").stat().st_size > 1000 * 4096
    assert main_file.stat().st_size == empty  # no commit checkpointed
    store.checkpoint()
    assert main_file.stat().st_size > 20 * empty
    assert len(store.orders(limit=1000)) == 300


def test_the_worker_checkpoints_once_a_second(site, sqlite_url, clock, monkeypatch):
    from hugo_pos.relay.deliver import Worker

    relay = make_relay(site, sqlite_url, clock)
    checkpoints = []
    monkeypatch.setattr(relay.store, "checkpoint", lambda: checkpoints.append(relay.now()))
    worker = Worker(relay, threads=1)
    for step in (0.0, 0.4, 0.5, 0.2, 0.9, 0.1):
        clock.advance(step)
        worker.run_once()
    start = clock.now - 2.1
    assert checkpoints == pytest.approx([start, start + 1.1, start + 2.1])


def test_a_running_worker_checkpoints_in_a_thread_of_its_own(site, sqlite_url, monkeypatch):
    from hugo_pos.relay.deliver import Worker

    relay = make_relay(site, sqlite_url)
    threads = []
    monkeypatch.setattr(relay.store, "checkpoint",
                        lambda: threads.append(threading.current_thread().name))
    worker = Worker(relay, threads=1).start()
    try:
        deadline = time.monotonic() + 10
        while not threads:  # a real thread on a real clock: the first checkpoint after 1 s
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.stop()
    assert set(threads) == {"hugo-pos-checkpoint"}  # not the delivery loop, not a request
