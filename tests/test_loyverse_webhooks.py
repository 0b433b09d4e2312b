"""Loyverse webhooks: signature vectors computed outside this code, payload parsing, confirming.

Payloads: the official document's "Webhook payload" example (inventory_levels.update) and the
resource arrays of notes §6.2 (items, receipts).
"""

from __future__ import annotations

import json

import pytest
import responses
from loyverse_payloads import API, OTHER_STORE, STORE, item, level, provider, variant

from hugo_pos.errors import HugoPosError
from hugo_pos.providers.base import WebhookEvent
from hugo_pos.providers.loyverse_webhooks import signature_ok

# The spec's inventory_levels.update example, byte for byte as sent.
INVENTORY_BODY = (
    b'{"merchant_id":"5fk4f446-01d2-8787-4fd5-7b7b1995df85","type":"inventory_levels.update",'
    b'"created_at":"2020-06-07T17:23:48.562Z","inventory_levels":[{"variant_id":'
    b'"5fk4f446-01d2-8787-4fd5-7b7b1995df85","store_id":"5fk4f446-01d2-8787-4fd5-7b7b1995df85",'
    b'"in_stock":0,"updated_at":"2019-08-24T14:15:22Z"}]}')
# `printf '%s' BODY | openssl dgst -sha1 -hmac 'loyverse-client-secret-Ünï'` (UTF-8 key)
INVENTORY_SIGNATURE = "29a304df7289e46eb2974fc7acfac95800806cbf"
SECRET = "loyverse-client-secret-Ünï"


