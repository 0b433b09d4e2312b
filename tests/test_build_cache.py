"""A POS that is down at build time: the last good catalog is used (with a warning), --strict
refuses it, --offline builds from the cache alone (DESIGN §4)."""

from __future__ import annotations

import json

import pytest
from fakes.loyverse import FakeLoyverse, serve

LOCATIONS = """\
currency: TTD
locations:
  - id: town
    name: Town
    whatsapp: "+1 868 555 0101"
    pos:
      loyverse:
        store_id: "{{{{ env `LV_STORE` }}}}"
        access_token: "{{{{ env `LV_TOKEN` }}}}"
        api_url: {api_url}
"""


@pytest.fixture
def pos_site(mini_site, monkeypatch):
    """The mini site with its one location on a fake Loyverse; yields (site, fake, api_url)."""
    monkeypatch.setattr("hugo_pos.http.random.uniform", lambda low, high: 0.0)  # no backoff
    fake = FakeLoyverse(token="lv-token")
    monkeypatch.setenv("LV_STORE", fake.add_store("Town"))
    monkeypatch.setenv("LV_TOKEN", "lv-token")
    fake.add_item("California Roll", sku="ROLL-CALI", price="49.00")
    with serve(fake) as api_url:
        (mini_site / "data/locations.yaml").write_text(LOCATIONS.format(api_url=api_url))
        yield mini_site, fake


def price_of_cali(site) -> int:
    menu = json.loads((site / "static/hugo-pos/menu.json").read_text())
    return menu["locations"]["town"]["items"]["ROLL-CALI"]["variants"][0]["price"]


def test_a_pos_down_at_build_time_falls_back_to_the_cache(pos_site, run_cli):
    site, fake = pos_site
    assert run_cli("build", "--site", str(site)).exit_code == 0
    assert price_of_cali(site) == 4900
    (site / "static/hugo-pos/menu.json").unlink()

    fake.fail_next(1000, 500)
    result = run_cli("build", "--site", str(site))
    assert result.exit_code == 0, result.stderr
    assert "town/loyverse: Loyverse" in result.stderr
    assert "using the catalog cached by the last build" in result.stderr
    assert price_of_cali(site) == 4900

    strict = run_cli("build", "--site", str(site), "--strict")
    assert strict.exit_code == 1
    assert "Hint: --strict refuses a cached catalog; build again when the POS is back" \
        in strict.stderr


def test_offline_uses_only_the_cache(pos_site, run_cli):
    site, fake = pos_site
    offline = run_cli("build", "--site", str(site), "--offline")
    assert offline.exit_code == 1
    assert "Error: --offline: no cached catalog for town/loyverse" in offline.stderr
    assert run_cli("build", "--site", str(site)).exit_code == 0
    before = fake.request_count
    again = run_cli("build", "--site", str(site), "--offline")
    assert again.exit_code == 0, again.stderr
    assert fake.request_count == before and price_of_cali(site) == 4900


def test_offline_needs_no_cache_for_the_local_provider(mini_site, run_cli):
    # Its catalog is the site's own front matter: there is no POS to have reached first.
    result = run_cli("build", "--site", str(mini_site), "--offline")
    assert result.exit_code == 0, result.stderr
    assert (mini_site / "data/hugo_pos/menu.json").is_file()


def test_a_corrupt_cache_counts_as_no_cache(pos_site, run_cli):
    site, fake = pos_site
    assert run_cli("build", "--site", str(site)).exit_code == 0
    (site / ".hugo_pos/cache/town--loyverse.json").write_text("{not json")
    fake.fail_next(1000, 500)
    result = run_cli("build", "--site", str(site))
    assert result.exit_code == 1
    assert "Hint: no cached catalog yet: build once while the POS is reachable" in result.stderr


def test_a_cached_catalog_reads_back_equal_including_a_replaced_item():
    from dataclasses import replace

    from hugo_pos.catalog import (
        Catalog,
        CatalogItem,
        CatalogModifier,
        CatalogOption,
        CatalogVariant,
    )

    sauce = CatalogModifier("Sauce", (CatalogOption("Eel «sauce»", 200, {"id": "o1"}, False),),
                            {"modifier_id": "m1"})
    roll = CatalogItem("Dragon Roll", (CatalogVariant("ROLL-DRAGON", "Dragon Roll", 9500,
                                                      {"variant_id": "v1"}),),
                       category=None, description='Eel, "avocado"', modifiers=(sauce,),
                       pos={"item_id": "i1"})
    sold_out = replace(roll, variants=(replace(roll.variants[0], reason="sold_out", price=None),))
    catalog = Catalog("loyverse", "TTD", (roll, sold_out))
    assert Catalog.from_json(json.loads(catalog.json_text())) == catalog
    # a provider's ids keyed by number are kept, as strings, as json.dumps kept them
    odd = Catalog("odoo", "TTD", (replace(roll, pos={7: "seven"}),))
    assert json.loads(odd.json_text())["items"][0]["pos"] == {"7": "seven"}
