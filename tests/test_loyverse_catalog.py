"""Loyverse catalog pull and projection, with the API faked by ``responses``.

Payload shapes: tests/loyverse_payloads.py (each builder cites the official document's schema).
"""

from __future__ import annotations

import json
import logging
import time

import pytest
import responses
from loyverse_payloads import (
    API,
    OTHER_STORE,
    STORE,
    category,
    errors,
    item,
    level,
    merchant,
    modifier,
    provider,
    store,
    store_entry,
    tax,
    variant,
)
from responses import matchers

from hugo_pos.errors import PosUnavailable, ProviderError
from hugo_pos.http import HttpClient
from hugo_pos.providers.loyverse import LoyverseProvider
from hugo_pos.providers.loyverse_catalog import Projection, last_cursor


def serve(rsps, *, items=(), modifiers=(), taxes=(), categories=(), levels=None,
          profile=None, stores=None, item_pages=None, respond=None):
    """Register one account: every list on one page, unless ``item_pages`` splits the items.

    ``respond(page number, body)``, if given, returns the callback that answers that item page.
    """
    rsps.get(f"{API}/merchant/", json=profile or merchant())
    for path, key, rows in (("stores", "stores", stores or [store(), store(OTHER_STORE, "Truck")]),
                            ("categories", "categories", list(categories)),
                            ("modifiers", "modifiers", list(modifiers)),
                            ("taxes", "taxes", list(taxes))):
        rsps.get(f"{API}/{path}", json={key: rows},
                 match=[matchers.query_param_matcher({"limit": "250"})])
    pages = item_pages or [list(items)]
    for number, page in enumerate(pages):
        query = {"limit": "250", **({"cursor": f"cursor-{number}"} if number else {})}
        body = {"items": page}
        if number + 1 < len(pages):
            body["cursor"] = f"cursor-{number + 1}"  # the last page has no cursor key (§2)
        match = [matchers.query_param_matcher(query)]
        if respond:
            rsps.add_callback(rsps.GET, f"{API}/items", callback=respond(number, body),
                              match=match)
        else:
            rsps.get(f"{API}/items", json=body, match=match)
    for store_id, rows in (levels or {}).items():
        rsps.get(f"{API}/inventory", json={"inventory_levels": rows},
                 match=[matchers.query_param_matcher({"limit": "250", "store_ids": store_id})])


def only(catalog, name):
    return next(i for i in catalog.items if i.name == name)


@responses.activate
def test_full_pull_follows_every_page_with_the_minimum_number_of_requests():
    many = [item(f"Roll {n}", [variant(f"R-{n:04d}", 50.0)]) for n in range(520)]
    serve(responses, item_pages=[many[:250], many[250:500], many[500:]], levels={STORE: []})
    catalog = provider().fetch_catalog()
    assert len(catalog.items) == 520
    assert only(catalog, "Roll 519").variants[0].price == 5000
    # merchant + stores + categories + modifiers + taxes + 3 item pages + 1 inventory page
    assert len(responses.calls) == 1 + 1 + 1 + 1 + 1 + 3 + 1
    lists = [c for c in responses.calls if "/merchant/" not in c.request.url]
    assert all("limit=250" in c.request.url for c in lists)


@responses.activate
def test_locations_sharing_an_account_are_pulled_once():
    roll = item("Dragon Roll", [variant("ROLL-DRAGON", 95.0, stores=[
        store_entry(STORE, 95.0), store_entry(OTHER_STORE, 90.0)])])
    serve(responses, items=[roll], levels={STORE: [], OTHER_STORE: []})
    token = "shared-token-for-two-stores"
    first = provider("ariapita", token=token)
    second = provider("mucurapo", store_id=OTHER_STORE, token=token)
    assert first.account_key() == second.account_key()
    assert token not in first.account_key()
    catalogs = LoyverseProvider.fetch_catalogs([first, second])
    assert [c.items[0].variants[0].price for c in catalogs] == [9500, 9000]
    assert len(responses.calls) == 5 + 1 + 2  # one pull; inventory per store


@responses.activate
def test_a_429_is_retried_after_the_backoff_and_retry_after():
    serve(responses, items=[item("Edamame", [variant("SIDE-EDAMAME", 25.0)])],
          levels={STORE: []})
    responses.replace(responses.GET, f"{API}/taxes", json=errors(
        "RATE_LIMITED", "Too many requests"), status=429, headers={"Retry-After": "7"})
    responses.add(responses.GET, f"{API}/taxes", json={"taxes": []})
    made = provider()
    sleeps: list[float] = []
    made.client.sleep = sleeps.append
    catalog = made.fetch_catalog()
    assert only(catalog, "Edamame").variants[0].price == 2500
    assert sleeps == [7.0]  # waited as asked, then the second /taxes call succeeded
    assert sum("/taxes" in c.request.url for c in responses.calls) == 2


