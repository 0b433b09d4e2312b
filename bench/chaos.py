"""The long reliability run (DESIGN §9): orders while the POS flaps and the relay is SIGKILLed.

``--orders`` orders (default 2,000) are sent at ``--rate`` per second (default 8, about four
minutes) to the relay under gunicorn (bench/relay_app.py, SQLite store, deliveries in the
delivery process that gunicorn's master runs beside the web workers). Meanwhile:

* the fake POS (bench/pos_server.py, its own process) gets bursts of faults: HTTP 500, 429 with
  Retry-After, and timeouts in which the POS creates the order but answers after the relay's
  client gave up (the ambiguous case that needs a lookup before any resend);
* the relay's whole process group (gunicorn master, web workers and delivery process) is
  SIGKILLed every ``--kill-every`` seconds and restarted a moment later, on the same database
  file.

The client behaves like a careful browser: each order has its own Idempotency-Key and is resent
with the same key until the relay answers (connection refused while the relay is down, 5xx).
At the end the faults stop and the run waits until no delivery is pending, then counts: orders
sent, acknowledged, stored, created in the POS, lost (acknowledged but not exactly once in the
POS... or not at all) and duplicated (created more than once).

The relay's delays are shortened to fit minutes (backoff 0.2 s..2 s instead of 1 s..30 s, a
crashed worker's claim expires after 3 s instead of 30 s); the logic is the production code.

Run: ``python bench/chaos.py`` (``--quick``: 300 orders, about a minute).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from common import machine, table, verdict
from relay_bench import (
    GUNICORN,
    free_port,
    gunicorn_args,
    pos_created,
    relay_site,
    start_pos,
)

BENCH = Path(__file__).resolve().parent
FAULTS = ("500", "429", "timeout")


class Relay:
    """The relay under gunicorn, in a process group of its own so a SIGKILL takes it all."""

    def __init__(self, env: dict, port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        """Start gunicorn and wait until it answers /healthz."""
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [GUNICORN, *gunicorn_args(), "--bind", f"127.0.0.1:{self.port}", "relay_app:app"],
                env=self.env, cwd=BENCH, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        sys.exit(f"the relay did not start; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (no graceful anything)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        """SIGTERM the process group and wait."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Client:
    """Sends each order until the relay answers for its Idempotency-Key."""

    def __init__(self, url: str, body: bytes, threads: int = 8) -> None:
        self.url, self.body = url, body
        self.jobs: queue.Queue = queue.Queue()
        self.acknowledged: dict[str, str] = {}  # key -> order id
        self.rejected: Counter = Counter()
        self.attempts = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        session = requests.Session()
        while (key := self.jobs.get()) is not None:
            while True:
                with self.lock:
                    self.attempts += 1
                try:
                    response = session.post(self.url, data=self.body, timeout=10, headers={
                        "Content-Type": "application/json", "Idempotency-Key": key})
                except requests.RequestException:
                    time.sleep(0.5)  # the relay is down: try again with the same key
                    continue
                if response.status_code in (201, 200):
                    with self.lock:
                        self.acknowledged[key] = response.json()["order_id"]
                    break
                if response.status_code >= 500 or response.status_code in (409, 429):
                    time.sleep(0.5)  # in progress, busy or failing: the same key again
                    continue
                with self.lock:
                    self.rejected[response.status_code] += 1
                break

    def close(self) -> None:
        """Wait for every queued order to be answered."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


def flap(pos_url: str, stop: threading.Event, rng: random.Random) -> Counter:
    """Every 2-6 s, queue a burst of 5-40 faults at the POS; returns what was injected."""
    injected: Counter = Counter()

    def run() -> None:
        while not stop.wait(rng.uniform(2, 6)):
            burst = [rng.choice(FAULTS) for _ in range(rng.randint(5, 40))]
            injected.update(burst)
            with contextlib.suppress(requests.RequestException):
                requests.post(f"{pos_url}/_faults", data=json.dumps(burst), timeout=5)

    threading.Thread(target=run, daemon=True).start()
    return injected


def kill_now_and_then(relay: Relay, every: float, stop: threading.Event,
                      rng: random.Random) -> None:
    """SIGKILL the relay every ``every`` s (+-30 %), restart it 0.5-3 s later, until ``stop``."""
    while not stop.wait(every * rng.uniform(0.7, 1.3)):
        relay.kill()
        time.sleep(rng.uniform(0.5, 3))
        relay.start()


def wait_quiet(db: Path, timeout: float) -> tuple[int, int, int, int]:
    """Wait until no delivery is pending; return (orders, delivered, failed, pending)."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db, timeout=30) as conn:
            orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            counts = dict(conn.execute(
                "SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
        pending = sum(n for s, n in counts.items() if s not in ("delivered", "failed"))
        if not pending or time.monotonic() > deadline:
            return orders, counts.get("delivered", 0), counts.get("failed", 0), pending
        time.sleep(1)


def main() -> None:
    """Run the chaos, print the tally."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=8.0, help="new orders per second")
    parser.add_argument("--kill-every", type=float, default=40.0, help="seconds between kills")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="300 orders at 6/s, kill every 15 s")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.rate, args.kill_every = 300, 6.0, 15.0
    rng = random.Random(args.seed)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.orders} orders at {args.rate:g}/s, relay SIGKILLed every ~{args.kill_every:g} s, "
          "POS fault bursts every 2-6 s\n")
    pos, pos_url = start_pos(0.02)
    stop = threading.Event()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            body = relay_site(tmp / "site", pos_url)
            db = tmp / "relay.sqlite3"
            env = dict(os.environ, HUGO_POS_SITE=str(tmp / "site"), HUGO_POS_RATE_LIMIT="0",
                       HUGO_POS_DATABASE_URL=f"sqlite:///{db}", HUGO_POS_BACKOFF_BASE="0.2",
                       HUGO_POS_BACKOFF_CAP="2", HUGO_POS_CLAIM_TTL="3",
                       HUGO_POS_POLL_INTERVAL="0.1", HUGO_POS_LOG_LEVEL="WARNING")
            relay = Relay(env, free_port(), tmp / "relay.log")
            relay.start()
            client = Client(f"http://127.0.0.1:{relay.port}/v1/orders", body)
            injected = flap(pos_url, stop, rng)
            killer = threading.Thread(target=kill_now_and_then, daemon=True,
                                      args=(relay, args.kill_every, stop, rng))
            killer.start()
            for number in range(args.orders):  # orders keep coming while the relay is down
                client.jobs.put(f"chaos-{args.seed}-{number}")
                time.sleep(1 / args.rate)
            stop.set()
            killer.join()
            client.close()
            sent_seconds = time.monotonic() - started
            orders, delivered, failed, pending = wait_quiet(db, timeout=300)
            relay.stop()
            created = pos_created(pos_url)
            answered = requests.get(f"{pos_url}/_stats", timeout=10).json()["seen"]
    finally:
        stop.set()
        pos.terminate()
        pos.wait()
    ids = set(client.acknowledged.values())
    lost = sum(1 for oid in ids if created[oid] == 0)
    duplicated = sum(1 for n in created.values() if n > 1)
    rows = [["orders sent (distinct Idempotency-Keys)", args.orders],
            ["POST attempts (resends with the same key included)", client.attempts],
            ["orders acknowledged by the relay (distinct order ids)", len(ids)],
            ["rejected (4xx other than 409/429)", dict(client.rejected) or 0],
            ["orders in the relay's store", orders],
            ["deliveries delivered / failed / still pending", f"{delivered} / {failed} / "
                                                             f"{pending}"],
            ["orders in the POS (distinct)", len(created)],
            ["lost (acknowledged, not in the POS)", lost],
            ["duplicated (created more than once in the POS)", duplicated],
            ["relay SIGKILLs", relay.kills],
            ["POS faults injected", dict(injected)],
            ["POS answers to POST /orders by fault", answered],
            ["sending took / whole run", f"{sent_seconds:.0f} s / "
                                         f"{time.monotonic() - started:.0f} s"]]
    print(table(rows, ["", "value"]))
    ok = (lost == 0 and duplicated == 0 and len(ids) == args.orders and orders == len(ids)
          and len(created) == len(ids) and not pending and not failed)
    print(f"\n0 lost, 0 duplicated, every order in the POS exactly once: {verdict(ok)}")


if __name__ == "__main__":
    main()
