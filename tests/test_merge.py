"""MERGE: presentation from the site, price/availability/ids from the POS catalogs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
    assert result.warnings == [
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
    assert result.warnings == []


def test_version_is_a_content_hash():
    site = (item("A", 1000),)
    catalogs = {("ariapita", "loyverse"): loyverse(lv_item("A", lv_variant("A", 1000))),
                ("ariapita", "odoo"): Catalog("odoo", "TTD")}
    first = merge(config(), site, catalogs).menu.version
    assert merge(config(), site, catalogs).menu.version == first
    catalogs[("ariapita", "loyverse")] = loyverse(lv_item("A", lv_variant("A", 1100)))
    assert merge(config(), site, catalogs).menu.version != first


# -- merging while the catalogs download (LocationMerge) -----------------------------------------

SKUS = ("A", "B", "C", "D")


def _site(spec) -> tuple[SiteItem, ...]:
    """Site items from (key, variant SKUs, has a modifier group) triples: one SKU gives an item
    keyed by it, more give an item with variants."""
    groups = (SiteModifierGroup("Extras", 0, 1, (SiteOption("Spicy", 0),)),)
    return tuple(item(skus[0], 1000, modifiers=groups if extras else ()) if len(skus) == 1 else
                 item(key, None, variants=tuple(SiteVariant(s, s, 1000) for s in skus),
                      modifiers=groups if extras else ())
                 for key, skus, extras in spec)


def _catalog_items(spec) -> tuple[CatalogItem, ...]:
    """Catalog items from (SKU, price, reason, has the Extras modifier) tuples, SKUs repeating."""
    extras = CatalogModifier("Extras", (CatalogOption("Spicy", 0, {"modifier_option_id": "o"}),))
    return tuple(lv_item(f"{sku}{n}", lv_variant(sku, price, reason),
                         modifiers=(extras,) if has_extras else ())
                 for n, (sku, price, reason, has_extras) in enumerate(spec))


catalog_specs = st.lists(st.tuples(st.sampled_from(SKUS), st.sampled_from((1000, 1100, None)),
                                   st.sampled_from((None, "sold_out")), st.booleans()),
                         max_size=12)


@settings(max_examples=300, deadline=None)
@given(site_spec=st.lists(st.tuples(st.sampled_from("KLMN"), st.lists(
           st.sampled_from(SKUS), min_size=1, max_size=2, unique=True), st.booleans()),
           max_size=6, unique_by=lambda t: (t[0], tuple(t[1]))),
       lv_spec=catalog_specs, odoo_spec=catalog_specs, data=st.data())
def test_merging_page_by_page_gives_the_menu_of_merging_at_the_end(site_spec, lv_spec,
                                                                   odoo_spec, data):
    """Whatever the pages, the POS that sends none, and the items a provider replaces after
    the last page (Loyverse's stock marks), the menu and warnings are those of one merge."""
    from hugo_pos.merge import LocationMerge

    site = _site(site_spec)
    keys = [i.key for i in site]
    assume(len(set(keys)) == len(keys))
    lv_items, odoo_items = _catalog_items(lv_spec), _catalog_items(odoo_spec)
    fed = LocationMerge(config(), LOC, site)
    for name, items in (("loyverse", lv_items), ("odoo", odoo_items)):
        if data.draw(st.sampled_from((True, True, False)), label=f"{name} sends pages"):
            cuts = sorted(data.draw(st.lists(st.integers(0, len(items)), max_size=4)))
            for start, end in zip([0, *cuts], [*cuts, len(items)], strict=True):
                fed.add(name, items[start:end])
    replaced = data.draw(st.sets(st.integers(0, max(len(lv_items) - 1, 0))), label="replaced")
    final = tuple(replace(it, variants=tuple(replace(v, reason="sold_out") for v in it.variants))
                  if n in replaced else it for n, it in enumerate(lv_items))
    catalogs = {("ariapita", "loyverse"): loyverse(*final),
                ("ariapita", "odoo"): Catalog("odoo", "TTD", odoo_items)}
    at_the_end = merge(config(), site, catalogs)
    page_by_page = merge(config(), site, catalogs, started={"ariapita": fed})
    assert page_by_page.menu.json_text == at_the_end.menu.json_text
    assert page_by_page.warnings == at_the_end.warnings


def test_a_page_merges_the_items_it_completes_and_finish_redoes_only_replaced_ones(monkeypatch):
    import hugo_pos.merge as merging
    from hugo_pos.merge import LocationMerge

    merged = []
    merge_item = merging._merge_item
    monkeypatch.setattr(merging, "_merge_item",
                        lambda config, loc, site_item, *rest: (merged.append(site_item.key),
                                                               merge_item(config, loc, site_item,
                                                                          *rest))[1])
    site = (item("A", 1000), item("B", 1000), item("C", 1000))
    first, second = _catalog_items([("A", 1000, None, False), ("B", 1000, None, False)])
    fed = LocationMerge(config(), replace(LOC, pos=LOC.pos[:1]), site)  # Loyverse only
    fed.add("loyverse", (first,))
    assert merged == ["A"]
    fed.add("loyverse", (second,))
    assert merged == ["A", "B"]  # C has no match yet: it waits for the end
    sold_out = replace(second, variants=(replace(second.variants[0], reason="sold_out"),))
    menu = fed.finish({"loyverse": loyverse(first, sold_out)}, warnings := [])
    assert merged == ["A", "B", "B", "C"]  # A kept; B's catalog item was replaced; C unmatched
    assert menu.items["B"].variants[0].reason == "sold_out"
    assert "not in loyverse (no SKU 'C')" in warnings[0]
