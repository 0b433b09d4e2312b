"""End to end: the OMG Sushi example with Diamond Vale on a fake Odoo 18.

`python -m hugo_pos build` (a subprocess, env vars as in env.example) pulls the catalog from the
fake over loopback, the real `hugo` renders the site, then an order priced from the built
menu.json (as the relay prices it) goes into the fake POS and is read back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.odoo import serve
from menu_html import read_menu_html
from odoo_seed import add_modifiers, enable_odoo, odoo_env, seed

from hugo_pos.build import make_providers
from hugo_pos.config import load_config
from hugo_pos.money import format_money
from hugo_pos.providers.base import PosLine, PosLineModifier, PosOrder
from hugo_pos.site import read_site

LOCATION = "diamond-vale"
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6"
           "kgAAAABJRU5ErkJggg==")


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def test_example_builds_from_odoo_and_takes_an_order(example_site: Path):
    items = read_site(load_config(example_site))
    here = [(v.sku, item.title, v.price) for item in items if item.sold_at(LOCATION)
            for v in item.variants if v.sku and v.price is not None]
    # Odoo's prices: the list price includes 12.5% VAT, except the first drink (10% service
    # added on top) and one roll that Odoo sells dearer than the front matter says. The two
    # Dragon Roll sizes are two variants (attribute values) of one template.
    drink = "DRINK-SORREL"
    dearer = "ROLL-SPICY-TUNA"
    prices = {sku: price for sku, _, price in here}
    products = [(sku, title, (price + (450 if sku == dearer else 0)) / 100,
                 "excl" if sku == drink else "incl")
                for sku, title, price in here if not sku.startswith("ROLL-DRAGON-")]
    seeded = seed(18, products)
    fake = seeded.fake
    dragon_tmpl = fake.add("product.template", name="Dragon Roll", list_price=55.0,
                           available_in_pos=True, sale_ok=True, taxes_id=[seeded.vat],
                           company_id=1, pos_categ_ids=[seeded.food], _variant=False)
    pieces = fake.add("product.attribute", name="Pieces", create_variant="always",
                      display_type="radio")
    for size, sku, extra in (("4 pc", "ROLL-DRAGON-4", 0.0), ("8 pc", "ROLL-DRAGON-8", 40.0)):
        value = fake.add("product.template.attribute.value", name=size, price_extra=extra,
                         product_tmpl_id=dragon_tmpl, attribute_id=pieces)
        fake.add("product.product", product_tmpl_id=dragon_tmpl, default_code=sku,
                 price_extra=extra, product_template_attribute_value_ids=[value])
    # Odoo has photos; the site shows one only where its own front matter has no image
    for tmpl in fake.records["product.template"].values():
        tmpl["image_512"] = PNG_B64
    ebi = next(t["id"] for t in fake.records["product.template"].values()
               if t.get("default_code") == "NIGIRI-EBI")
    # the Tofu Poke's choices are attributes that create no variant (Odoo's modifiers)
    base = add_modifiers(fake, "POKE-TOFU", "Base", [("Sushi rice", 0.0), ("Brown rice", 5.0),
                                                     ("Greens", 0.0)])
    add_modifiers(fake, "POKE-TOFU", "Extras", [("Avocado", 8.0), ("Spicy mayo", 4.0),
                                                ("Pickled mango", 6.0)])
    enable_odoo(example_site)
    with serve(seeded.fake) as url:
        env = {**os.environ, **odoo_env(url, seeded)}
        log = run([sys.executable, "-m", "hugo_pos", "build", "--site", str(example_site)], env)
        hugo = shutil.which("hugo", path=str(Path(sys.executable).parent)) or "hugo"
        run([hugo, "--source", str(example_site), "--destination",
             str(example_site / "public"), "--quiet"], env)
        menu = json.loads((example_site / "static" / "hugo-pos" / "menu.json").read_text())
        variants = {v["id"]: v for item in menu["locations"][LOCATION]["items"].values()
                    for v in item["variants"]}
        dragon = variants[dearer]
        assert dragon["price"] == prices[dearer] + 450 and dragon["available"]
        assert "Spicy Tuna Roll costs TTD 70.00 in odoo but TTD 65.50 in the front matter" in log
        assert "odoo-key-123" not in log
        assert variants[drink]["price"] == prices[drink] * 11 // 10
        for sku, price in prices.items():
            if sku not in (dearer, drink):
                assert variants[sku]["price"] == price and variants[sku]["available"], sku
        items = menu["locations"][LOCATION]["items"]
        assert items["NIGIRI-EBI"]["image"] == f"/hugo-pos/img/odoo-{ebi}.png"
        assert (example_site / "public" / "hugo-pos" / "img" / f"odoo-{ebi}.png").is_file()
        assert items["NIGIRI-SALMON"]["image"] == "/images/nigiri.svg"   # the site's own
        tofu = items["POKE-TOFU"]
        options = {o["name"]: o for g in tofu["modifier_groups"] for o in g["options"]}
        assert {name: (o["price"], o["available"]) for name, o in options.items()} == {
            "Sushi rice": (0, True), "Brown rice": (500, True), "Greens": (0, True),
            "Avocado": (800, True), "Spicy mayo": (400, True), "Pickled mango": (600, True)}
        assert "tofu.md: modifier" not in log
        page = read_menu_html((example_site / "public" / "locations" / LOCATION /
                               "index.html").read_text(encoding="utf-8"))
        shown = next(item.variants[dearer] for item in page.items.values()
                     if dearer in item.variants)
        assert shown.get("price") == format_money(dragon["price"], "TTD")
        assert "odoo-key-123" not in (example_site / "static/hugo-pos/config.js").read_text()

        # an order priced from menu.json, as the relay does, submitted through the provider
        lines = (PosLine(variant_id=dearer, name="Spicy Tuna Roll", quantity=2,
                         unit_price=dragon["price"], pos=dragon["pos"]["odoo"]),
                 PosLine(variant_id=drink, name="Drink", quantity=1,
                         unit_price=variants[drink]["price"], pos=variants[drink]["pos"]["odoo"]),
                 PosLine(variant_id="POKE-TOFU", name="Tofu Poke Bowl", quantity=1,
                         unit_price=variants["POKE-TOFU"]["price"],
                         pos=variants["POKE-TOFU"]["pos"]["odoo"],
                         modifiers=(PosLineModifier(name="Brown rice", price=500,
                                                    pos=options["Brown rice"]["pos"]["odoo"]),)))
        order = PosOrder(order_id="OMG-E2E1", uuid="0d6b3c1e-8a6f-4a8e-9d61-3b1f7c2e9a10",
                         location=LOCATION, currency="TTD", lines=lines,
                         total=sum(line.total for line in lines), customer_name="Ann Ali",
                         customer_phone="+1 868 555 0199", fulfilment="pickup",
                         created_at="2026-11-25T18:30:00Z")
        config = load_config(example_site, env={k: v for k, v in env.items()
                                                if k.startswith("ODOO_")})
        provider = make_providers(config)[(LOCATION, "odoo")]
        ref = provider.submit_order(order)
        assert provider.find_order("OMG-E2E1") == ref
    [stored] = seeded.fake.records["pos.order"].values()
    assert ref.total == order.total and stored["amount_total"] * 100 == order.total
    assert stored["pos_reference"].startswith("Web OMG-E2E1 ") and stored["uuid"] == order.uuid
    poke = next(line for line in seeded.fake.lines_of(stored["id"])
                if line["full_product_name"] == "Tofu Poke Bowl (Brown rice)")
    assert poke["attribute_value_ids"] == [base["Brown rice"]] and poke["price_unit"] == 67.5
    assert sorted((line["qty"], line["product_id"])
                  for line in seeded.fake.lines_of(stored["id"])) == sorted(
        (line.quantity, line.pos["product_id"]) for line in lines)


def test_sync_pushes_the_example_menu_into_an_empty_odoo(example_site: Path, run_cli):
    seeded = seed(17, products=[])
    enable_odoo(example_site)
    with serve(seeded.fake) as url:
        env = odoo_env(url, seeded)
        plan = run_cli("sync", "--site", str(example_site), "--provider", "odoo", env=env)
        assert seeded.fake.records["product.template"] == {}
        applied = run_cli("sync", "--site", str(example_site), "--provider", "odoo", "--apply",
                          env=env)
        again = run_cli("sync", "--site", str(example_site), "--provider", "odoo", env=env)
        built = run_cli("build", "--site", str(example_site), "--quiet", env=env)
    assert plan.exit_code == 0, plan.output
    assert "odoo · diamond-vale (plan only, run with --apply to carry it out)" in plan.output
    assert "create    ROLL-DRAGON-8  Dragon Roll (8 pc)" in plan.output
    assert "create    pos.category:Poke Bowls  Poke Bowls" in plan.output
    assert applied.exit_code == 0 and "odoo · diamond-vale (applied)" in applied.output
    skus = {t["default_code"] for t in seeded.fake.records["product.template"].values()}
    assert {"ROLL-DRAGON-4", "ROLL-DRAGON-8", "POKE-TOFU", "DRINK-SORREL"} <= skus
    assert "BAR-SAKE" not in skus                       # not sold at Diamond Vale
    assert "0 to create, 0 to update" in again.output
    assert built.exit_code == 0
    menu = json.loads((example_site / "data" / "hugo_pos" / "menu.json").read_text())
    items = menu["locations"][LOCATION]["items"]
    assert items["ROLL-SPICY-TUNA"]["variants"][0]["price"] == 6550
    assert items["ROLL-SPICY-TUNA"]["variants"][0]["available"] is True