@responses.activate
def test_a_401_names_the_location_and_the_env_var_of_the_token():
    for path in ("merchant/", "stores", "categories", "modifiers", "taxes", "items", "inventory"):
        responses.get(f"{API}/{path}", status=401, json=errors(
            "UNAUTHORIZED", "Request had a missing, malformed, or invalid authorization data"))
    with pytest.raises(ProviderError) as caught:
        provider().fetch_catalog()
    assert caught.value.message == (
        "Loyverse (location ariapita) rejected the credentials (HTTP 401): UNAUTHORIZED: "
        "Request had a missing, malformed, or invalid authorization data")
    assert caught.value.hint == (
        "check LOYVERSE_ACCESS_TOKEN_ARIAPITA (read by locations[ariapita].pos.loyverse."
        "access_token in data/locations.yaml): it is missing, expired or revoked")


@responses.activate
def test_a_400_shows_the_vendor_code_details_and_field():
    for path in ("merchant/", "stores", "categories", "modifiers", "taxes", "inventory"):
        responses.get(f"{API}/{path}", json={})
    responses.get(f"{API}/items", status=400, json=errors(
        "INVALID_CURSOR", "The pagination cursor is incorrect", "cursor"))
    with pytest.raises(ProviderError, match=r"\(HTTP 400\): INVALID_CURSOR: The pagination "
                                            r"cursor is incorrect \(field cursor\)$"):
        provider().fetch_catalog()


@responses.activate
def test_five_hundreds_that_do_not_stop_make_the_pos_unavailable():
    serve(responses, levels={STORE: []})
    responses.replace(responses.GET, f"{API}/categories", status=500,
                      json=errors("INTERNAL_SERVER_ERROR", "Generic internal server error"))
    with pytest.raises(PosUnavailable, match="HTTP 500: INTERNAL_SERVER_ERROR"):
        provider().fetch_catalog()
    assert sum("/categories" in c.request.url for c in responses.calls) == 5  # 1 + 4 retries


@responses.activate
def test_variable_pricing_is_not_orderable_and_warns(caplog):
    serve(responses, items=[item("Chef's Platter", [variant("SASH-PLATTER", None)])],
          levels={STORE: []})
    with caplog.at_level(logging.WARNING, logger="hugo_pos.providers"):
        catalog = provider().fetch_catalog()
    platter = only(catalog, "Chef's Platter").variants[0]
    assert (platter.price, platter.reason) == (None, "variable_price")
    assert "1 variant(s) have VARIABLE pricing" in caplog.text
    assert "Chef's Platter (SASH-PLATTER)" in caplog.text


@responses.activate
def test_per_store_price_and_availability_come_from_variant_stores():
    roll = item("Lobster Roll", [variant("ROLL-LOBSTER", 120.0, stores=[
        store_entry(STORE, 135.5), store_entry(OTHER_STORE, 120.0, available=False)])])
    default = item("Miso Soup", [variant("SIDE-MISO", 20.0, stores=[])])
    serve(responses, items=[roll, default], levels={STORE: [], OTHER_STORE: []})
    token = "two-store-token"
    here, truck = LoyverseProvider.fetch_catalogs([
        provider(token=token), provider("mucurapo", store_id=OTHER_STORE, token=token)])
    assert only(here, "Lobster Roll").variants[0].price == 13550
    assert only(here, "Lobster Roll").variants[0].reason is None
    assert only(truck, "Lobster Roll").variants[0].reason == "not_for_sale_here"
    assert only(truck, "Miso Soup").variants[0].price == 2000  # no entry: default_price


@responses.activate
def test_tracked_stock_at_or_below_zero_is_sold_out():
    tracked = item("Unagi", [variant("NIGIRI-UNAGI", 30.0), variant("NIGIRI-UNAGI-2", 55.0)],
                   track_stock=True)
    untracked = item("Water", [variant("DRINK-WATER", 10.0)])
    serve(responses, items=[tracked, untracked], levels={STORE: [
        level(tracked["variants"][0]["variant_id"], 0),
        level(tracked["variants"][1]["variant_id"], 2.5),
        level(untracked["variants"][0]["variant_id"], -3)]})
    catalog = provider().fetch_catalog()
    assert [v.reason for v in only(catalog, "Unagi").variants] == ["sold_out", None]
    assert only(catalog, "Water").variants[0].reason is None  # 0 means nothing when untracked


