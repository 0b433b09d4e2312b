"""End to end: the OMG Sushi example with Ariapita on a fake Loyverse account.

`python -m hugo_pos build` (a real subprocess, secrets only in its environment) pulls the fake
over loopback, then the real `hugo` renders the site: Ariapita's page must show the POS's prices
and availability, not the front matter's; the other locations stay on the local provider.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from fakes.loyverse import FakeLoyverse, serve
from loyverse_payloads import enable_loyverse
from menu_html import read_menu_html
from site_support import EXAMPLE, copy_site, hugo_bin

from hugo_pos.config import load_config
from hugo_pos.site import read_site

TOKEN = "e2e-loyverse-token-0123456789"


def stock_the_fake(site: Path) -> tuple[FakeLoyverse, dict[str, int]]:
    """An account selling every Ariapita SKU of the example at front-matter price + 1.00,
    except three: one VARIABLE, one not for sale at the store, one tracked and sold out."""
    fake = FakeLoyverse(token=TOKEN, currency="TTD")
    fake.store = fake.add_store("Ariapita Avenue")
    fake.payment = fake.add_payment_type("Online")
    config = load_config(site, env={})
    prices: dict[str, int] = {}
    for item in read_site(config):
        if not item.sold_at("ariapita"):
            continue
        for variant in item.variants:
            sku = item.variant_id(variant)
            price = (variant.price or 0) + 100
            prices[sku] = price
            fake.add_item(item.title, sku=sku, price=str(Decimal(price).scaleb(-2)))
    skus = sorted(prices)
    variable, hidden, sold_out = skus[0], skus[1], skus[2]
    for one in fake.items.values():
        v = one["variants"][0]
        if v["sku"] == variable:
            v.update(default_pricing_type="VARIABLE", default_price=None)
            v["stores"][0].update(pricing_type="VARIABLE", price=None)
        elif v["sku"] == hidden:
            v["stores"][0]["available_for_sale"] = False
        elif v["sku"] == sold_out:
            one["track_stock"] = True
            fake.set_stock(v["variant_id"], fake.store, 0)
    fake.special = {"variable": variable, "hidden": hidden, "sold_out": sold_out}
    return fake, prices


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.skipif(not hugo_bin(), reason="the hugo binary is not installed")
def test_the_built_site_shows_the_fake_loyverse_prices(tmp_path: Path):
    site = copy_site(EXAMPLE, tmp_path / "omgsushi")
    fake, prices = stock_the_fake(site)
    enable_loyverse(site)
    with serve(fake) as api_url:
        env = {**os.environ, "LOYVERSE_ACCESS_TOKEN_ARIAPITA": TOKEN,
               "LOYVERSE_STORE_ID_ARIAPITA": fake.store,
               "LOYVERSE_PAYMENT_TYPE_ARIAPITA": fake.payment,
               "LOYVERSE_API_URL_ARIAPITA": api_url}
        log = run([sys.executable, "-m", "hugo_pos", "build", "--site", str(site)], env)
    assert fake.count("GET", "items") == 1 and fake.count("GET", "inventory") == 1
    run([hugo_bin(), "--source", str(site), "--destination", str(site / "public")], env)

    assert TOKEN not in log
    assert "VARIABLE pricing" in log
    page = read_menu_html((site / "public/locations/ariapita/index.html").read_text("utf-8"))
    shown = {vid: variant for item in page.items.values()
             for vid, variant in item.variants.items()}
    assert set(shown) == set(prices)
    for sku, price in prices.items():
        if sku == fake.special["variable"]:
            assert "data-price" not in shown[sku].attrs
            assert shown[sku].attrs["data-available"] == "false"
            continue
        assert shown[sku].attrs["data-price"] == str(price), sku
        expected = "false" if sku in fake.special.values() else "true"
        assert shown[sku].attrs["data-available"] == expected, sku
    # the food trucks still run on the front matter (local provider)
    truck = read_menu_html((site / "public/locations/mucurapo/index.html").read_text("utf-8"))
    dragon = truck.items["ROLL-DRAGON"].variants
    assert [v.attrs["data-price"] for v in dragon.values()] == [
        str(prices[sku] - 100) for sku in dragon]
