"""Delivery to the POS: retries, backoff, Retry-After, dead letters, ambiguous failures, and
nothing lost under a failing POS (DESIGN §6, §9)."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import replace

import pytest
from fakes.flaky_pos import TIMEOUT, FakePosProvider, FlakyPos, register
from relay_support import make_app, make_relay, order_body, write_site

from hugo_pos.providers.base import PosRef
from hugo_pos.relay.deliver import Worker, backoff


@pytest.fixture
def pos(monkeypatch):
    register(monkeypatch)
    fake = FlakyPos()
    yield fake
    fake.stop()


@pytest.fixture
def pos_site(tmp_path, pos):
    url = pos.start()
    return write_site(tmp_path / "site", pos={"fakepos": {"provider": "fakepos", "url": url}})


def place(client, n: int = 1, location: str = "truck", prefix: str = "k") -> list[str]:
    ids = []
    for i in range(n):
        response = client.post("/v1/orders", data=json.dumps(order_body(location)),
                               content_type="application/json",
                               headers={"Idempotency-Key": f"{prefix}{i}"})
        assert response.status_code == 201, response.json
        ids.append(response.json["order_id"])
    return ids


def test_backoff_doubles_with_jitter_caps_and_honours_retry_after():
    rng = random.Random(1)
    assert [round(backoff(n, 1.0, 30.0, rng=random.Random(0)), 3) for n in (1, 2, 3)] == [
        round(x * random.Random(0).uniform(0.5, 1.0), 3) for x in (1, 2, 4)]
    assert all(15.0 <= backoff(n, 1.0, 30.0, rng=rng) <= 30.0 for n in range(6, 40))
    assert backoff(1, 1.0, 30.0, retry_after=120.0, rng=rng) == 120.0


def test_local_orders_are_delivered_to_the_board(relay, client):
    (order_id,) = place(client)
    assert Worker(relay, threads=1).deliver_due() == 1
    view = client.get(f"/v1/orders/{order_id}").json
    assert view["status"] == "in_pos"
    assert view["deliveries"] == [{"provider": "local", "pos": "local", "status": "delivered",
                                   "attempts": 1, "last_error": None, "pos_ref": order_id}]


def test_the_pos_gets_the_menu_ids_and_server_prices(pos_site, sqlite_url, clock, pos):
    relay = make_relay(pos_site, sqlite_url, clock)
    (order_id,) = place(make_app(relay).test_client())
    Worker(relay, threads=1).deliver_due()
    assert pos.orders[order_id]["lines"] == [
        {"variant": "pos-DRAGON-8", "quantity": 2, "price": 9500},
        {"variant": "pos-CALI", "quantity": 1, "price": 4850}]
    assert relay.store.order(order_id)["deliveries"][0]["pos_ref"] == f"P-{order_id}"


def test_retries_honour_retry_after_then_deliver(pos_site, sqlite_url, clock, pos):
    pos.faults = ["500", "429"]
    pos.retry_after = "7"
    relay = make_relay(pos_site, sqlite_url, clock)
    worker = Worker(relay, threads=1, rng=random.Random(3))
    (order_id,) = place(make_app(relay).test_client())
    worker.deliver_due()
    delivery = relay.store.order(order_id)["deliveries"][0]
    assert delivery["status"] == "pending" and "HTTP 500" in delivery["last_error"]
    assert clock() + 0.5 <= delivery["next_at"] <= clock() + 1.0
    assert worker.deliver_due() == 0  # not due yet
    clock.advance(1.0)
    worker.deliver_due()
    delivery = relay.store.order(order_id)["deliveries"][0]
    assert "HTTP 429" in delivery["last_error"] and delivery["next_at"] == clock() + 7.0
    clock.advance(7.0)
    worker.deliver_due()
    order = relay.store.order(order_id)
    assert order["status"] == "in_pos" and order["deliveries"][0]["attempts"] == 3
    assert pos.created[order_id] == 1


def test_a_timeout_after_sending_is_looked_up_not_resent(pos_site, sqlite_url, clock, pos):
    pos.faults = ["timeout"]
    relay = make_relay(pos_site, sqlite_url, clock)
    worker = Worker(relay, threads=1)
    (order_id,) = place(make_app(relay).test_client())
    worker.deliver_due()
    delivery = relay.store.order(order_id)["deliveries"][0]
    assert delivery["status"] == "pending" and delivery["ambiguous"] == 1
    # The POS may still be working on it: the lookup waits until it has had time to land.
    assert delivery["next_at"] >= clock() + FakePosProvider.settle_seconds
    clock.advance(FakePosProvider.settle_seconds)
    worker.deliver_due()
    delivery = relay.store.order(order_id)["deliveries"][0]
    assert delivery["status"] == "delivered" and delivery["pos_ref"] == f"P-{order_id}"
    assert pos.created[order_id] == 1 and pos.seen["ok"] == 0  # found, never sent again


def test_a_provider_that_finds_first_is_called_again_after_an_ambiguous_failure(
        pos_site, sqlite_url, clock, pos, monkeypatch):
    """Odoo's submit_order finds our order and finishes it (its note on 16/17); a bare
    find_order would mark it delivered unfinished."""
    pos.faults = ["timeout"]
    calls = []
    real = FakePosProvider.submit_order

    def submit(self, order):
        calls.append(order.order_id)
        return real(self, order) if len(calls) == 1 else PosRef("fakepos", f"P-{order.order_id}")

    monkeypatch.setattr(FakePosProvider, "submit_finds_first", True)
    monkeypatch.setattr(FakePosProvider, "submit_order", submit)
    monkeypatch.setattr(FakePosProvider, "find_order", lambda self, order_id: 1 / 0)
    relay = make_relay(pos_site, sqlite_url, clock)
    worker = Worker(relay, threads=1)
    (order_id,) = place(make_app(relay).test_client())
    worker.deliver_due()
    clock.advance(FakePosProvider.settle_seconds)
    worker.deliver_due()
    assert calls == [order_id, order_id]
    assert relay.store.order(order_id)["deliveries"][0]["status"] == "delivered"


def test_an_order_that_lands_after_the_timeout_is_found_not_sent_twice(pos_site, sqlite_url,
                                                                        pos):
    """The POS commits the order after our client gave up (a slow Odoo worker): looked up at
    once, it would not be there yet, and the order would be sent a second time."""
    pos.faults = ["late"]
    relay = make_relay(pos_site, sqlite_url, clock=time.time)
    worker = Worker(relay, threads=1)
    (order_id,) = place(make_app(relay).test_client())
    worker.deliver_due()
    delivery = relay.store.order(order_id)["deliveries"][0]
    assert delivery["ambiguous"] == 1 and pos.created[order_id] == 0  # not landed yet
    time.sleep(max(0.0, delivery["next_at"] - time.time()) + 0.05)
    worker.deliver_due()
    assert relay.store.order(order_id)["deliveries"][0]["status"] == "delivered"
    assert pos.created[order_id] == 1 and pos.seen == {"late": 1}


def test_the_retry_budget_ends_in_a_dead_letter_that_retry_requeues(
        pos_site, sqlite_url, clock, pos, run_cli):
    pos.faults = ["500"] * 50
    relay = make_relay(pos_site, sqlite_url, clock, retry_budget=60.0)
    worker = Worker(relay, threads=1)
    (order_id,) = place(make_app(relay).test_client())
    for _ in range(20):
        worker.deliver_due()
        clock.advance(30.0)
    order = relay.store.order(order_id)
    assert order["status"] == "attention"
    delivery = order["deliveries"][0]
    assert delivery["status"] == "failed" and delivery["last_error"].startswith("gave up after")
    assert 'hugo_pos_deliveries{provider="fakepos",status="failed"} 1' in \
        make_app(relay).test_client().get("/metrics").text
    pos.faults = []
    env = {"HUGO_POS_DATABASE_URL": sqlite_url}
    # typed as staff read it out: ids are case-insensitive
    result = run_cli("relay", "retry", order_id.lower(), "--site", str(pos_site), env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{order_id}: 1 failed delivery requeued"
    listed = run_cli("relay", "orders", "--status", "received", "--site", str(pos_site), env=env)
    assert order_id in listed.output and "fakepos=pending" in listed.output
    clock.now = time.time() + 1  # the CLI requeued it on the real clock
    worker.deliver_due()
    assert relay.store.order(order_id)["status"] == "in_pos"
    assert pos.created[order_id] == 1


def test_a_permanent_pos_error_fails_at_once(pos_site, sqlite_url, clock, pos, monkeypatch):
    from hugo_pos.errors import ProviderError

    def refuse(self, order):
        raise ProviderError("FakePOS rejected the credentials (HTTP 401)", "check the token")

    monkeypatch.setattr(FakePosProvider, "submit_order", refuse)
    relay = make_relay(pos_site, sqlite_url, clock)
    (order_id,) = place(make_app(relay).test_client())
    Worker(relay, threads=1).deliver_due()
    order = relay.store.order(order_id)
    assert order["status"] == "attention"
    assert order["deliveries"][0]["last_error"] == "FakePOS rejected the credentials (HTTP 401)"


def test_nothing_is_lost_when_the_pos_fails_during_a_burst(pos_site, store_url, pos):
    """200 orders; the POS answers 500s, 429s and timeouts to the first 60 submissions; two
    workers share the outbox."""
    pos.faults = ["500", "429", "500", "timeout", "500", "429"] * 10
    relay = make_relay(pos_site, store_url, clock=time.time)
    relay.settings = replace(relay.settings, backoff_base=0.02, backoff_cap=0.1)
    client = make_app(relay).test_client()
    worker = Worker(relay, threads=4).start()
    other = Worker(make_relay(pos_site, store_url, clock=time.time), threads=2).start()
    try:
        ids = place(client, 200)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(o["status"] == "in_pos" for o in relay.store.orders(limit=1000)):
                break
            time.sleep(0.1)
    finally:
        worker.stop()
        other.stop()
    assert sorted(pos.created) == sorted(ids)
    assert set(pos.created.values()) == {1}
    assert pos.seen["500"] == 30 and pos.seen["429"] == 20 and pos.seen["timeout"] == 10
    assert {o["status"] for o in relay.store.orders(limit=1000)} == {"in_pos"}


def test_a_slow_pos_call_keeps_its_claim(pos_site, sqlite_url, pos):
    """A POS call longer than the claim's lifetime: the claim is extended, so no other worker
    takes the delivery over (and sends the order a second time)."""
    pos.slow = 1.0
    relay = make_relay(pos_site, sqlite_url, clock=time.time)
    relay.settings = replace(relay.settings, claim_ttl=0.6)
    ids = place(make_app(relay).test_client(), 2)
    worker = Worker(relay, threads=2)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("n", worker.deliver_due()))
    thread.start()
    time.sleep(0.8)  # past the first claim's 0.6 s
    assert relay.store.claim_deliveries(now=time.time(), until=time.time() + 5, worker="other",
                                        limit=10) == []
    thread.join()
    worker.stop()
    assert result["n"] == 2
    assert {o["status"] for o in relay.store.orders(limit=10)} == {"in_pos"}
    assert sorted(pos.created) == sorted(ids) and set(pos.created.values()) == {1}


def test_a_slow_pos_call_holds_up_only_its_own_thread(pos_site, sqlite_url, pos):
    """The running worker keeps its threads busy: an order placed while another order's POS
    call hangs is claimed and delivered by a free thread, not after the slow call."""
    pos.faults = ["timeout"]  # the first order's call hangs until the client's read timeout
    relay = make_relay(pos_site, sqlite_url, clock=time.time)
    client = make_app(relay).test_client()
    worker = Worker(relay, threads=2).start()
    try:
        (slow,) = place(client, prefix="slow")
        deadline = time.monotonic() + 10
        while not pos.seen["timeout"]:  # the slow call is under way
            assert time.monotonic() < deadline
            time.sleep(0.01)
        placed = time.monotonic()
        (fast,) = place(client, prefix="fast")
        while not pos.created[fast]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert time.monotonic() - placed < TIMEOUT / 2  # well before the slow call gave up
        assert relay.store.order(slow)["deliveries"][0]["status"] == "pending"
    finally:
        worker.stop()
    assert pos.created[slow] == 1 and pos.created[fast] == 1
