"""The relay with an Odoo POS (the fake, Odoo 18): an order is delivered into the open session,
waits with "session closed" while none is open, and follows Odoo's webhook to completion."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from fakes.odoo import serve
from odoo_seed import enable_odoo, odoo_env, seed

from hugo_pos.build import build
from hugo_pos.providers.odoo_orders import pos_reference
from hugo_pos.relay.app import create_app
from hugo_pos.relay.deliver import Worker
from hugo_pos.relay.service import Relay
from hugo_pos.relay.settings import RelaySettings
from hugo_pos.relay.webhooks import process_events

TOKEN = "odoo-hook-token-0123456789abcdef"
TUESDAY_6PM = 1795557600.0   # 2026-11-24 18:00 in Port of Spain: Diamond Vale is open


def order(quantity: int, key: str) -> tuple[str, dict]:
    body = {"location": "diamond-vale", "items": [{"id": "ROLL-SPICY-TUNA",
                                                    "quantity": quantity}],
            "customer": {"name": "Ann Ali", "phone": "+1 868 555 0199"},
            "fulfilment": "pickup", "expected_total": 6550 * quantity}
    return key, body


def test_relay_delivers_to_odoo_waits_for_a_session_and_follows_webhooks(example_site: Path,
                                                                          tmp_path: Path):
    seeded = seed(18, [("ROLL-SPICY-TUNA", "Spicy Tuna Roll", 65.5, "incl")])
    enable_odoo(example_site)
    with serve(seeded.fake) as url:
        env = {**odoo_env(url, seeded), "HUGO_POS_WEBHOOK_TOKEN": TOKEN}
        build(example_site, env=env)
        settings = RelaySettings.from_env(env, site=example_site, worker="off", rate_limit=0,
                                          database_url=f"sqlite:///{tmp_path}/relay.sqlite")
        relay = Relay(replace(settings, clock=lambda: TUESDAY_6PM))
        client = create_app(relay=relay).test_client()
        worker = Worker(relay, threads=1)

        def place(quantity: int, key: str) -> str:
            key, body = order(quantity, key)
            response = client.post("/v1/orders", data=json.dumps(body),
                                   content_type="application/json",
                                   headers={"Idempotency-Key": key})
            assert response.status_code == 201, response.json
            return response.json["order_id"]

        first = place(2, "k-1")
        assert worker.deliver_due() == 1
        view = client.get(f"/v1/orders/{first}").json
        [delivery] = view["deliveries"]
        assert view["status"] == "in_pos"
        assert (delivery["status"], delivery["pos_ref"], delivery["last_error"]) == (
            "delivered", pos_reference(first), None)

        seeded.fake.records["pos.session"][seeded.session_id]["state"] = "closed"
        second = place(1, "k-2")
        worker.deliver_due()
        [waiting] = client.get(f"/v1/orders/{second}").json["deliveries"]
        assert waiting["status"] == "pending"
        assert "the Odoo POS session of Diamond Vale truck is closed" in waiting["last_error"]

        # the customer picks the first order up and pays: Odoo's webhook says so
        [stored] = [o for o in seeded.fake.records["pos.order"].values()
                    if o["pos_reference"] == pos_reference(first)]
        stored["state"] = "paid"
        hook = json.dumps({"_action": "hugo-pos(#3)", "_id": stored["id"],
                           "_model": "pos.order", "state": "paid"}, sort_keys=True)
        assert client.post(f"/webhooks/odoo/{TOKEN}", data=hook).status_code < 300
        assert client.post("/webhooks/odoo/wrong-token", data=hook).status_code == 401
        process_events(relay)
        assert client.get(f"/v1/orders/{first}").json["status"] == "completed"
    assert len(seeded.fake.records["pos.order"]) == 1
    assert stored["amount_total"] == 131.0
