"""Crash safety: the relay process is SIGKILLed mid-delivery and restarted on the same store;
every order ends in the POS exactly once (DESIGN §9)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fakes.flaky_pos import FlakyPos
from relay_support import order_body, write_site

from hugo_pos.demo import wait_healthy
from hugo_pos.relay.store import open_store

TESTS = Path(__file__).resolve().parent.parent
BOOT = ("import sys; sys.path.insert(0, {tests!r}); from fakes.flaky_pos import register; "
        "register(); from hugo_pos.cli import main; main()")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_relay(site: Path, database_url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, HUGO_POS_DATABASE_URL=database_url, HUGO_POS_RATE_LIMIT="0",
               HUGO_POS_CLAIM_TTL="1", HUGO_POS_BACKOFF_BASE="0.05", HUGO_POS_BACKOFF_CAP="0.2",
               HUGO_POS_POLL_INTERVAL="0.05")
    process = subprocess.Popen(
        [sys.executable, "-c", BOOT.format(tests=str(TESTS)), "relay", "serve", "--site",
         str(site), "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    if wait_healthy(process, port):
        return process
    process.kill()
    raise AssertionError(process.stderr.read().decode()[-2000:])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_delivery_then_restart_delivers_every_order_once(tmp_path):
    pos = FlakyPos(slow=0.1)  # the POS stores each order, then answers 0.1 s later
    url = pos.start()
    site = write_site(tmp_path / "site", pos={"fakepos": {"provider": "fakepos", "url": url}})
    database_url = f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    port = free_port()
    relay = start_relay(site, database_url, port)
    ids = []
    try:
        for i in range(80):
            response = requests.post(
                f"http://127.0.0.1:{port}/v1/orders", data=json.dumps(order_body("truck")),
                headers={"Idempotency-Key": f"crash-{i}", "Content-Type": "application/json"},
                timeout=5)
            assert response.status_code == 201, response.text
            ids.append(response.json()["order_id"])
        deadline = time.monotonic() + 20
        while len(pos.created) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        store = open_store(database_url)
        in_pos_before = sum(o["status"] == "in_pos" for o in store.orders(limit=1000))
        # Orders the POS took whose answer the killed relay never recorded: the restarted relay
        # must find them in the POS instead of sending them again.
        assert 0 < in_pos_before < len(pos.created) < 80
        relay = start_relay(site, database_url, port)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all(o["status"] == "in_pos" for o in store.orders(limit=1000)):
                break
            time.sleep(0.1)
    finally:
        relay.kill()
        relay.wait()
        pos.stop()
    assert sorted(pos.created) == sorted(ids)
    assert set(pos.created.values()) == {1}, "an order reached the POS twice"
    assert {o["status"] for o in store.orders(limit=1000)} == {"in_pos"}
