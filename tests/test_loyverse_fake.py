"""The provider against the fake Loyverse server (tests/fakes/loyverse.py) on loopback:
the fake's documented behaviour, request counts, a timed-out order, webhooks, the menu push."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import pytest
import requests
from fakes.loyverse import DEFAULT_TOKEN, FakeLoyverse, serve
from loyverse_payloads import order, provider

from hugo_pos.catalog import SiteItem, SiteModifierGroup, SiteOption, SiteVariant
from hugo_pos.http import HttpClient
from hugo_pos.providers.loyverse import LoyverseProvider

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def fake():
    account = FakeLoyverse(currency="TTD")
    account.store = account.add_store("Ariapita Avenue")
    account.truck = account.add_store("Mucurapo Road")
    account.payment = account.add_payment_type("Online")
    return account


def on(fake: FakeLoyverse, url: str, store: str | None = None, **settings) -> LoyverseProvider:
    return provider(store_id=store or fake.store, token=DEFAULT_TOKEN, api_url=url,
                    payment_type_id=fake.payment, **settings)


def test_the_fake_pages_and_errors_as_documented(fake):
    fake.generate(5)
    with serve(fake) as url:
        first = requests.get(f"{url}/items", params={"limit": 3}, headers=AUTH).json()
        last = requests.get(f"{url}/items", params={"limit": 3, "cursor": first["cursor"]},
                            headers=AUTH).json()
        too_big = requests.get(f"{url}/items", params={"limit": 251}, headers=AUTH)
        bogus = requests.get(f"{url}/items", params={"cursor": "%%%"}, headers=AUTH)
        anonymous = requests.get(f"{url}/items")
    assert (len(first["items"]), len(last["items"])) == (3, 2)
    assert "cursor" not in last  # absent, not null, on the last page
    assert too_big.status_code == 400 and too_big.json()["errors"][0]["field"] == "limit"
    assert bogus.json() == {"errors": [{"code": "INVALID_CURSOR", "field": "cursor",
                                        "details": "The pagination cursor is incorrect"}]}
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_a_full_pull_makes_the_minimum_number_of_requests(fake):
    fake.generate(600)
    token = DEFAULT_TOKEN
    with serve(fake) as url:
        here = provider(store_id=fake.store, token=token, api_url=url)
        truck = provider("mucurapo", store_id=fake.truck, token=token, api_url=url)
        catalogs = LoyverseProvider.fetch_catalogs([here, truck])
    pages = math.ceil(600 / 250)
    # merchant, stores, categories, modifiers, taxes: 1 each; items; inventory per store
    assert fake.request_count == 5 + pages + 2 * pages
    assert fake.count("GET", "items") == pages
    assert [len(c.items) for c in catalogs] == [600, 600]


def test_a_timed_out_order_is_found_not_created_twice(fake):
    roll = fake.add_item("Dragon Roll", sku="ROLL-DRAGON", price="95.00")
    line = order().lines[1]
    line = type(line)(variant_id="ROLL-DRAGON", name="Dragon Roll", quantity=1, unit_price=9500,
                      pos={"item_id": roll["id"],
                           "variant_id": roll["variants"][0]["variant_id"]})
    with serve(fake) as url:
        made = on(fake, url)
        made.client.timeout = (2.0, 0.3)
        fake.fail_next(1, "timeout")  # the receipt is created, the answer comes too late
        ref = made.submit_order(order(lines=(line,), total=9500))
        again = made.find_order("7K3M-9QXP")
    assert len(fake.receipts) == 1
    assert (ref.ref, ref.total) == (fake.receipts[0]["receipt_number"], 9500)
    assert again == ref


def test_register_webhooks_is_idempotent(fake):
    with serve(fake) as url:
        made = on(fake, url)
        first = made.register_webhooks("https://relay.example.com", token="s3cret-token")
        second = made.register_webhooks("https://relay.example.com", token="s3cret-token")
    assert [line.split()[0] for line in first] == ["created"] * 3
    assert [line.split()[0] for line in second] == ["exists"] * 3
    assert {(w["type"], w["url"]) for w in fake.webhooks} == {
        (kind, "https://relay.example.com/webhooks/loyverse/s3cret-token")
        for kind in ("items.update", "inventory_levels.update", "receipts.update")}
    assert all("s3cret-token" not in line for line in first + second)


def test_signed_webhooks_are_registered_without_a_token(fake):
    with serve(fake) as url:
        lines = on(fake, url, webhook_secret="client-secret").register_webhooks(
            "https://relay.example.com/")
    assert all(line.endswith("https://relay.example.com/webhooks/loyverse") for line in lines)


def site_items() -> tuple[SiteItem, ...]:
    sauce = SiteModifierGroup(name="Sauce", min=0, max=2, options=(
        SiteOption("Eel sauce", 300), SiteOption("Spicy mayo", 450)))
    return (
        SiteItem(key="ROLL-DRAGON", title="Dragon Roll", category="Rolls", source="rolls.md",
                 sku="ROLL-DRAGON", description="Shrimp tempura, avocado, eel sauce",
                 variants=(SiteVariant("Dragon Roll", "ROLL-DRAGON", 9500),),
                 modifiers=(sauce,)),
        SiteItem(key="menu/bar/sake", title="Sake", category="Bar", source="sake.md",
                 has_variants=True, variants=(SiteVariant("Glass", "BAR-SAKE-GLASS", 4500),
                                              SiteVariant("Carafe", "BAR-SAKE-CARAFE", 12000))),
        SiteItem(key="SIDE-MISO", title="Miso Soup", category="Sides", source="miso.md",
                 sku="SIDE-MISO", variants=(SiteVariant("Miso Soup", "SIDE-MISO", 2000),)),
    )


def test_push_plans_then_applies_then_has_nothing_left_to_do(fake):
    old = fake.add_item("Miso", sku="SIDE-MISO", price="18.00")
    keep = fake.add_item("Staff meal", sku="STAFF", price="0")
    with serve(fake) as url:
        made = on(fake, url)
        plan = made.push_items(site_items(), apply=False)
        assert len(fake.items) == 2  # a plan writes nothing
        applied = made.push_items(site_items(), apply=True)
        again = made.push_items(site_items(), apply=True)
        catalog = made.fetch_catalog()
    assert [(c.action, c.key) for c in plan.changes] == [
        ("create", "ROLL-DRAGON"), ("create", "menu/bar/sake"), ("update", "SIDE-MISO")]
    miso = plan.changes[2].diffs
    assert miso == {"name": ("Miso", "Miso Soup"), "category": (None, "Sides"),
                    "price[SIDE-MISO]": ("TTD 18.00", "TTD 20.00")}
    assert applied.applied and [c.action for c in again.changes] == ["unchanged"] * 3
    assert keep["id"] in fake.items and old["id"] in fake.items  # never deletes
    prices = {v.sku: v.price for i in catalog.items for v in i.variants}
    assert prices == {"ROLL-DRAGON": 9500, "BAR-SAKE-GLASS": 4500, "BAR-SAKE-CARAFE": 12000,
                      "SIDE-MISO": 2000, "STAFF": 0}
    dragon = next(i for i in catalog.items if i.name == "Dragon Roll")
    assert (dragon.category, [m.name for m in dragon.modifiers]) == ("Rolls", ["Sauce"])
    assert [(o.name, o.price) for o in dragon.modifiers[0].options] == [("Eel sauce", 300),
                                                                        ("Spicy mayo", 450)]


def test_push_sets_the_price_of_this_store_only(fake):
    fake.add_item("Miso Soup", sku="SIDE-MISO", price="20.00", category_id=fake.add_category(
        "Sides"))
    with serve(fake) as url:
        truck = on(fake, url, store=fake.truck)
        cheaper = (replace(site_items()[2], variants=(SiteVariant("Miso Soup", "SIDE-MISO",
                                                                   1500),)),)
        plan = truck.push_items(cheaper, apply=True)
        here = on(fake, url).fetch_catalog()
        there = truck.fetch_catalog()
    assert plan.changes[0].diffs == {"price[SIDE-MISO]": ("TTD 20.00", "TTD 15.00")}
    assert (here.items[0].variants[0].price, there.items[0].variants[0].price) == (2000, 1500)


def test_a_modifier_shared_by_name_gets_every_option_the_site_needs(fake, monkeypatch):
    existing = fake.add_modifier("Extras", [("Avocado", "8.00")])
    salmon = SiteItem(key="POKE-SALMON", title="Salmon Poke", category="Poke", source="s.md",
                      sku="POKE-SALMON", variants=(SiteVariant("Salmon Poke", "POKE-SALMON",
                                                               7500),),
                      modifiers=(SiteModifierGroup("Extras", 0, 3, (
                          SiteOption("Avocado", 800), SiteOption("Tobiko", 1000))),))
    tofu = replace(salmon, key="POKE-TOFU", title="Tofu Poke", sku="POKE-TOFU",
                   variants=(SiteVariant("Tofu Poke", "POKE-TOFU", 6500),),
                   modifiers=(SiteModifierGroup("extras", 0, 3, (
                       SiteOption("Avocado", 800), SiteOption("Seaweed", 300))),))
    posted = []
    send = HttpClient.request

    def spy(self, method, path, **kwargs):
        if (method, path) == ("POST", "items"):
            posted.append(kwargs["json"])
        return send(self, method, path, **kwargs)

    monkeypatch.setattr(HttpClient, "request", spy)
    with serve(fake) as url:
        made = on(fake, url)
        plan = made.push_items((salmon, tofu), apply=True)
        again = made.push_items((salmon, tofu), apply=False)
    # the live spelling and the spec's (notes §3.1 erratum 1): attached either way
    assert [(b["modifier_ids"], b["modifiers_ids"]) for b in posted] == [
        ([existing["id"]], [existing["id"]])] * 2
    assert plan.changes[0].diffs["options[Extras]"] == ("Avocado", "Avocado, Tobiko, Seaweed")
    assert [c.action for c in again.changes] == ["unchanged", "unchanged"]
    assert len(fake.modifiers) == 1
    options = fake.modifiers[existing["id"]]["modifier_options"]
    assert [(o["name"], o["price"]) for o in options] == [
        ("Avocado", Decimal("8.00")), ("Tobiko", Decimal(10)), ("Seaweed", Decimal(3))]
    assert all(i["modifier_ids"] == [existing["id"]] for i in fake.items.values())


def test_the_fakes_signed_webhook_is_verified_and_parsed(fake):
    roll = fake.add_item("Dragon Roll", sku="ROLL-DRAGON", price="95.00")
    line = order().lines[1]
    line = type(line)(variant_id="ROLL-DRAGON", name="Dragon Roll", quantity=1, unit_price=9500,
                      pos={"variant_id": roll["variants"][0]["variant_id"]})
    with serve(fake) as url:
        made = on(fake, url, webhook_secret="client-secret")
        ref = made.submit_order(order(lines=(line,), total=9500))
    receipt = fake.cancel_receipt(ref.ref)
    body, headers = fake.webhook("receipts.update", [receipt], secret="client-secret")
    assert made.verify_webhook(headers, body, "client-secret")
    assert not made.verify_webhook(headers, body.replace(b"Dragon", b"Dragoon"), "client-secret")
    [event] = made.parse_webhook(body)
    assert (event.kind, event.order_id, event.status) == ("order_status", "7K3M-9QXP",
                                                          "cancelled")