@responses.activate
def test_soft_deleted_items_variants_and_options_are_ignored():
    gone = item("Old Roll", [variant("ROLL-OLD", 40.0)], deleted=True)
    kept = item("Salmon Nigiri", [variant("NIGIRI-SALMON", 25.0), variant("NIGIRI-SALMON-X", 1.0)])
    kept["variants"][1]["deleted_at"] = "2024-03-24T10:00:00.000Z"
    sauces = modifier("Sauce", [("Eel sauce", 2.0), ("Ponzu", 2.0)])
    sauces["modifier_options"][1]["deleted_at"] = "2024-03-24T10:00:00.000Z"
    kept["modifier_ids"] = [sauces["id"]]
    serve(responses, items=[gone, kept], modifiers=[sauces], levels={STORE: []})
    catalog = provider().fetch_catalog()
    assert [i.name for i in catalog.items] == ["Salmon Nigiri"]
    assert [v.sku for v in catalog.items[0].variants] == ["NIGIRI-SALMON"]
    assert [o.name for o in catalog.items[0].modifiers[0].options] == ["Eel sauce"]


@responses.activate
def test_jpy_has_no_decimals():
    serve(responses, items=[item("Ramen", [variant("RAMEN", 1200)])], levels={STORE: []},
          profile=merchant("JPY", 0))
    catalog = provider(currency="JPY").fetch_catalog()
    assert (catalog.currency, only(catalog, "Ramen").variants[0].price) == ("JPY", 1200)


@responses.activate
def test_ttd_prices_include_added_taxes_of_the_store_only():
    vat = tax("12.5")                                  # ADDED at STORE
    included = tax("10", kind="INCLUDED")              # already inside the price
    elsewhere = tax("5", stores=(OTHER_STORE,))        # not at STORE
    fries = modifier("Extras", [("Spicy mayo", 4.0), ("Free", 0)])
    dragon = item("Dragon Roll", [variant("ROLL-DRAGON", 95.55)],
                  tax_ids=(vat["id"], included["id"], elsewhere["id"]),
                  modifier_ids=(fries["id"],), category_id="c1")
    serve(responses, items=[dragon], taxes=[vat, included, elsewhere], modifiers=[fries],
          categories=[category("Rolls", "c1")], levels={STORE: []})
    catalog = provider().fetch_catalog()
    roll = only(catalog, "Dragon Roll")
    assert roll.category == "Rolls"
    assert roll.variants[0].price == 9555 + 1194  # 12.5 % of 95.55 = 11.94375 -> 11.94
    assert roll.variants[0].pos == {"item_id": dragon["id"],
                                    "variant_id": dragon["variants"][0]["variant_id"],
                                    "tax_ids": [vat["id"], included["id"]],
                                    "added_tax_rates": ["12.5"]}
    assert [(o.name, o.price) for o in roll.modifiers[0].options] == [("Spicy mayo", 450),
                                                                      ("Free", 0)]
    assert roll.modifiers[0].pos == {"modifier_id": fries["id"]}


@responses.activate
def test_the_spec_spelling_modifiers_ids_is_accepted():
    extras = modifier("Extras", [("Avocado", 5.0)])
    roll = item("California", [variant("ROLL-CALI", 60.0)], modifier_ids=(extras["id"],),
                modifier_key="modifiers_ids")
    serve(responses, items=[roll], modifiers=[extras], levels={STORE: []})
    assert only(provider().fetch_catalog(), "California").modifiers[0].name == "Extras"


@responses.activate
def test_an_amount_with_too_many_decimals_is_an_error_not_a_rounding():
    serve(responses, items=[item("Odd", [variant("ODD", 10.555)])], levels={STORE: []})
    with pytest.raises(ProviderError, match="10.555 has more than 2 decimals"):
        provider().fetch_catalog()


@responses.activate
def test_a_store_id_of_another_account_lists_the_stores():
    serve(responses, levels={"nope": []})
    with pytest.raises(ProviderError) as caught:
        provider(store_id="nope").fetch_catalog()
    assert caught.value.message == ("Loyverse (location ariapita): store_id 'nope' is not a "
                                    "store of this Loyverse account")
    assert caught.value.hint.startswith("set LOYVERSE_STORE_ID_ARIAPITA (read by")
    assert f"Ariapita Avenue ({STORE}), Truck ({OTHER_STORE})" in caught.value.hint


@responses.activate
def test_a_currency_other_than_the_site_is_refused():
    serve(responses, levels={STORE: []}, profile=merchant("USD", 2))
    with pytest.raises(ProviderError, match="currency is USD .* says currency: TTD"):
        provider().fetch_catalog()


