"""Orders into Odoo POS on the fake server (tests/fakes/odoo.py): 16/17 create_from_ui,
18/19 sync_from_ui, open sessions, idempotency, totals read back."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

import pytest
from fakes.odoo import NO_SESSION, serve
from odoo_seed import add_modifiers, move_to_a_branch, order_of, provider_for, seed

from hugo_pos.errors import PosUnavailable
from hugo_pos.providers.odoo_orders import (
    create_from_ui_payload,
    order_id_from_reference,
    pos_reference,
    price_lines,
)
from hugo_pos.providers.odoo_rpc import OdooError


@pytest.mark.parametrize("order_id", ["OMG-7Q2K", "8H2L-JMLN", "A"])
def test_our_reference_has_the_digits_the_till_reads(order_id):
    # Odoo 16/17 _export_for_ui: re.search('([0-9-]){14,}', order.pos_reference).group(0)
    reference = pos_reference(order_id)
    assert re.search("([0-9-]){14,}", reference) and reference == pos_reference(order_id)
    assert order_id_from_reference(reference) == order_id
    assert order_id_from_reference("Web OMG-7Q2K") == "OMG-7Q2K"  # the shape before session 6
    assert order_id_from_reference("Order 00042-001-0007") is None


@pytest.mark.parametrize("version", [16, 17, 18, 19])
def test_order_lands_in_the_open_session_and_reads_back(version):
    seeded = seed(version)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 2), ("NIGIRI-SALMON", 1)], note="no wasabi")
        ref = provider.submit_order(order)
    assert ref.provider == "odoo" and ref.ref == "Web OMG-7Q2K 80697-999-7019"
    assert ref.total == order.total == 2 * 6550 + 116 and ref.status == "in_pos"
    [stored] = seeded.fake.records["pos.order"].values()
    assert stored["session_id"] == seeded.session_id and stored["state"] == "draft"
    assert stored["amount_total"] == 132.16
    note = stored[{18: "general_note", 19: "general_customer_note"}.get(version, "note")]
    assert note == ("Web order OMG-7Q2K | pickup | Ann Ali +1 868 555 0199 | Note: no wasabi")
    lines = sorted(seeded.fake.lines_of(stored["id"]), key=lambda x: x["price_unit"])
    # the excluded tax: price_unit is the untaxed price, the subtotals are Odoo's
    assert [(x["qty"], x["price_unit"], x["price_subtotal"], x["price_subtotal_incl"],
             x["tax_ids"]) for x in lines] == [(1, 1.05, 1.05, 1.16, [seeded.service]),
                                               (2, 65.5, 116.44, 131.0, [seeded.vat])]
    if version >= 18:
        assert stored["uuid"] == order.uuid


@pytest.mark.parametrize("version", [17, 18])
def test_the_same_order_twice_creates_one_pos_order(version):
    seeded = seed(version)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        first = provider.submit_order(order)
        second = provider.submit_order(order)
    assert first == second
    assert len(seeded.fake.records["pos.order"]) == 1


def test_a_resend_that_odoo_skips_as_a_duplicate_returns_the_order_there(monkeypatch):
    # 17's create_from_ui skips a non-draft order with the same reference and the same lines
    # and leaves it out of its answer (point_of_sale pos_order.py); a resend that raced the
    # first (our lookup saw nothing yet) must not fail on the empty answer.
    seeded = seed(17)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded, order_state="paid",
                                payment_method_id=str(seeded.payment_method_id))
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        first = provider.submit_order(order)
        real, calls = provider._find_record, []

        def raced(*args, **kwargs):  # the first lookup misses the order, as in a race
            calls.append(args)
            return None if len(calls) == 1 else real(*args, **kwargs)

        monkeypatch.setattr(provider, "_find_record", raced)
        again = provider.submit_order(order)
    assert len(calls) == 2 and again.ref == first.ref
    assert len(seeded.fake.records["pos.order"]) == 1


@pytest.mark.parametrize("version", [17, 18, 19])
def test_a_timeout_after_the_create_is_ambiguous_and_the_resend_finds_it(version):
    seeded = seed(version)
    method = "create_from_ui" if version <= 17 else "sync_from_ui"
    seeded.fake.fail[("pos.order", method)] = 504   # Odoo committed, the proxy timed out
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        with pytest.raises(PosUnavailable) as info:
            provider.submit_order(order)
        assert info.value.ambiguous is True
        assert provider.find_order(order.order_id).ref == "Web OMG-7Q2K 80697-999-7019"
        again = provider.submit_order(order)
    assert again.ref == "Web OMG-7Q2K 80697-999-7019"
    assert len(seeded.fake.records["pos.order"]) == 1
    assert seeded.fake.calls.count(("pos.order", method)) == 1
    # the resend (the relay's retry: OdooProvider.submit_finds_first) completed the order
    [stored] = seeded.fake.records["pos.order"].values()
    note = stored[{18: "general_note", 19: "general_customer_note"}.get(version, "note")]
    assert note.startswith("Web order OMG-7Q2K | pickup")


def test_sync_from_ui_deduplicates_on_uuid_in_the_fake():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        provider.submit_order(order)
        # a different reference but the same uuid: Odoo 18 keeps the first order
        seeded.fake.records["pos.order"][max(seeded.fake.records["pos.order"])][
            "pos_reference"] = "renamed"
        ref = provider.submit_order(order)
    assert len(seeded.fake.records["pos.order"]) == 1
    assert ref.ref == "renamed"


@pytest.mark.parametrize(("version", "state"), [(17, "closed"), (18, "closed"),
                                                  (16, "closing_control"),
                                                  (17, "closing_control")])
def test_no_open_session_waits_and_says_the_pos_is_closed(version, state):
    # A session being closed still makes has_active_session true; 16/17 would move the order
    # into a rescue session the till does not show.
    seeded = seed(version, session_state=state)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        with pytest.raises(PosUnavailable) as info:
            provider.submit_order(order)
    assert info.value.message == ("the Odoo POS session of Diamond Vale truck is closed: "
                                  "order OMG-7Q2K waits until it opens")
    assert info.value.ambiguous is False and info.value.retry_after == 60
    assert seeded.fake.records["pos.order"] == {}


def test_odoo_18_refuses_an_order_for_a_closed_session():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        seeded.fake.records["pos.session"][seeded.session_id]["state"] = "closed"
        with pytest.raises(PosUnavailable) as info:
            provider.rpc.call("pos.order", "sync_from_ui", write=True, orders=[{
                "uuid": "u-1", "name": "Web X", "session_id": seeded.session_id,
                "amount_return": 0, "lines": []}])
    assert info.value.message == (f"Odoo (location diamond-vale): the POS session is closed "
                                  f"({NO_SESSION})")


def test_odoo_17_create_from_ui_raises_key_error_on_a_missing_key():
    seeded = seed(17)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)])
        lines = price_lines(order, {}, Decimal("0.01"), False)
        payload = create_from_ui_payload(order, lines, major=17, session_id=seeded.session_id,
                                         user_id=2, pricelist_id=None, payment_method_id=None)
        del payload["data"]["sequence_number"]
        with pytest.raises(OdooError) as info:
            provider.rpc.call("pos.order", "create_from_ui", write=True, orders=[payload])
    assert info.value.name == "builtins.KeyError"
    assert info.value.message == ("Odoo (location diamond-vale): pos.order.create_from_ui "
                                  "failed: builtins.KeyError: 'sequence_number'")


@pytest.mark.parametrize("version", [17, 18])
def test_paid_orders_carry_the_payment_method(version):
    seeded = seed(version)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded, order_state="paid",
                                payment_method_id=str(seeded.payment_method_id))
        ref = provider.submit_order(order_of(provider, [("ROLL-DRAGON", 1)]))
    [stored] = seeded.fake.records["pos.order"].values()
    [payment] = seeded.fake.records["pos.payment"].values()
    assert stored["state"] == "paid" and ref.status == "in_pos"
    assert payment["payment_method_id"] == seeded.payment_method_id
    assert payment["amount"] == 65.5


def test_a_rounding_difference_is_flagged_not_hidden(caplog):
    caplog.set_level(logging.WARNING)
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        # 3 x 1.16 on the menu; Odoo rounds the line's tax once: 3.15 + 0.315 -> 3.47
        ref = provider.submit_order(order_of(provider, [("NIGIRI-SALMON", 3)]))
    assert ref.total == 347
    assert "order OMG-7Q2K totals 347 in Odoo but 348 on the site" in caplog.text


def test_find_order_of_an_unknown_order_is_none():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        assert provider_for(url, seeded).find_order("NOPE") is None


@pytest.mark.parametrize("version", [17, 18])
def test_modifiers_are_attribute_values_of_the_line(version):
    seeded = seed(version)
    ptavs = add_modifiers(seeded.fake, "ROLL-DRAGON", "Extras", [("Avocado", 8.0),
                                                                  ("Tobiko", 0.0)])
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 2, ["Avocado", "Tobiko"])])
        ref = provider.submit_order(order)
    assert ref.total == order.total == 2 * (6550 + 800)
    [stored] = seeded.fake.records["pos.order"].values()
    [line] = seeded.fake.lines_of(stored["id"])
    assert line["full_product_name"] == "Dragon Roll (Avocado, Tobiko)"
    assert line["price_unit"] == 73.5 and line["price_extra"] == 8.0
    assert line["attribute_value_ids"] == [ptavs["Avocado"], ptavs["Tobiko"]]


def test_an_order_costs_five_requests_once_the_company_is_known():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        provider.submit_order(order_of(provider, [("ROLL-DRAGON", 1)], order_id="A-1"))
        before = len(seeded.fake.calls)
        provider.submit_order(order_of(provider, [("ROLL-DRAGON", 1)], order_id="A-2",
                                       uuid="2b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"))
    catalog_calls = 7   # order_of prices the order from a fresh catalog pull
    assert seeded.fake.calls[before + catalog_calls:] == [
        ("pos.order", "search_read"), ("pos.config", "read"), ("account.tax", "search_read"),
        ("pos.order", "sync_from_ui"), ("pos.order", "read")]


def test_multi_company_catalog_keeps_to_its_company():
    seeded = seed(17)
    fake = seeded.fake
    fake.user_companies = (1, 2)
    other_ttd = fake.add("res.currency", name="TTD", rounding=0.01)
    fake.add("res.company", id=2, name="OMG Catering Ltd", currency_id=other_ttd)
    vat2 = fake.add("account.tax", name="VAT company 2 (excluded)", amount=12.5,
                    amount_type="percent", price_include=False, company_id=2)
    dragon = next(t for t in fake.records["product.template"].values()
                  if t["default_code"] == "ROLL-DRAGON")
    dragon["taxes_id"] = [seeded.vat, vat2]        # taxes_id spans companies (notes §2.1)
    fake.add("product.template", name="Catering Platter", default_code="CATER-1",
             list_price=500.0, available_in_pos=True, sale_ok=True, company_id=2,
             pos_categ_ids=[seeded.food])
    with serve(fake) as url:
        catalog = provider_for(url, seeded).fetch_catalog()
        with pytest.raises(OdooError) as info:
            provider_for(url, seeded, company_id="3").fetch_catalog()
    found = {v.sku: v for item in catalog.items for v in item.variants}
    assert "CATER-1" not in found
    assert found["ROLL-DRAGON"].price == 6550 and found["ROLL-DRAGON"].pos["tax_ids"] == [
        seeded.vat]
    assert info.value.message == ("Odoo (location diamond-vale): access denied on "
                                  "pos.config.read: Access to unauthorized or invalid "
                                  "companies.")


def test_a_branch_sells_with_its_parent_companys_products_and_taxes():
    # Odoo 17 branches: the truck's POS runs in a branch of OMG Sushi Ltd, whose products and
    # taxes it uses (their company is the parent).
    seeded = seed(17)
    branch = move_to_a_branch(seeded)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded, company_id=branch)
        found = {v.sku: v for item in provider.fetch_catalog().items for v in item.variants}
        ref = provider.submit_order(order_of(provider, [("ROLL-DRAGON", 1)]))
    assert found["ROLL-DRAGON"].price == 6550 and found["ROLL-DRAGON"].pos["tax_ids"] == [
        seeded.vat]  # 58.22 + 12.5 % VAT of company 1
    assert ref.total == 6550


@pytest.mark.parametrize("version", [16, 17])
def test_a_note_lost_to_an_outage_is_written_when_the_delivery_is_retried(version, monkeypatch):
    # 16/17 take the note in a write after create_from_ui: the order must not reach the
    # kitchen without the customer's name and how they get their food.
    seeded = seed(version)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        order = order_of(provider, [("ROLL-DRAGON", 1)], note="no wasabi")
        call = provider.rpc.call

        def down_for_the_note(model, method, *args, **named):
            if method == "write":
                raise PosUnavailable("Odoo did not answer (ReadTimeout)", ambiguous=True)
            return call(model, method, *args, **named)

        monkeypatch.setattr(provider.rpc, "call", down_for_the_note)
        with pytest.raises(PosUnavailable) as failed:
            provider.submit_order(order)
        # Not ambiguous: the relay calls submit_order again rather than only looking the
        # order up (relay/deliver.py), so the note gets its second chance.
        assert failed.value.ambiguous is False
        [stored] = seeded.fake.records["pos.order"].values()
        assert not stored.get("note")
        monkeypatch.setattr(provider.rpc, "call", call)
        ref = provider.submit_order(order)  # the relay's retry
    assert len(seeded.fake.records["pos.order"]) == 1 and ref.ref == stored["pos_reference"]
    assert stored["note"].startswith("Web order OMG-7Q2K | pickup | Ann Ali")
