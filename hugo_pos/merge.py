"""MERGE: site items + each location's POS catalogs + pos-mapping.yaml -> the menu (pure).

Presentation (name, description, image, category, order) comes from the site; price,
availability and POS ids from the location's catalog POS. Every enabled POS contributes its ids
(``pos: {loyverse: {...}, odoo: {...}}``) so the relay can send each line to each POS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from hugo_pos.catalog import (
    Catalog,
    CatalogItem,
    CatalogVariant,
    LocationMenu,
    Menu,
    MenuCategory,
    MenuItem,
    MenuModifierGroup,
    MenuOption,
    MenuVariant,
    SiteItem,
    SiteVariant,
    slug,
)
from hugo_pos.config import Location, SiteConfig
from hugo_pos.money import format_money


@dataclass(frozen=True)
class MergeResult:
    """The merged menu and the warnings found on the way."""

    menu: Menu
    warnings: tuple[str, ...] = ()


@dataclass
class _Index:
    """One catalog indexed for matching: by SKU, and (built on first need) by each POS id."""

    catalog: Catalog
    by_sku: dict[str, tuple[CatalogItem, CatalogVariant]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, catalog: Catalog) -> _Index:
        index = cls(catalog)
        by_sku = index.by_sku
        for item in catalog.items:
            for variant in item.variants:
                if variant.sku:
                    by_sku.setdefault(variant.sku.casefold(), (item, variant))
        return index

    @cached_property
    def by_id(self) -> dict[tuple[str, str], list[tuple[CatalogItem, CatalogVariant]]]:
        """``("variant_id", "v1") -> [(item, variant)]``, for pos-mapping.yaml entries."""
        by_id: dict[tuple[str, str], list] = {}
        for item in self.catalog.items:
            for variant in item.variants:
                for key, value in {**item.pos, **variant.pos}.items():
                    by_id.setdefault((key, str(value)), []).append((item, variant))
        return by_id

    def find(self, sku: str, mapped: Mapping[str, object] | None):
        """Return the ``(item, variant)`` a mapping entry names, else the one with this SKU."""
        if mapped:
            wanted = [(k, str(v)) for k, v in mapped.items()]
            candidates = self.by_id.get(wanted[0], [])
            found = next((c for c in candidates
                          if all(str({**c[0].pos, **c[1].pos}.get(k)) == v for k, v in wanted)),
                         None)
        else:
            found = self.by_sku.get(sku.casefold())
        if found:
            self.used.add(id(found[1]))
        return found


def merge(config: SiteConfig, items: tuple[SiteItem, ...],
          catalogs: Mapping[tuple[str, str], Catalog]) -> MergeResult:
    """Return the menu of every location.

    ``catalogs`` maps ``(location id, POS name)`` to that POS's catalog for the location, for
    every enabled POS (``local`` when none is enabled).
    """
    warnings: list[str] = []
    locations = {}
    for loc in config.locations:
        indexes = {pos.name: _Index.of(catalogs[(loc.id, pos.name)]) for pos in loc.enabled_pos}
        locations[loc.id] = _merge_location(config, loc, items, indexes, warnings)
        for name, index in indexes.items():
            _warn_unused(loc, name, index, warnings)
    menu = Menu(version="", currency=config.currency, minor_units=config.minor_units,
                locations=locations)
    return MergeResult(menu=menu.versioned(), warnings=tuple(warnings))


def _merge_location(config: SiteConfig, loc: Location, items: tuple[SiteItem, ...],
                    indexes: dict[str, _Index], warnings: list[str]) -> LocationMenu:
    menu_items: dict[str, MenuItem] = {}
    categories: dict[str, list[str]] = {}
    for item in items:
        if not item.sold_at(loc.id):
            continue
        menu_items[item.key] = _merge_item(config, loc, item, indexes, warnings)
        categories.setdefault(item.category, []).append(item.key)
    digits = re.sub(r"\D", "", loc.whatsapp)
    return LocationMenu(
        id=loc.id, name=loc.name, kind=loc.kind, whatsapp=loc.whatsapp, timezone=loc.timezone,
        hours=loc.hours,
        ordering={"online": bool(config.relay_url), "fulfilment": list(loc.fulfilment),
                  "whatsapp_url": f"https://wa.me/{digits}"},
        categories=tuple(MenuCategory(id=slug(name), name=name, items=tuple(keys))
                         for name, keys in categories.items()),
        items=menu_items)


def _merge_item(config: SiteConfig, loc: Location, item: SiteItem, indexes: dict[str, _Index],
                warnings: list[str]) -> MenuItem:
    variants = []
    matched_items: dict[str, CatalogItem] = {}
    for variant in item.variants:
        pos_ids: dict[str, dict] = {}
        primary = None
        for name, index in indexes.items():
            found = index.find(item.variant_id(variant), _mapping(config, item, variant, name,
                                                                  index.catalog.provider))
            if found is None:
                if index.catalog.provider != "local":
                    warnings.append(f"{loc.id}: {item.source}: {_label(item, variant)} is not in "
                                    f"{name} (no SKU {item.variant_id(variant)!r}); map it in "
                                    "data/pos-mapping.yaml")
                continue
            pos_ids[name] = dict(found[1].pos)
            matched_items.setdefault(name, found[0])
            if name == loc.catalog:
                primary = found[1]
        variants.append(_menu_variant(config, loc, item, variant, primary, pos_ids, warnings))
    catalog_item = matched_items.get(loc.catalog)
    return MenuItem(
        key=item.key, name=item.title, description=item.description,
        # a POS image (e.g. Odoo's, written under static/hugo-pos/img/) only when the site
        # has none of its own
        image=item.image or str((catalog_item.pos if catalog_item else {}).get("image") or ""),
        category=item.category, variants=tuple(variants),
        modifier_groups=tuple(_modifier_group(loc, item, group, catalog_item, matched_items,
                                              warnings) for group in item.modifiers))


def _menu_variant(config: SiteConfig, loc: Location, item: SiteItem, variant: SiteVariant,
                  primary: CatalogVariant | None, pos_ids: dict, warnings: list[str]
                  ) -> MenuVariant:
    vid = item.variant_id(variant)
    if primary is None:
        return MenuVariant(id=vid, name=variant.name, price=variant.price, available=False,
                           reason="not_in_pos", pos=pos_ids)
    reason = primary.reason or (None if primary.price is not None else "variable_price")
    if primary.price is None and loc.catalog != "local":
        warnings.append(f"{loc.id}: {_label(item, variant)} has a variable price in "
                        f"{loc.catalog}; it cannot be ordered online until it has a fixed price")
    elif (variant.price is not None and primary.price is not None
          and variant.price != primary.price and loc.catalog != "local"):
        warnings.append(
            f"{loc.id}: {item.source}: {_label(item, variant)} costs "
            f"{format_money(primary.price, config.currency)} in {loc.catalog} but "
            f"{format_money(variant.price, config.currency)} in the front matter; the menu shows "
            f"the POS price")
    return MenuVariant(id=vid, name=variant.name, price=primary.price,
                       available=reason is None, reason=reason, pos=pos_ids)


def _modifier_group(loc: Location, item: SiteItem, group, catalog_item: CatalogItem | None,
                    matched_items: dict[str, CatalogItem], warnings: list[str]
                    ) -> MenuModifierGroup:
    gid = f"{item.key}~{slug(group.name)}"
    options = []
    for option in group.options:
        pos_ids: dict[str, dict] = {}
        primary = None
        for name, cat_item in matched_items.items():
            found = _find_option(cat_item, group.name, option.name)
            if found is not None:
                pos_ids[name] = {**found[0].pos, **found[1].pos}
                if name == loc.catalog:
                    primary = found[1]
        if primary is None and catalog_item is not None and loc.catalog != "local":
            warnings.append(f"{loc.id}: {item.source}: modifier {group.name} / {option.name} is "
                            f"not attached to the item in {loc.catalog}")
        options.append(MenuOption(
            id=f"{gid}~{slug(option.name)}", name=option.name,
            price=primary.price if primary else option.price,
            available=primary.available if primary else False, pos=pos_ids))
    return MenuModifierGroup(id=gid, name=group.name, min=group.min, max=group.max,
                             options=tuple(options))


def _find_option(item: CatalogItem, group: str, option: str):
    for modifier in item.modifiers:
        if modifier.name.casefold() == group.casefold():
            for candidate in modifier.options:
                if candidate.name.casefold() == option.casefold():
                    return modifier, candidate
    return None


def _mapping(config: SiteConfig, item: SiteItem, variant: SiteVariant, pos_name: str,
             provider: str) -> Mapping | None:
    if not config.mapping:
        return None
    for key in (variant.sku, item.variant_id(variant), item.key):
        entry = config.mapping.get(key) if key else None
        if entry:
            return entry.get(pos_name) or entry.get(provider)
    return None


def _warn_unused(loc: Location, name: str, index: _Index, warnings: list[str]) -> None:
    if index.catalog.provider == "local":
        return
    unused = [f"{i.name} ({v.sku or 'no SKU'})" for i in index.catalog.items for v in i.variants
              if id(v) not in index.used and v.reason != "not_for_sale_here"]
    if unused:
        more = f" and {len(unused) - 5} more" if len(unused) > 5 else ""
        warnings.append(f"{loc.id}: {len(unused)} {name} item(s) are not on the site: "
                        f"{', '.join(unused[:5])}{more}")


def _label(item: SiteItem, variant: SiteVariant) -> str:
    return f"{item.title} ({variant.name})" if item.has_variants else item.title
