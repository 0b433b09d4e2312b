"""Webhooks: verified, stored once, applied by the worker (DESIGN §6, §9), with the real
Loyverse provider (payloads as in pos-api-notes/loyverse.md §6.2, signature as in §6.3)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import responses
from fakes.loyverse import DEFAULT_TOKEN, FakeLoyverse, serve
from loyverse_payloads import item, store_entry, variant
from relay_support import make_app, make_relay, menu_json, order_body, write_site

from hugo_pos.relay.deliver import Worker
from hugo_pos.relay.webhooks import process_events

SECRET = "oauth-client-secret"


def loyverse_pos(store_id: str, api_url: str = "http://127.0.0.1:9/v1.0") -> dict:
    return {"loyverse": {"provider": "loyverse", "store_id": store_id,
                         "access_token": DEFAULT_TOKEN,
                         "api_url": api_url, "webhook_secret": SECRET}}


@pytest.fixture
def hook_site(tmp_path):
    return write_site(tmp_path / "site", pos=loyverse_pos("store-town"),
                      truck_pos=loyverse_pos("store-truck"))


@pytest.fixture
def hook_relay(hook_site, sqlite_url, clock):
    return make_relay(hook_site, sqlite_url, clock, rebuild_hook_url="https://hooks.example/b")


def signed(client, payload: dict, secret: str = SECRET, path: str = "/webhooks/loyverse"):
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return client.post(path, data=body, content_type="application/json",
                       headers={"X-Loyverse-Signature": signature})


def stock(variant: str, store: str, in_stock: int, updated: str = "2026-11-24T18:00:00Z"):
    # Shape: pos-api-notes/loyverse.md §6.2 (inventory_levels.update).
    return {"merchant_id": "m-1", "type": "inventory_levels.update",
            "created_at": "2026-11-24T18:00:01.000Z",
            "inventory_levels": [{"variant_id": variant, "store_id": store,
                                  "in_stock": in_stock, "updated_at": updated}]}


def loyverse_cali(track_stock: bool, in_stock: int) -> None:
    """The Loyverse API (under ``responses``) as the relay re-reads a level of 0: CALI is
    item-CALI / lv-CALI in menu.json; shapes from loyverse_payloads (notes §3, §4)."""
    cali = item("California Roll", [variant("CALI", 48.5, stores=[
        store_entry("store-town", 48.5)])], track_stock=track_stock)
    cali["id"] = cali["variants"][0]["item_id"] = "item-CALI"
    cali["variants"][0]["variant_id"] = "lv-CALI"
    api = "http://127.0.0.1:9/v1.0"
    responses.get(f"{api}/variants/lv-CALI", json=cali["variants"][0])
    responses.get(f"{api}/items/item-CALI", json=cali)
    responses.get(f"{api}/inventory", json={"inventory_levels": [
        {"variant_id": "lv-CALI", "store_id": "store-town", "in_stock": in_stock,
         "updated_at": "2026-11-24T18:00:00Z"}]})


@responses.activate
def test_a_signed_stock_webhook_marks_an_item_sold_out_once(hook_relay):
    loyverse_cali(track_stock=True, in_stock=0)
    client = make_app(hook_relay).test_client()
    response = signed(client, stock("lv-CALI", "store-town", 0))
    assert response.status_code == 200 and response.json == {
        "received": 1, "new": 1, "duplicates": 0}
    assert Worker(hook_relay, threads=1).run_once() == 1
    availability = client.get("/v1/locations/town/availability").json
    assert availability["sold_out"] == ["CALI"] and availability["open"] is True
    assert client.get("/v1/locations/truck/availability").json["sold_out"] == []
    order = client.post("/v1/orders", data=json.dumps(order_body()),
                        content_type="application/json", headers={"Idempotency-Key": "k"})
    assert order.status_code == 422 and order.json["error"]["code"] == "unavailable"
    replay = signed(client, stock("lv-CALI", "store-town", 0))
    assert replay.status_code == 200 and replay.json["duplicates"] == 1
    assert Worker(hook_relay, threads=1).run_once() == 0
    assert 'hugo_pos_webhook_events{provider="loyverse",kind="stock",result="applied"} 1' in \
        client.get("/metrics").text


@responses.activate
def test_a_level_of_0_leaves_an_item_that_does_not_track_stock_orderable(hook_relay):
    # Turning stock tracking off sets every level of the item to 0 (notes §3): a signed
    # payload saying 0 is re-read, and the item stays on sale.
    loyverse_cali(track_stock=False, in_stock=0)
    client = make_app(hook_relay).test_client()
    assert signed(client, stock("lv-CALI", "store-town", 0)).json["new"] == 1
    assert Worker(hook_relay, threads=1).run_once() == 1
    assert client.get("/v1/locations/town/availability").json["sold_out"] == []
    assert [c.request.url.split("?")[0].rsplit("/", 2)[-2:] for c in responses.calls] == [
        ["variants", "lv-CALI"], ["items", "item-CALI"]]
    # Back in stock needs no second look: any level above 0 is orderable.
    assert signed(client, stock("lv-CALI", "store-town", 5, "2026-11-24T19:00:00Z")).json[
        "new"] == 1
    assert Worker(hook_relay, threads=1).run_once() == 1
    assert len(responses.calls) == 2
    order = client.post("/v1/orders", data=json.dumps(order_body()),
                        content_type="application/json", headers={"Idempotency-Key": "k"})
    assert order.status_code == 201, order.json


def test_a_bad_signature_header_or_a_too_deep_body_is_refused_cleanly(hook_relay):
    client = make_app(hook_relay).test_client()
    odd = client.post("/webhooks/loyverse", data=b"{}", content_type="application/json",
                      headers={"X-Loyverse-Signature": "\u00e9"})
    assert odd.status_code == 401
    body = b"[" * 16_000 + b"]" * 16_000
    digest = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    deep = client.post("/webhooks/loyverse", data=body, content_type="application/json",
                       headers={"X-Loyverse-Signature": digest})
    assert deep.status_code == 400 and deep.json["error"]["code"] == "invalid"


@responses.activate
def test_a_level_of_0_for_an_item_on_no_menu_costs_no_api_call(hook_relay):
    # Rechecks use the account's request budget, which orders share: only menu items get one.
    client = make_app(hook_relay).test_client()
    assert signed(client, stock("lv-NOT-ON-THE-SITE", "store-town", 0)).json["new"] == 1
    assert Worker(hook_relay, threads=1).run_once() == 1
    assert len(responses.calls) == 0
    assert hook_relay.store.stats()["events"][0]["result"] == "ignored"


def test_a_batch_of_100_full_items_is_taken_whole(hook_relay):
    # Loyverse sends up to 100 full objects per webhook (notes §6.2), far over an order's 32 KB.
    batch = {"merchant_id": "m-1", "type": "items.update",
             "created_at": "2026-11-24T18:00:01.000Z",
             "items": [item(f"Roll {i}", [variant(f"ROLL-{i}", 50.0, stores=[
                 store_entry("store-town", 50.0), store_entry("store-truck", 52.0)])])
                       for i in range(100)]}
    assert len(json.dumps(batch)) > 64 * 1024
    response = signed(make_app(hook_relay).test_client(), batch)
    assert response.status_code == 200 and response.json["received"] >= 1


def test_a_bad_signature_or_token_is_401_and_stores_nothing(hook_relay):
    client = make_app(hook_relay).test_client()
    assert signed(client, stock("lv-CALI", "store-town", 0), secret="wrong").status_code == 401
    unsigned = client.post("/webhooks/loyverse", data=json.dumps(stock("lv-CALI", "s", 0)))
    assert unsigned.status_code == 401
    assert client.post("/webhooks/loyverse/not-the-token", data=b"{}").status_code == 401
    assert client.post("/v1/webhooks/loyverse?token=nope", data=b"{}").status_code == 401
    # A provider no enabled POS uses: still 401 without credentials (DESIGN §6); only the URL
    # token's holder is told that nothing here takes it.
    assert client.post("/webhooks/square", data=b"{}").status_code == 401
    assert client.post("/webhooks/odoo/not-the-token", data=b"{}").status_code == 401
    unused = client.post("/webhooks/odoo/hook-token-0123456789", data=b"{}")
    assert unused.status_code == 404 and unused.json["error"]["code"] == "not_found"
    assert hook_relay.store.stats()["events"] == []


def test_a_receipt_webhook_updates_the_order_status(hook_relay):
    client = make_app(hook_relay).test_client()
    order_id = client.post("/v1/orders", data=json.dumps(order_body()),
                           content_type="application/json",
                           headers={"Idempotency-Key": "k"}).json["order_id"]
    receipt = {"receipt_number": "1-1001", "order": order_id, "store_id": "store-town",
               "receipt_type": "SALE", "cancelled_at": "2026-11-24T19:05:00Z",
               "updated_at": "2026-11-24T19:05:00Z"}
    payload = {"merchant_id": "m-1", "type": "receipts.update",
               "created_at": "2026-11-24T19:05:01Z", "receipts": [receipt]}
    assert signed(client, payload).json["new"] == 1
    Worker(hook_relay, threads=1).run_once()
    assert client.get(f"/v1/orders/{order_id}").json["status"] == "cancelled"


@responses.activate
def test_catalog_changes_call_the_rebuild_hook_once_per_burst(hook_relay, clock):
    responses.add(responses.POST, "https://hooks.example/b", status=200)
    client = make_app(hook_relay).test_client()
    worker = Worker(hook_relay, threads=1)
    for i in range(3):
        # items.update (loyverse.md §6.2): full Item objects with variants.
        payload = {"merchant_id": "m-1", "type": "items.update",
                   "created_at": f"2026-11-24T19:00:0{i}Z",
                   "items": [{"id": "item-CALI", "variants": [{"variant_id": "lv-CALI"}]}]}
        assert signed(client, payload).status_code == 200
        worker.run_once()
        clock.advance(5)
    assert len(responses.calls) == 0
    clock.advance(30)
    worker.run_once()
    worker.run_once()
    assert len(responses.calls) == 1


def test_an_unsigned_hint_is_confirmed_with_the_pos_before_acting(tmp_path, sqlite_url, clock):
    fake = FakeLoyverse(currency="TTD")
    store = fake.add_store("Town")
    with serve(fake) as api_url:
        site = write_site(tmp_path / "site", pos=loyverse_pos(store, api_url))
        relay = make_relay(site, sqlite_url, clock)
        client = make_app(relay).test_client()
        order_id = client.post("/v1/orders", data=json.dumps(order_body()),
                               content_type="application/json",
                               headers={"Idempotency-Key": "k"}).json["order_id"]
        forged = {"merchant_id": "m-1", "type": "receipts.update",
                  "created_at": "2026-11-24T19:05:01Z",
                  "receipts": [{"receipt_number": "9-9", "order": order_id, "store_id": store,
                                "receipt_type": "REFUND", "updated_at": "2026-11-24T19:05Z"}]}
        response = client.post("/webhooks/loyverse/hook-token-0123456789",
                               data=json.dumps(forged), content_type="application/json")
        assert response.status_code == 200 and response.json["new"] == 1
        assert process_events(relay) == 1
    # The POS has no such receipt: the hint is not acted upon.
    assert client.get(f"/v1/orders/{order_id}").json["status"] == "received"
    assert relay.store.stats()["events"][0]["result"] == "unconfirmed"


def test_an_order_becomes_one_loyverse_receipt_despite_a_500(tmp_path, sqlite_url, clock):
    """End to end with the real Loyverse provider: a 500 on POST /receipts is ambiguous, so the
    relay looks the receipt up by our order id before it sends the order again."""
    fake = FakeLoyverse(currency="TTD")
    store = fake.add_store("Truck")
    payment = fake.add_payment_type("Online")
    item = fake.add_item("California Roll", sku="CALI", price="48.50")
    menu = menu_json()
    cali = menu["locations"]["truck"]["items"]["ROLL-CALI"]["variants"][0]
    cali["pos"]["loyverse"] = {"item_id": item["id"],
                               "variant_id": item["variants"][0]["variant_id"]}
    with serve(fake) as api_url:
        pos = loyverse_pos(store, api_url)
        pos["loyverse"]["payment_type_id"] = payment
        site = write_site(tmp_path / "site", pos=pos, menu=menu)
        relay = make_relay(site, sqlite_url, clock)
        client = make_app(relay).test_client()
        body = order_body("truck", items=[{"id": "CALI", "quantity": 2}], expected_total=9700)
        order_id = client.post("/v1/orders", data=json.dumps(body),
                               content_type="application/json",
                               headers={"Idempotency-Key": "k"}).json["order_id"]
        fake.fail_next(1, 500)
        worker = Worker(relay, threads=1)
        worker.deliver_due()
        assert relay.store.order(order_id)["deliveries"][0]["status"] == "pending"
        clock.advance(5)
        worker.deliver_due()
    ours = [r for r in fake.receipts if r.get("order") == order_id]
    assert len(ours) == 1
    view = client.get(f"/v1/orders/{order_id}").json
    assert view["status"] == "in_pos"
    assert view["deliveries"][0]["pos_ref"] == str(ours[0]["receipt_number"])
    assert view["deliveries"][0]["last_error"] is None  # the POS total equals ours


def test_an_odoo_webhook_that_is_not_json_is_400_and_stores_nothing(tmp_path, sqlite_url, clock):
    odoo = {"odoo": {"provider": "odoo", "url": "http://127.0.0.1:9", "database": "omg",
                     "login": "relay@omg.tt", "api_key": "key", "company_id": 1,
                     "pos_config_id": 1}}
    relay = make_relay(write_site(tmp_path / "site", pos=odoo), sqlite_url, clock)
    client = make_app(relay).test_client()
    url = "/webhooks/odoo/hook-token-0123456789"
    bad = client.post(url, data=b"{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid"
    assert client.post(url, data=b'{"_model": "pos.order", "_id": [7]}').status_code == 400
    assert relay.store.stats()["events"] == []
    ping = client.post(url, data=b'{"hello": 1}', content_type="application/json")
    assert ping.status_code == 200 and ping.json["received"] == 0