@responses.activate
def test_item_pages_are_projected_while_the_next_page_downloads(monkeypatch):
    """The projection of page N must not wait for the pull to end: page N+1 is only answered
    once page N has been projected, so a projection after the pull would never get there."""
    projected: list[int] = []
    add = Projection.add
    monkeypatch.setattr(Projection, "add", lambda self, rows: (add(self, rows),
                                                              projected.append(len(rows))))
    fresh = item("Unagi", [variant("NIGIRI-UNAGI", 30.0)], track_stock=True)
    empty = item("Uni", [variant("NIGIRI-UNI", 40.0)], track_stock=True)
    pages = [[fresh, item("Ebi", [variant("NIGIRI-EBI", 20.0)])], [item("Tai", [variant(
        "NIGIRI-TAI", 22.0)])], [empty]]
    waited = []

    def respond(number, body):
        def callback(request):
            deadline = time.monotonic() + 5
            while len(projected) < number and time.monotonic() < deadline:
                time.sleep(0.005)
            waited.append(len(projected))
            return 200, {}, json.dumps(body)
        return callback

    stock = [level(fresh["variants"][0]["variant_id"], 3),
             level(empty["variants"][0]["variant_id"], 0)]
    serve(responses, item_pages=pages, respond=respond, levels={STORE: stock})
    catalog = provider().fetch_catalog()
    assert waited == [0, 1, 2]  # pages 1 and 2 were projected before the next answer
    assert projected == [2, 1, 1]
    # stock arrives with the last page: it is applied to every page's tracked items
    assert only(catalog, "Unagi").variants[0].reason is None
    assert only(catalog, "Uni").variants[0].reason == "sold_out"
    assert [i.name for i in catalog.items] == ["Unagi", "Ebi", "Tai", "Uni"]


def page_number(request) -> int:
    """The item page a request asks for: 0, or N for ``cursor=cursor-N`` (see serve)."""
    return int(request.params.get("cursor", "cursor-0").rsplit("-", 1)[1])


@responses.activate
def test_the_next_item_page_is_requested_before_this_one_is_parsed(monkeypatch):
    """Pages end with their cursor (notes §2): the next request must not wait for the parse,
    so parsing page N is held until page N+1 has been asked for (5 s at most)."""
    requested: list[int] = []
    on_time: list[bool] = []
    json_of = HttpClient.json_of

    def slow_parse(self, response, parse_float=None):
        if "/items" in response.request.url:
            number = page_number(response.request)
            deadline = time.monotonic() + 5
            while number < 2 and number + 1 not in requested and time.monotonic() < deadline:
                time.sleep(0.005)
            on_time.append(number == 2 or number + 1 in requested)
        return json_of(self, response, parse_float)

    def respond(number, body):
        return lambda request: (requested.append(number), (200, {}, json.dumps(body)))[1]

    monkeypatch.setattr(HttpClient, "json_of", slow_parse)
    rolls = [item(f"Roll {n}", [variant(f"R-{n:04d}", 50.0)]) for n in range(3)]
    serve(responses, item_pages=[[r] for r in rolls], respond=respond, levels={STORE: []})
    catalog = provider().fetch_catalog()
    assert on_time == [True, True, True]
    assert [i.name for i in catalog.items] == ["Roll 0", "Roll 1", "Roll 2"]


@responses.activate
def test_a_cursor_that_is_not_the_last_member_is_still_followed():
    """Another member order (cursor first) is valid JSON: the page is parsed to find it."""
    def respond(number, body):
        first = {"cursor": body["cursor"]} if "cursor" in body else {}
        return lambda request: (200, {}, json.dumps({**first, "items": body["items"]}))

    rolls = [item(f"Roll {n}", [variant(f"R-{n:04d}", 50.0)]) for n in range(3)]
    serve(responses, item_pages=[[r] for r in rolls], respond=respond, levels={STORE: []})
    catalog = provider().fetch_catalog()
    assert [i.name for i in catalog.items] == ["Roll 0", "Roll 1", "Roll 2"]
    assert len([c for c in responses.calls if "/items" in c.request.url]) == 3


@pytest.mark.parametrize(("tail", "cursor"), [
    (b'{"items": [], "cursor": "bzoyNTA="}', "bzoyNTA="),
    (b'{"items":[],\n "cursor" : "Q-9_" }\n', "Q-9_"),
    (b'{"items": [{"modifiers": {"cursor": "inner"}}]}', None),  # not a top-level member
    (b'{"cursor": "first", "items": []}', None),  # not the last member: parse to know
    (b'{"items": ["a\\", "cursor": "fake"]}', None),  # inside a string
    (b'[{"cursor": "x"}]', None),  # a bare array (GET /webhooks/)
])
def test_last_cursor_reads_only_the_last_top_level_member(tail, cursor):
    assert last_cursor(tail) == cursor
