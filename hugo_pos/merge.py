"""MERGE: site items + each location's POS catalogs + pos-mapping.yaml -> the menu (pure).

Presentation (name, description, image, category, order) comes from the site; price,
availability and POS ids from the location's catalog POS. Every enabled POS contributes its ids
(``pos: {loyverse: {...}, odoo: {...}}``) so the relay can send each line to each POS.

A location can also be merged while its catalogs download (``LocationMerge``): the build feeds
it each page of catalog items a provider projects, and the items matched by then are merged
during the pull instead of after it. The menu is the same either way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
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


@dataclass
class MergeResult:
    """The merged menu and the warnings found on the way."""

    menu: Menu
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Index:
    """One catalog indexed for matching: by SKU, and (built on first need) by each POS id."""

    catalog: Catalog
    by_sku: dict[str, tuple[CatalogItem, CatalogVariant]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, catalog: Catalog) -> _Index:
        index = cls(catalog)
        index.add(catalog.items)
        return index

    def add(self, items: Iterable[CatalogItem]) -> list[str]:
        """Index more of the catalog's items (in catalog order); return the SKU keys that were
        new (the first item with a SKU keeps it)."""
        by_sku, new = self.by_sku, []
        for item in items:
            for variant in item.variants:
                if variant.sku:
                    key = variant.sku.casefold()
                    if key not in by_sku:
                        by_sku[key] = (item, variant)
                        new.append(key)
        return new

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
          catalogs: Mapping[tuple[str, str], Catalog],
          started: Mapping[str, LocationMerge] | None = None) -> MergeResult:
    """Return the menu of every location.

    ``catalogs`` maps ``(location id, POS name)`` to that POS's catalog for the location, for
    every enabled POS (``local`` when none is enabled). ``started`` holds the location merges
    that were fed catalog pages during the pull (see ``LocationMerge``), by location id.
    """
    warnings: list[str] = []
    locations = {}
    for loc in config.locations:
        location_merge = (started or {}).get(loc.id) or LocationMerge(config, loc, items)
        locations[loc.id] = location_merge.finish(
            {pos.name: catalogs[(loc.id, pos.name)] for pos in loc.enabled_pos}, warnings)
    menu = Menu(version="", currency=config.currency, minor_units=config.minor_units,
                locations=locations)
    return MergeResult(menu=menu.versioned(), warnings=warnings)


Found = tuple[CatalogItem, CatalogVariant] | None


@dataclass
class _Early:
    """An item merged during the pull, with the catalog objects it was merged from."""

    finds: tuple[Found, ...]
    item: MenuItem
    warnings: list[str]


class LocationMerge:
    """The merge of one location, fed its POS catalogs page by page while they download.

    ``add(pos_name, items)`` indexes a page of one POS's catalog items (in catalog order) and
    merges every site item whose variants are now all found in every enabled POS. ``finish``
    looks each item up in the complete catalogs and keeps an early result only when it finds
    exactly the same catalog objects (a provider may replace some after the last page, as
    Loyverse does to mark stock); every other item is merged then. Items named in
    pos-mapping.yaml are always merged at the end. Thread-safe.
    """

    def __init__(self, config: SiteConfig, loc: Location, items: Sequence[SiteItem]) -> None:
        self.config, self.loc = config, loc
        self.items = [item for item in items if item.sold_at(loc.id)]
        self._partial = {pos.name: _Index(Catalog(provider=pos.provider,
                                                  currency=config.currency, items=()))
                         for pos in loc.enabled_pos}
        self._early: dict[int, _Early] = {}
        self._waiting: dict[str, list[int]] = {}  # SKU key -> items that need it
        if not config.mapping:
            for number, item in enumerate(self.items):
                for variant in item.variants:
                    self._waiting.setdefault(item.variant_id(variant).casefold(), []).append(
                        number)
        self._lock = threading.Lock()

    def add(self, pos_name: str, items: Sequence[CatalogItem]) -> None:
        """Index a page of POS ``pos_name``'s catalog items; merge the site items it completes."""
        with self._lock:
            index = self._partial.get(pos_name)
            if index is None:
                return
            ready = {n for key in index.add(items) for n in self._waiting.get(key, ())}
            for number in sorted(ready):
                if number in self._early:
                    continue
                item = self.items[number]
                finds = _finds(self.config, item, self._partial)
                if None not in finds:
                    warnings: list[str] = []
                    merged = _merge_item(self.config, self.loc, item, self._partial, finds,
                                         warnings)
                    self._early[number] = _Early(finds, merged, warnings)

    def finish(self, catalogs: Mapping[str, Catalog], warnings: list[str]) -> LocationMenu:
        """Return the location's menu from its complete catalogs (by POS name), adding the
        merge's warnings to ``warnings``."""
        with self._lock:
            indexes = {name: _Index.of(catalog) for name, catalog in catalogs.items()}
            menu_items: dict[str, MenuItem] = {}
            categories: dict[str, list[str]] = {}
            for number, item in enumerate(self.items):
                finds = _finds(self.config, item, indexes)
                early = self._early.get(number)
                if early is not None and _same(early.finds, finds):
                    menu_items[item.key] = early.item
                    warnings.extend(early.warnings)
                else:
                    menu_items[item.key] = _merge_item(self.config, self.loc, item, indexes,
                                                       finds, warnings)
                categories.setdefault(item.category, []).append(item.key)
            for name, index in indexes.items():
                _warn_unused(self.loc, name, index, warnings)
        loc, config = self.loc, self.config
        digits = re.sub(r"\D", "", loc.whatsapp)
        return LocationMenu(
            id=loc.id, name=loc.name, kind=loc.kind, whatsapp=loc.whatsapp,
            timezone=loc.timezone, hours=loc.hours,
            ordering={"online": bool(config.relay_url), "fulfilment": list(loc.fulfilment),
                      "whatsapp_url": f"https://wa.me/{digits}"},
            categories=tuple(MenuCategory(id=slug(name), name=name, items=tuple(keys))
                             for name, keys in categories.items()),
            items=menu_items)


def _finds(config: SiteConfig, item: SiteItem, indexes: dict[str, _Index]) -> tuple[Found, ...]:
    """What each POS index holds for each of the item's variants (variant-major order)."""
    return tuple(index.find(item.variant_id(variant),
                            _mapping(config, item, variant, name, index.catalog.provider))
                 for variant in item.variants for name, index in indexes.items())


def _same(old: tuple[Found, ...], new: tuple[Found, ...]) -> bool:
    return all(a is b or (a is not None and b is not None and a[0] is b[0] and a[1] is b[1])
               for a, b in zip(old, new, strict=True))


def _merge_item(config: SiteConfig, loc: Location, item: SiteItem, indexes: dict[str, _Index],
                finds: tuple[Found, ...], warnings: list[str]) -> MenuItem:
    variants = []
    matched_items: dict[str, CatalogItem] = {}
    found_at = iter(finds)
    for variant in item.variants:
        pos_ids: dict[str, dict] = {}
        primary = None
        for name, index in indexes.items():
            found = next(found_at)
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
