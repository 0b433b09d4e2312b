"""POST/GET /v1/orders: validation, server-side pricing, idempotency, limits (DESIGN §6, §9)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st
from relay_support import make_app, make_relay, order_body

import hugo_pos.relay.service as service
from hugo_pos.relay.orders import quote_all


def post(client, body, key="key-1", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/v1/orders", data=data, content_type="application/json",
                       headers={"Idempotency-Key": key, **headers} if key else headers)


def count_orders(relay) -> int:
    return len(relay.store.orders(limit=10_000))


def test_an_order_is_priced_by_the_server_and_stored(client, relay):
    response = post(client, order_body())
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "received"
    assert body["total"] == {"amount": 24650, "currency": "TTD"}
    assert [(line["id"], line["quantity"], line["unit_price"], line["total"])
            for line in body["lines"]] == [("DRAGON-8", 2, 9500, 19800), ("CALI", 1, 4850, 4850)]
    assert body["lines"][0]["name"] == "Dragon Roll (8 pc)"
    assert body["lines"][0]["modifiers"] == [
        {"id": "DRAGON~extras~mayo", "name": "Spicy mayo", "price": 400}]
    assert body["status_url"] == f"https://relay.example.com/v1/orders/{body['order_id']}"
    shown = client.get(f"/v1/orders/{body['order_id'].lower()}")  # as typed from a phone call
    assert shown.status_code == 200 and shown.json["order_id"] == body["order_id"]
    stored = relay.store.order(body["order_id"])
    assert stored["total"] == 24650 and stored["status"] == "received"
    assert [(d["pos_name"], d["status"]) for d in stored["deliveries"]] == [("local", "pending")]


def test_the_whatsapp_url_carries_the_order(client):
    body = post(client, order_body(note="ring the bell")).json
    url = urlparse(body["whatsapp_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "wa.me", "/18685550101")
    text = parse_qs(url.query)["text"][0]
    assert body["order_id"] in text
    assert "2 × Dragon Roll (8 pc) + Spicy mayo — TTD 198.00" in text
    assert "1 × California Roll — TTD 48.50" in text
    assert "Total: TTD 246.50" in text
    assert "Pickup for Ana, +1 868 555 0199" in text
    assert len(body["whatsapp_url"]) < 2000


def test_a_long_order_still_fits_a_whatsapp_url(client):
    items = [{"id": "DRAGON-8", "quantity": 1, "modifiers": ["DRAGON~extras~tobiko"],
              "note": "x" * 200} for _ in range(100)]
    response = post(client, order_body(items=items, expected_total=None, note="n" * 500))
    assert response.status_code == 201, response.json
    url = response.json["whatsapp_url"]
    assert len(url) < 2000
    text = parse_qs(urlparse(url).query)["text"][0]
    assert response.json["order_id"] in text and "Total: TTD 10,550.00" in text
    assert "more" in text


def test_get_order_shows_status_and_deliveries(client):
    order_id = post(client, order_body()).json["order_id"]
    response = client.get(f"/v1/orders/{order_id}")
    assert response.status_code == 200
    view = response.json
    assert view["order_id"] == order_id and view["location"] == "town"
    assert view["status"] == "received" and view["total"]["amount"] == 24650
    assert view["deliveries"] == [{"provider": "local", "pos": "local", "status": "pending",
                                   "attempts": 0, "last_error": None, "pos_ref": None}]
    assert view["created_at"] == "2026-11-24T19:00:00Z"
    missing = client.get("/v1/orders/NOPE-NOPE")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"expected_total": 100}, 409, "price_changed", "expected_total"),
    ({"items": [{"id": "NOPE", "quantity": 1}]}, 422, "unknown_item", "items[0].id"),
    ({"items": [{"id": "UNI", "quantity": 1}]}, 422, "unavailable", "items[0].id"),
    ({"items": [{"id": "MARKET", "quantity": 1}]}, 422, "unavailable", "items[0].id"),
    ({"items": [{"id": "DRAGON-4", "quantity": 1, "modifiers": [
        "DRAGON~extras~mayo", "DRAGON~extras~tobiko", "DRAGON~extras~eel"]}]},
     422, "invalid_modifiers", "items[0].modifiers"),
    ({"items": [{"id": "RAMEN", "quantity": 1}]}, 422, "invalid_modifiers", "items[0].modifiers"),
    ({"items": [{"id": "RAMEN", "quantity": 1, "modifiers": ["RAMEN~broth~tonkotsu"]}]},
     422, "unavailable", "items[0].modifiers[0]"),
    ({"items": [{"id": "CALI", "quantity": 1, "modifiers": ["DRAGON~extras~mayo"]}]},
     422, "invalid_modifiers", "items[0].modifiers[0]"),
    ({"items": [{"id": "DRAGON-4", "quantity": 1, "modifiers": [
        "DRAGON~extras~mayo", "DRAGON~extras~mayo"]}]}, 422, "invalid_modifiers",
     "items[0].modifiers[1]"),
    ({"location": "moon"}, 404, "unknown_location", "location"),
    ({"items": [{"id": "CALI", "quantity": 0}]}, 400, "invalid", "items[0].quantity"),
    ({"items": [{"id": "CALI", "quantity": 100}]}, 400, "invalid", "items[0].quantity"),
    ({"items": [{"id": "CALI", "quantity": 1.5}]}, 400, "invalid", "items[0].quantity"),
    ({"items": [{"id": "CALI", "quantity": 1}] * 101}, 400, "invalid", "items"),
    ({"items": []}, 400, "invalid", "items"),
    ({"customer": {"phone": "+1 868 555 0199"}}, 400, "invalid", "customer.name"),
    ({"customer": {"name": "Ana"}}, 400, "invalid", "customer.phone"),
    ({"customer": {"name": "Ana", "phone": "call me"}}, 400, "invalid", "customer.phone"),
    ({"fulfilment": "delivery"}, 400, "invalid", "customer.address"),
    ({"fulfilment": "teleport"}, 400, "invalid", "fulfilment"),
    ({"fulfilment": "dine_in"}, 422, "unavailable", "fulfilment"),
])
def test_bad_orders_get_their_4xx_and_store_nothing(client, relay, change, status, code, field):
    response = post(client, order_body(**change))
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    assert count_orders(relay) == 0
    assert relay.store.idempotency("key-1") is None


def test_price_changed_carries_the_current_prices(client):
    error = post(client, order_body(expected_total=1, menu_version="old")).json["error"]
    assert error["message"] == "prices changed: the total is now TTD 246.50"
    assert error["total"] == {"amount": 24650, "currency": "TTD"}
    assert error["menu_version"] == "v1"  # the relay's menu, which the prices come from
    assert [line["total"] for line in error["lines"]] == [19800, 4850]


def test_a_closed_location_refuses_orders(site, sqlite_url, clock):
    clock.advance(8 * 3600)  # Tuesday 23:00 in Port of Spain; town closes at 22:00
    relay = make_relay(site, sqlite_url, clock)
    response = post(make_app(relay).test_client(), order_body())
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "closed", "field": "location",
        "message": "Town is closed now; online ordering opens again during opening hours"}
    assert count_orders(relay) == 0
    assert post(make_app(relay).test_client(), order_body("truck", fulfilment="pickup"),
                key="k2").status_code == 201  # the truck has no hours: always open


def test_live_sold_out_refuses_and_back_in_stock_allows(client, relay, clock):
    relay.store.set_availability("town", ["CALI"], False, clock())
    assert post(client, order_body()).json["error"]["code"] == "unavailable"
    relay.store.set_availability("town", ["CALI", "UNI"], True, clock())
    relay.forget_live()
    assert post(client, order_body(), key="k2").status_code == 201
    uni = order_body(items=[{"id": "UNI", "quantity": 1}], expected_total=9000)
    assert post(client, uni, key="k3").status_code == 201


def test_idempotency_same_key_same_body_replays(client, relay):
    first = post(client, order_body())
    again = post(client, order_body())
    assert again.status_code == 201 and again.json == first.json
    assert count_orders(relay) == 1


def test_idempotency_same_key_other_body_is_422(client, relay):
    post(client, order_body())
    other = post(client, order_body(note="extra ginger"))
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_mismatch"
    assert other.json["error"]["field"] == "Idempotency-Key"
    assert count_orders(relay) == 1


def test_the_order_id_follows_from_the_idempotency_key(client, relay):
    # The widget derives the same id in the browser (checkout.js orderId): the first 40 bits
    # of the key's SHA-256 (3eb1bd4399...), 5 bits per character of the readable alphabet.
    key = "0123456789abcdef0123456789abcdef"
    body = post(client, order_body(), key=key).json
    assert body["order_id"] == "9USV-UJWT"
    assert relay.store.order("9USV-UJWT")["total"] == body["total"]["amount"]
    assert post(client, order_body(note="another"), key="key-2").json["order_id"] == "HJVD-3CGY"


def test_a_key_whose_id_is_taken_gets_a_random_one(client, relay, monkeypatch):
    first = post(client, order_body(), key="key-1").json
    monkeypatch.setattr(service, "order_id_for", lambda key: first["order_id"])
    second = post(client, order_body(note="another"), key="key-2")
    assert second.status_code == 201, second.json
    assert second.json["order_id"] != first["order_id"]
    assert second.json["order_id"] in second.json["status_url"]
    assert post(client, order_body(note="another"), key="key-2").json == second.json
    assert [o["id"] for o in relay.store.orders()] == [
        second.json["order_id"], first["order_id"]]
    assert relay.store.order(first["order_id"])["data"]["note"] == ""


def test_an_idempotency_key_is_required(client, relay):
    response = post(client, order_body(), key=None)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_required"
    assert count_orders(relay) == 0


def test_bad_json_and_oversized_bodies(client, relay):
    bad = post(client, b"{not json")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_json"
    big = post(client, json.dumps(order_body(note="x" * 40_000)))
    assert big.status_code == 413 and big.json["error"]["code"] == "too_large"
    assert post(client, b"[1, 2]").json["error"]["field"] == "body"
    deep = post(client, "[" * 16_000 + "]" * 16_000)  # under 32 KB, too deep for the parser
    assert deep.status_code == 400 and deep.json["error"]["code"] == "invalid_json"
    assert count_orders(relay) == 0


def test_cors_only_for_site_origins(client):
    allowed = client.options("/v1/orders", headers={
        "Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    other = client.options("/v1/orders", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_rate_limit_answers_429_with_retry_after(site, sqlite_url, clock):
    relay = make_relay(site, sqlite_url, clock, rate_limit=3)
    client = make_app(relay).test_client()
    codes = [post(client, order_body(), key=f"k{i}").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = post(client, order_body(), key="k9")
    assert limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 20
    # Another client (behind no trusted proxy, X-Forwarded-For is ignored) is still limited.
    spoofed = post(client, order_body(), key="k10", **{"X-Forwarded-For": "10.9.9.9"})
    assert spoofed.status_code == 429
    assert count_orders(relay) == 3
    # A retry after a lost answer still gets its order's answer (and the same body only).
    first = post(client, order_body(), key="k0")
    assert first.status_code == 201 and first.json["order_id"] == relay.store.orders()[-1]["id"]
    assert post(client, order_body(note="other"), key="k0").status_code == 422
    assert count_orders(relay) == 3


def test_trusted_proxy_forwarded_for_picks_the_client(site, sqlite_url, clock):
    relay = make_relay(site, sqlite_url, clock, rate_limit=1, trusted_proxies=("127.0.0.0/8",))
    client = make_app(relay).test_client()
    a = post(client, order_body(), key="a1", **{"X-Forwarded-For": "203.0.113.5"})
    b = post(client, order_body(), key="b1", **{"X-Forwarded-For": "203.0.113.6"})
    a2 = post(client, order_body(), key="a2", **{"X-Forwarded-For": "203.0.113.5"})
    assert (a.status_code, b.status_code, a2.status_code) == (201, 201, 429)


@given(st.text())
def test_quote_all_encodes_as_urllib_does(text):
    assert quote_all(text) == quote(text, safe="")