@pytest.mark.parametrize(("key", "body", "digest"), [
    # RFC 2202 (HMAC-SHA1 test cases 1 and 2)
    ("\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    ("Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    (SECRET, INVENTORY_BODY, INVENTORY_SIGNATURE),
])
def test_signatures_match_independent_vectors(key, body, digest):
    assert signature_ok(body, digest, key)
    assert not signature_ok(body + b" ", digest, key)
    assert not signature_ok(body, digest, key + "x")


def test_verify_webhook_checks_the_signature_header_when_a_secret_is_set():
    made = provider(webhook_secret=SECRET)
    assert made.verify_webhook({"x-loyverse-signature": INVENTORY_SIGNATURE},
                               INVENTORY_BODY, "")
    assert not made.verify_webhook({"X-Loyverse-Signature": "0" * 40}, INVENTORY_BODY, "")
    assert not made.verify_webhook({}, INVENTORY_BODY, "")  # unsigned: refused
    tampered = INVENTORY_BODY.replace(b'"in_stock":0', b'"in_stock":9')
    assert not made.verify_webhook({"X-Loyverse-Signature": INVENTORY_SIGNATURE}, tampered, "")


def test_without_a_secret_the_url_token_must_match():
    made = provider()
    assert made.verify_webhook({}, b"{}", "", token="t0k3n-abc", expected_token="t0k3n-abc")
    assert not made.verify_webhook({}, b"{}", "", token="wrong", expected_token="t0k3n-abc")
    assert not made.verify_webhook({}, b"{}", "", token="", expected_token="")
    # the relay's convention: the URL token in a header, the expected one as `secret`
    assert made.verify_webhook({"X-Hugo-Pos-Url-Token": "t0k3n-abc"}, b"{}", "t0k3n-abc")
    assert not made.verify_webhook({}, b"{}", "")  # neither signature nor token


def body_of(kind: str, key: str, rows: list[dict]) -> bytes:
    return json.dumps({"merchant_id": "5fk4f446-01d2-8787-4fd5-7b7b1995df85", "type": kind,
                       "created_at": "2020-06-07T17:23:48.562Z", key: rows}).encode()


def test_inventory_updates_become_stock_events_of_this_store():
    body = body_of("inventory_levels.update", "inventory_levels", [
        level("v-1", 0), level("v-2", 4), level("v-3", 0, OTHER_STORE)])
    events = provider().parse_webhook(body)
    # 0 is re-read from the API even when signed: it means sold out only if the item tracks
    # stock, which the payload does not say.
    assert [(e.kind, e.variant_ids, e.available, e.location, e.recheck) for e in events] == [
        ("stock", ("v-1",), False, "ariapita", True), ("stock", ("v-2",), True, "ariapita", False)]
    assert [e.event_id for e in provider().parse_webhook(body)] == [e.event_id for e in events]


def test_receipt_updates_give_order_statuses():
    base = {"receipt_type": "SALE", "store_id": STORE, "updated_at": "2026-11-25T01:02:04Z",
            "cancelled_at": None}
    body = body_of("receipts.update", "receipts", [
        {**base, "receipt_number": "2-1009", "order": "7K3M-9QXP"},
        {**base, "receipt_number": "2-1010", "order": "8P2Q-1ABC",
         "cancelled_at": "2026-11-25T02:00:00Z"},
        {**base, "receipt_number": "2-1011", "order": "9XYZ-0000", "receipt_type": "REFUND",
         "refund_for": "2-1008", "store_id": OTHER_STORE},
        {**base, "receipt_number": "2-1012", "order": None}])  # a sale made at the till
    events = provider().parse_webhook(body)
    assert [(e.kind, e.order_id, e.status, e.location) for e in events] == [
        ("order_status", "7K3M-9QXP", "in_pos", "ariapita"),
        ("order_status", "8P2Q-1ABC", "cancelled", "ariapita"),
        ("order_status", "9XYZ-0000", "cancelled", None)]
    assert len({e.event_id for e in events}) == 3


def test_item_updates_mean_the_catalog_changed():
    roll = item("Dragon Roll", [variant("ROLL-DRAGON", 95.0)])
    events = provider().parse_webhook(body_of("items.update", "items", [roll]))
    assert [(e.kind, e.variant_ids) for e in events] == [
        ("catalog_changed", (roll["variants"][0]["variant_id"],))]


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(HugoPosError, match="not JSON"):
        provider().parse_webhook(b"<html>")


@responses.activate
def test_confirming_stock_rereads_tracking_and_inventory():
    tracked = item("Unagi", [variant("NIGIRI-UNAGI", 30.0)], track_stock=True)
    vid = tracked["variants"][0]["variant_id"]
    responses.get(f"{API}/variants/{vid}", json=tracked["variants"][0])
    responses.get(f"{API}/items/{tracked['id']}", json=tracked)
    responses.get(f"{API}/inventory", json={"inventory_levels": [level(vid, 3)]})
    hint = WebhookEvent(kind="stock", event_id="e1", location="ariapita", variant_ids=(vid,),
                        available=False)
    assert provider().confirm_event(hint).available is True


@responses.activate
def test_confirming_an_order_status_asks_the_receipts():
    responses.get(f"{API}/receipts", json={"receipts": []})
    hint = WebhookEvent(kind="order_status", event_id="e2", order_id="FAKE-0001",
                        status="cancelled")
    assert provider().confirm_event(hint) is None


def test_a_payload_of_an_unexpected_shape_is_refused_cleanly():
    with pytest.raises(HugoPosError, match="unexpected inventory_levels.update payload"):
        provider().parse_webhook(body_of("inventory_levels.update", "inventory_levels",
                                         [{"store_id": STORE}]))


@responses.activate
def test_a_deleted_variant_is_confirmed_unavailable():
    responses.get(f"{API}/variants/gone", status=404, json={"errors": [{"code": "NOT_FOUND"}]})
    hint = WebhookEvent(kind="stock", event_id="e3", variant_ids=("gone",), available=True)
    assert provider().confirm_event(hint).available is False


@responses.activate
@pytest.mark.parametrize("deleted", ["variant", "item", "item gone"])
def test_a_soft_deleted_variant_or_item_is_confirmed_unavailable(deleted):
    # Soft deletes keep the object, with deleted_at set (notes §1.4); a deleted item's
    # GET /items/{id} may also answer 404.
    roll = item("Unagi", [variant("NIGIRI-UNAGI", 30.0)])
    vid = roll["variants"][0]["variant_id"]
    stamp = "2026-12-01T10:00:00.000Z"
    responses.get(f"{API}/variants/{vid}",
                  json={**roll["variants"][0], "deleted_at": stamp if deleted == "variant"
                        else None})
    if deleted == "item gone":
        responses.get(f"{API}/items/{roll['id']}", status=404,
                      json={"errors": [{"code": "NOT_FOUND", "details": "Item not found"}]})
    else:
        responses.get(f"{API}/items/{roll['id']}",
                      json={**roll, "deleted_at": stamp if deleted == "item" else None})
    hint = WebhookEvent(kind="stock", event_id="e4", variant_ids=(vid,), available=True)
    assert provider().confirm_event(hint).available is False
