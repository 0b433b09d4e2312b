"""The OMG Sushi example end to end: `hugo_pos build`, then the real Hugo renders the menus.

Every location page is read back through the partials' markup hooks and compared with the
build's menu.json and with Python's format_money, so a template that drops an item, formats a
price differently from the relay, or shows a bar drink at a food truck fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from menu_html import read_menu_html

from hugo_pos.money import format_money

LOCATIONS = {"ariapita": "18685550101", "mucurapo": "18685550102", "diamond-vale": "18685550103"}
WHATSAPP_TEXT = "Hi OMG Sushi, I'd like to order: "


def _menu(site: Path) -> dict:
    return json.loads((site / "data" / "hugo_pos" / "menu.json").read_text(encoding="utf-8"))


def _page(site: Path, *parts: str):
    return read_menu_html((site / "public").joinpath(*parts, "index.html").read_text("utf-8"))


@pytest.mark.parametrize("location", LOCATIONS)
def test_location_page_renders_every_item_of_its_menu(built_example: Path, location: str):
    menu = _menu(built_example)
    expected = menu["locations"][location]["items"]
    page = _page(built_example, "locations", location)

    assert list(page.items) == [key for cat in menu["locations"][location]["categories"]
                                for key in cat["items"]]
    for key, item in expected.items():
        rendered = page.items[key]
        assert rendered.get("name") == item["name"]
        assert list(rendered.variants) == [v["id"] for v in item["variants"]]
        for variant in item["variants"]:
            shown = rendered.variants[variant["id"]]
            assert shown.attrs["data-available"] == str(variant["available"]).lower()
            if variant["price"] is None:
                assert "data-price" not in shown.attrs and shown.get("price") == ""
            else:
                assert shown.attrs["data-price"] == str(variant["price"])
                assert shown.get("price") == format_money(variant["price"], menu["currency"])
        options = [o for g in item["modifier_groups"] for o in g["options"]]
        assert list(rendered.options) == [o["id"] for o in options]
        for option in options:
            shown = rendered.options[option["id"]]
            assert shown.get("name") == option["name"]
            assert shown.get("price") == (f"+ {format_money(option['price'], 'TTD')}"
                                          if option["price"] else "")


def test_prices_are_formatted_like_the_relay(built_example: Path):
    page = _page(built_example, "locations", "ariapita")

    dragon = page.items["ROLL-DRAGON"]
    assert dragon.get("name") == "Dragon Roll"
    assert [(v.get("name"), v.get("price")) for v in dragon.variants.values()] == [
        ("4 pc", "TTD 55.00"), ("8 pc", "TTD 95.00")]
    assert page.items["NIGIRI-SALMON"].variants["NIGIRI-SALMON"].get("price") == "TTD 28.00"
    assert page.items["ROLL-SPICY-TUNA"].variants["ROLL-SPICY-TUNA"].get("price") == "TTD 65.50"
    assert page.items["BAR-SAKE"].variants["BAR-SAKE-CARAFE"].get("price") == "TTD 110.00"
    poke = page.items["POKE-SALMON"]
    assert [(o.get("name"), o.get("price")) for o in poke.options.values()] == [
        ("Sushi rice", ""), ("Brown rice", "+ TTD 5.00"), ("Greens", ""),
        ("Avocado", "+ TTD 8.00"), ("Spicy mayo", "+ TTD 4.00"), ("Tobiko", "+ TTD 10.00")]
    assert "(choose 1)" in page.text and "(optional, up to 3)" in page.text


def test_bar_drinks_are_only_on_the_ariapita_menu(built_example: Path):
    bar = {key for key in _page(built_example, "locations", "ariapita").items
           if key.startswith("BAR-")}
    assert bar == {"BAR-SAKE", "BAR-SAPPORO", "BAR-CARIB", "BAR-LYCHEE-MARTINI"}
    for truck in ("mucurapo", "diamond-vale"):
        page = _page(built_example, "locations", truck)
        assert not [key for key in page.items if key.startswith("BAR-")]
        assert "House Sake" not in page.text and "Lychee Martini" not in page.text


def test_items_limited_to_some_locations_follow_their_list(built_example: Path):
    keys = {loc: set(_page(built_example, "locations", loc).items) for loc in LOCATIONS}
    assert "ROLL-CARIBBEAN" in keys["ariapita"] & keys["diamond-vale"]
    assert "ROLL-CARIBBEAN" not in keys["mucurapo"]
    assert "NIGIRI-UNAGI" not in keys["diamond-vale"]
    assert "SASHIMI-PLATTER" not in keys["mucurapo"] | keys["diamond-vale"]
    # no `locations` in front matter: sold everywhere
    assert all("ROLL-DRAGON" in k and "menu/drinks/water" in k for k in keys.values())


def test_draft_item_appears_nowhere(built_example: Path):
    public = built_example / "public"
    assert not (public / "menu" / "rolls" / "lobster").exists()
    for path in public.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".js", ".xml"):
            text = path.read_text(encoding="utf-8")
            assert "Lobster" not in text and "ROLL-LOBSTER" not in text, path


def test_an_item_that_cannot_be_ordered_online_says_why(built_example: Path):
    platter = _page(built_example, "locations", "ariapita").items["SASHIMI-PLATTER"]
    variant = platter.variants["SASHIMI-PLATTER"]
    assert variant.attrs["data-available"] == "false"
    assert variant.attrs["data-reason"] == "variable_price"
    assert variant.get("unavailable") == "Price on request: order by WhatsApp"
    assert "is-unavailable" in variant.attrs["class"].split()


def test_every_unavailable_variant_shows_a_reason(built_example: Path):
    texts = {"sold_out": "Sold out", "not_for_sale_here": "Not available here",
             "variable_price": "Price on request: order by WhatsApp"}
    menu = _menu(built_example)
    checked = 0
    for location, loc in menu["locations"].items():
        page = _page(built_example, "locations", location)
        for key, item in loc["items"].items():
            for variant in item["variants"]:
                shown = page.items[key].variants[variant["id"]]
                if variant["available"]:
                    assert shown.get("unavailable") == ""
                else:
                    checked += 1
                    assert shown.get("unavailable") == texts.get(variant["reason"],
                                                                  "Not available online")
    assert checked >= 1


@pytest.mark.parametrize(("location", "digits"), LOCATIONS.items())
def test_whatsapp_order_link_is_well_formed(built_example: Path, location: str, digits: str):
    page = _page(built_example, "locations", location)
    links = [href for href in page.links if "wa.me" in href]
    assert len(links) == 1
    url = urlsplit(links[0])
    assert (url.scheme, url.netloc, url.path) == ("https", "wa.me", f"/{digits}")
    assert "+" not in url.query and " " not in url.query
    assert parse_qs(url.query, keep_blank_values=True) == {"text": [WHATSAPP_TEXT]}


def test_item_page_shows_price_or_absence_per_location(built_example: Path):
    html = (built_example / "public" / "menu" / "bar" / "sake" / "index.html").read_text("utf-8")
    rows = {}
    for chunk in html.split('<tr data-location="')[1:]:
        location, _, rest = chunk.partition('"')
        rows[location] = " ".join(read_menu_html(rest.split("</tr>")[0]).text.split())
    assert list(rows) == list(LOCATIONS)
    assert "Glass TTD 40.00" in rows["ariapita"] and "Carafe TTD 110.00" in rows["ariapita"]
    assert rows["mucurapo"].endswith("Not available here")
    assert rows["diamond-vale"].endswith("Not available here")
    assert 'href="/locations/ariapita/"' in html


def test_item_without_sku_is_found_by_its_page_path(built_example: Path):
    html = (built_example / "public/menu/drinks/water/index.html").read_text("utf-8")
    assert 'data-hugo-pos-availability="menu/drinks/water"' in html
    assert html.count("TTD 8.00") == 3


def test_home_links_every_location(built_example: Path):
    page = _page(built_example)
    for location in LOCATIONS:
        assert f"/locations/{location}/" in page.links
    assert "Ariapita Avenue, Port of Spain" in page.text
    assert "Diamond Vale, Diego Martin" in page.text


def test_hugo_builds_the_example_without_warnings(built_example: Path):
    log = (built_example / "hugo.log").read_text(encoding="utf-8")
    assert "WARN" not in log and "ERROR" not in log, log


def test_location_page_lists_opening_hours(built_example: Path):
    html = (built_example / "public/locations/mucurapo/index.html").read_text("utf-8")
    days = {}
    for chunk in html.split("<dt>")[1:]:
        day, _, rest = chunk.partition("</dt>")
        days[day] = " ".join(read_menu_html(rest.split("</dd>")[0]).text.split())
    assert days == {"Monday": "Closed", "Tuesday": "Closed", "Wednesday": "17:00–22:00",
                    "Thursday": "17:00–22:00", "Friday": "18:00–02:00",
                    "Saturday": "18:00–02:00", "Sunday": "Closed"}


def test_menu_items_link_to_their_own_pages(built_example: Path):
    page = _page(built_example, "locations", "mucurapo")
    for href in ("/menu/rolls/dragon-roll/", "/menu/drinks/water/", "/menu/nigiri/flying-fish/",
                 "/menu/rolls/tempura-shrimp/"):
        assert href in page.links
        assert (built_example / "public" / href.strip("/") / "index.html").is_file()
