"""MERGE: presentation from the site, price/availability/ids from the POS catalogs."""

from __future__ import annotations

from pathlib import Path

from hugo_pos.catalog import (
    Catalog,
    CatalogItem,
    CatalogModifier,
    CatalogOption,
    CatalogVariant,
    SiteItem,
    SiteModifierGroup,
    SiteOption,
    SiteVariant,
)
from hugo_pos.config import Location, PosConfig, SiteConfig
from hugo_pos.merge import merge

LOC = Location(id="ariapita", name="Ariapita", kind="restaurant", whatsapp="+1 868 555 0101",
               timezone="UTC", hours=None, catalog="loyverse", fulfilment=("pickup",),
               pos=(PosConfig("loyverse", "loyverse", True), PosConfig("odoo", "odoo", True)))


def config(mapping=None) -> SiteConfig:
    return SiteConfig(root=Path("."), currency="TTD", minor_units=2, relay_url="https://r",
                      site_origins=(), locations=(LOC,), mapping=mapping or {})


def item(key, price, *, variants=None, modifiers=()) -> SiteItem:
    return SiteItem(key=key, title=key.title(), category="Rolls",
                    source=f"content/{key.lower()}.md", sku=key,
                    variants=variants or (SiteVariant(key.title(), key, price),),
                    has_variants=bool(variants), modifiers=modifiers)


def loyverse(*items) -> Catalog:
    return Catalog(provider="loyverse", currency="TTD", items=items)


def lv_item(name, *variants, modifiers=()) -> CatalogItem:
    return CatalogItem(name=name, variants=variants, modifiers=modifiers,
                       pos={"item_id": f"i-{name}"})


def lv_variant(sku, price, reason=None) -> CatalogVariant:
    return CatalogVariant(sku=sku, name=sku, price=price, reason=reason,
                          pos={"variant_id": f"v-{sku}"})


ODOO = Catalog(provider="odoo", currency="TTD", items=(
    CatalogItem(name="Dragon", variants=(CatalogVariant(sku="DRAGON-8", name="8 pc", price=9500,
                                                        pos={"product_id": 42}),)),))


def test_price_availability_and_ids_come_from_the_pos_presentation_from_the_site():
    site = (item("DRAGON", None, variants=(SiteVariant("4 pc", "DRAGON-4", 5500),
                                          SiteVariant("8 pc", "DRAGON-8", 9500)),
                 modifiers=(SiteModifierGroup("Extras", 0, 2, (SiteOption("Spicy Mayo", 400),
                                                               SiteOption("Tobiko", 1000))),)),)
    pos = loyverse(lv_item("Dragon roll (POS name)", lv_variant("DRAGON-4", 5600),
                           lv_variant("DRAGON-8", 9500),
                           modifiers=(CatalogModifier("EXTRAS", (
                               CatalogOption("spicy mayo", 500, {"modifier_option_id": "o1"}),),
                               {"modifier_id": "m1"}),)))
    result = merge(config(), site, {("ariapita", "loyverse"): pos, ("ariapita", "odoo"): ODOO})
    dragon = result.menu.locations["ariapita"].items["DRAGON"]
    assert dragon.name == "Dragon"                                  # the site's name
    v4, v8 = dragon.variants
    assert (v4.price, v4.available, v4.pos) == (
        5600, True, {"loyverse": {"variant_id": "v-DRAGON-4"}})      # not in odoo
    assert v8.pos == {"loyverse": {"variant_id": "v-DRAGON-8"}, "odoo": {"product_id": 42}}
    mayo, tobiko = dragon.modifier_groups[0].options
    assert (mayo.price, mayo.available, mayo.pos) == (
        500, True, {"loyverse": {"modifier_id": "m1", "modifier_option_id": "o1"}})
    assert (tobiko.price, tobiko.available) == (1000, False)
    assert list(result.warnings) == [
        "ariapita: content/dragon.md: Dragon (4 pc) is not in odoo (no SKU 'DRAGON-4'); map it "
        "in data/pos-mapping.yaml",
        "ariapita: content/dragon.md: Dragon (4 pc) costs TTD 56.00 in loyverse but TTD 55.00 in "
        "the front matter; the menu shows the POS price",
        "ariapita: content/dragon.md: modifier Extras / Tobiko is not attached to the item in "
        "loyverse",
    ]


def test_unavailable_reasons_and_pos_items_missing_from_the_site():
    site = (item("GONE", 1000), item("VAR", 1000), item("SOLD", 1000), item("ELSEWHERE", 1000))
    pos = loyverse(lv_item("Var", lv_variant("VAR", None)),
                   lv_item("Sold", lv_variant("SOLD", 1000, "sold_out")),
                   lv_item("Elsewhere", lv_variant("ELSEWHERE", 1000, "not_for_sale_here")),
                   lv_item("Extra", lv_variant("EXTRA", 300)))
    result = merge(config(), site, {("ariapita", "loyverse"): pos,
                                    ("ariapita", "odoo"): Catalog("odoo", "TTD")})
    items = result.menu.locations["ariapita"].items
    got = {k: (i.variants[0].available, i.variants[0].reason, i.variants[0].price)
           for k, i in items.items()}
    assert got == {"GONE": (False, "not_in_pos", 1000), "VAR": (False, "variable_price", None),
                   "SOLD": (False, "sold_out", 1000),
                   "ELSEWHERE": (False, "not_for_sale_here", 1000)}
    assert "ariapita: Var has a variable price in loyverse; it cannot be ordered online until it " \
           "has a fixed price" in result.warnings
    assert "ariapita: 1 loyverse item(s) are not on the site: Extra (EXTRA)" in result.warnings


def test_pos_mapping_overrides_sku_matching():
    site = (item("NIGIRI", 2800),)
    pos = loyverse(lv_item("Salmon nigiri", lv_variant("10002", 2800)))
    mapping = {"NIGIRI": {"loyverse": {"variant_id": "v-10002"}, "odoo": {"product_id": "42"}}}
    odoo = Catalog("odoo", "TTD", (CatalogItem("N", (CatalogVariant(
        "X", "N", 2800, pos={"product_id": 42}),)),))
    result = merge(config(mapping), site, {("ariapita", "loyverse"): pos,
                                           ("ariapita", "odoo"): odoo})
    variant = result.menu.locations["ariapita"].items["NIGIRI"].variants[0]
    assert (variant.available, variant.pos) == (
        True, {"loyverse": {"variant_id": "v-10002"}, "odoo": {"product_id": 42}})
    assert result.warnings == ()


def test_version_is_a_content_hash():
    site = (item("A", 1000),)
    catalogs = {("ariapita", "loyverse"): loyverse(lv_item("A", lv_variant("A", 1000))),
                ("ariapita", "odoo"): Catalog("odoo", "TTD")}
    first = merge(config(), site, catalogs).menu.version
    assert merge(config(), site, catalogs).menu.version == first
    catalogs[("ariapita", "loyverse")] = loyverse(lv_item("A", lv_variant("A", 1100)))
    assert merge(config(), site, catalogs).menu.version != first
