"""Odoo webhooks: URL token, payload as a hint, confirmation by re-reading the record.

Bodies are what a "Send Webhook Notification" server action POSTs:
``json.dumps({"_action": "<name>(#<id>)", "_id": id, "_model": model, **record.read(fields,
load=None)[0]}, sort_keys=True, default=str)`` (odoo/addons/base/models/ir_actions.py 17.0
``_run_action_webhook``; notes odoo.md §4.1). No signature header exists.
"""

from __future__ import annotations

import json

import pytest
from fakes.odoo import serve
from odoo_seed import order_of, provider_for, seed

from hugo_pos.errors import HugoPosError


def body(model: str, rec_id: int, **fields) -> bytes:
    vals = {"_action": "Notify hugo-pos(#31)", "_id": rec_id, "_model": model, **fields}
    return json.dumps(vals, sort_keys=True, default=str).encode()


def test_url_token_is_compared_in_constant_time_and_required():
    seeded = seed(17)
    provider = provider_for("http://odoo.invalid", seeded)
    good = {"X-Hugo-Pos-Url-Token": "t0k3n-abc", "Content-Type": "application/json"}
    assert provider.verify_webhook(good, b"{}", "t0k3n-abc") is True
    assert provider.verify_webhook({"x-hugo-pos-url-token": "t0k3n-abc"}, b"{}", "t0k3n-abc")
    assert provider.verify_webhook({"X-Hugo-Pos-Url-Token": "t0k3n-abd"}, b"{}",
                                   "t0k3n-abc") is False
    assert provider.verify_webhook({}, b"{}", "t0k3n-abc") is False
    assert provider.verify_webhook({"X-Hugo-Pos-Url-Token": ""}, b"{}", "") is False


def test_order_state_webhook_is_confirmed_from_odoo():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        provider.submit_order(order_of(provider, [("ROLL-DRAGON", 1)]))
        [odoo_id] = seeded.fake.records["pos.order"]
        seeded.fake.records["pos.order"][odoo_id]["state"] = "paid"   # picked up and paid
        raw = body("pos.order", odoo_id, name="Shop/0007", state="paid", amount_total=65.5,
                   session_id=seeded.session_id)
        [event] = provider.parse_webhook(raw)
        assert event.kind == "order_status" and event.status == "completed"
        assert event.order_id is None          # pos_reference was not among the fields sent
        confirmed = provider.confirm_event(event)
        # a forged body claiming "cancel" is corrected by the re-read
        forged = provider.confirm_event(provider.parse_webhook(
            body("pos.order", odoo_id, state="cancel"))[0])
        missing = provider.confirm_event(provider.parse_webhook(
            body("pos.order", 999, state="paid"))[0])
    assert confirmed.order_id == "OMG-7Q2K" and confirmed.status == "completed"
    assert confirmed.location == "diamond-vale"
    assert forged.status == "completed"
    assert missing is None
    assert event.event_id.startswith(f"odoo:pos.order:{odoo_id}:")
    assert provider.parse_webhook(raw)[0].event_id == event.event_id   # a replay dedupes


def test_product_webhook_gives_availability_and_a_catalog_change():
    seeded = seed(17)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        tmpl = next(t for t in seeded.fake.records["product.template"].values()
                    if t["default_code"] == "ROLL-DRAGON")
        variant = next(p["id"] for p in seeded.fake.records["product.product"].values()
                       if p["product_tmpl_id"] == tmpl["id"])
        tmpl["available_in_pos"] = False
        events = provider.parse_webhook(body("product.template", tmpl["id"],
                                             available_in_pos=True, list_price=70.0))
        stock = provider.confirm_event(events[0])
    assert [e.kind for e in events] == ["stock", "catalog_changed"]
    assert stock.variant_ids == (str(variant),) and stock.available is False


def test_bodies_that_are_not_odoo_webhooks_give_no_event():
    provider = provider_for("http://odoo.invalid", seed(17))
    with pytest.raises(ValueError):  # the relay answers 400 (DESIGN §9: bad JSON is a 4xx)
        provider.parse_webhook(b"not json")
    assert provider.parse_webhook(b'{"hello": 1}') == []
    [event] = provider.parse_webhook(body("pos.category", 4, name="Rolls"))
    assert event.kind == "catalog_changed"
    assert provider.confirm_event(event) == event


def test_register_webhooks_creates_one_rule_per_model_once():
    seeded = seed(17)
    token = "tok-" + "x" * 40
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        first = provider.register_webhooks("https://relay.omg.tt/", token)
        second = provider.register_webhooks("https://relay.omg.tt", token)
    shown = "https://relay.omg.tt/webhooks/odoo/***"
    assert first == [f"pos.order: created an automation rule posting to {shown}",
                     f"product.template: created an automation rule posting to {shown}"]
    assert second == [f"pos.order: already posts to {shown}",
                      f"product.template: already posts to {shown}"]
    assert token not in " ".join(first + second)
    rules = seeded.fake.records["base.automation"]
    actions = list(seeded.fake.records["ir.actions.server"].values())
    assert len(rules) == 2 and len(actions) == 2
    assert {a["webhook_url"] for a in actions} == {f"https://relay.omg.tt/webhooks/odoo/{token}"}
    assert all(a["state"] == "webhook" and a["base_automation_id"] in rules for a in actions)
    fields = seeded.fake.records["ir.model.fields"]
    order_action = next(a for a in actions if "pos.order" in a["name"])
    assert {fields[f]["name"] for f in order_action["webhook_field_ids"]} == {
        "name", "pos_reference", "state", "amount_total", "config_id"}


def test_register_webhooks_needs_a_token_and_odoo_17():
    seeded = seed(16)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        with pytest.raises(HugoPosError) as info:
            provider.register_webhooks("https://relay.omg.tt", "")
        lines = provider.register_webhooks("https://relay.omg.tt", "some-token")
    assert info.value.message.startswith("HUGO_POS_WEBHOOK_TOKEN is not set")
    assert lines == ["skipped: Odoo 16 has no webhook actions (17+), so order status and "
                     "catalog changes are not pushed; rebuild the site to pick up price changes"]
