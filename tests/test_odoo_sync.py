"""Menu push into Odoo (product.template) and product images, on the fake server."""

from __future__ import annotations

import base64

import pytest
from fakes.odoo import serve
from odoo_seed import move_to_a_branch, provider_for, seed

from hugo_pos.catalog import SiteItem, SiteVariant

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
                       "hwGA60e6kgAAAABJRU5ErkJggg==")


def site_item(sku, title, price, category="Rolls", description="", image="",
              locations=None) -> SiteItem:
    return SiteItem(key=sku, title=title, category=category, sku=sku,
                    variants=(SiteVariant(name=title, sku=sku, price=price),),
                    source=f"content/menu/{sku.lower()}.md", description=description,
                    image=image, locations=locations)


ITEMS = (
    site_item("ROLL-DRAGON", "Dragon Roll", 6800, description="Eel, avocado, tare."),
    site_item("POKE-TOFU", "Tofu Poke", 5500, category="Poke"),
    site_item("BAR-SAKE", "Sake", 4500, category="Bar", locations=("ariapita",)),
)


@pytest.mark.parametrize("version", [16, 17])
def test_plan_apply_then_nothing_left(version):
    seeded = seed(version)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        plan = provider.push_items(ITEMS, apply=False)
        assert not plan.applied and seeded.fake.calls.count(("product.template", "create")) == 0
        changes = {c.key: c for c in plan.changes}
        assert set(changes) == {"pos.category:Poke", "ROLL-DRAGON", "POKE-TOFU"}  # not Sake
        assert changes["ROLL-DRAGON"].action == "update"
        assert changes["ROLL-DRAGON"].diffs["list_price"] == ("TTD 65.50", "TTD 68.00")
        assert changes["POKE-TOFU"].action == "create"
        applied = provider.push_items(ITEMS, apply=True)
        again = provider.push_items(ITEMS, apply=False)
        catalog = {v.sku: v for i in provider.fetch_catalog().items for v in i.variants}
    assert applied.applied and len(applied.pending) == 3
    assert again.pending == ()
    # the new template got the company's default sale tax (12.5% included): price as shown
    assert catalog["POKE-TOFU"].price == 5500 and catalog["ROLL-DRAGON"].price == 6800
    tofu = next(t for t in seeded.fake.records["product.template"].values()
                if t.get("default_code") == "POKE-TOFU")
    poke = next(c["id"] for c in seeded.fake.records["pos.category"].values()
                if c["name"] == "Poke")
    assert tofu["available_in_pos"] is True and tofu["company_id"] == 1
    assert (tofu["pos_categ_id"] if version <= 16 else tofu["pos_categ_ids"]) == (
        poke if version <= 16 else [poke])
    assert len(seeded.fake.records["product.template"]) == 4   # nothing deleted


def test_push_prices_an_excluded_tax_so_the_customer_pays_the_site_price():
    seeded = seed(18)
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded)
        provider.push_items((site_item("NIGIRI-SALMON", "Salmon Nigiri", 2800,
                                       category="Rolls"),), apply=True)
        catalog = {v.sku: v for i in provider.fetch_catalog().items for v in i.variants}
    salmon = next(t for t in seeded.fake.records["product.template"].values()
                  if t.get("default_code") == "NIGIRI-SALMON")
    assert salmon["list_price"] == 25.45            # 25.45 + 10% (2.545 -> 2.55) = 28.00
    assert catalog["NIGIRI-SALMON"].price == 2800


def test_images_only_for_items_without_one_cached_by_write_date(tmp_path):
    seeded = seed(17)
    for tmpl in seeded.fake.records["product.template"].values():
        tmpl["image_512"] = base64.b64encode(PNG).decode()
    items = (site_item("ROLL-DRAGON", "Dragon Roll", 6550),
             site_item("NIGIRI-SALMON", "Salmon Nigiri", 116, image="/images/nigiri.svg"))
    context = {"items": items, "static_dir": tmp_path / "static",
               "cache_dir": tmp_path / ".hugo_pos" / "cache"}
    with serve(seeded.fake) as url:
        provider = provider_for(url, seeded, context=context)
        first = {i.name: i for i in provider.fetch_catalog().items}
        downloads = seeded.fake.calls.count(("product.template", "read"))
        provider.fetch_catalog()
        unchanged = seeded.fake.calls.count(("product.template", "read")) - downloads
        dragon = next(t for t in seeded.fake.records["product.template"].values()
                      if t["default_code"] == "ROLL-DRAGON")
        dragon["write_date"] = "2026-11-26 09:00:00"
        provider.fetch_catalog()
        changed = seeded.fake.calls.count(("product.template", "read")) - downloads - unchanged
    image = first["Dragon Roll"].pos["image"]
    assert image == f"/hugo-pos/img/odoo-{dragon['id']}.png"
    assert (tmp_path / "static" / image.lstrip("/")).read_bytes() == PNG
    assert "image" not in first["Salmon Nigiri"].pos
    assert downloads == 2 and unchanged == 1 and changed == 2   # dates, then images if stale


def test_a_branch_updates_its_parent_companys_products_rather_than_copying_them():
    # Odoo 17 branch: the parent's Dragon Roll is the branch's too (parent_of); a sync must
    # update it, not create a second template with the same SKU.
    seeded = seed(17)
    branch = move_to_a_branch(seeded)
    with serve(seeded.fake) as url:
        plan = provider_for(url, seeded, company_id=branch).push_items(ITEMS[:1], apply=False)
    assert [(c.key, c.action) for c in plan.changes] == [("ROLL-DRAGON", "update")]
