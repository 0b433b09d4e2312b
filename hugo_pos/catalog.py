"""The normalized models passed between stages.

* ``Catalog``: what one POS sells at one location (its ``fetch_catalog`` result).
* ``SiteItem``: a menu item read from the site's front matter.
* ``Menu``: the merged menu of every location, written to menu.json and read back by the relay.

All are frozen dataclasses; amounts are integer minor units (see ``hugo_pos.money``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

import orjson

# Why an item or option cannot be ordered online (DESIGN §4).
REASONS = ("not_in_pos", "variable_price", "not_for_sale_here", "sold_out", "unsupported")


# --- what a POS sells -------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogOption:
    """One option of a POS modifier, e.g. "Spicy mayo" at 5.00."""

    name: str
    price: int
    pos: dict[str, Any] = field(default_factory=dict)
    available: bool = True


@dataclass(frozen=True)
class CatalogModifier:
    """A POS modifier (a group of options), matched to site modifier groups by name."""

    name: str
    options: tuple[CatalogOption, ...] = ()
    pos: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogVariant:
    """A sellable unit of a POS item at one location.

    ``price`` is what the customer pays for one unit, every tax included; ``None`` means the POS
    prices it at sale time (Loyverse VARIABLE). ``reason`` says why it cannot be ordered
    (``not_for_sale_here``, ``sold_out``, ``unsupported``...), ``None`` when it can. ``pos`` holds
    the POS ids the relay needs to submit it (e.g. ``{"item_id", "variant_id"}``).
    """

    sku: str | None
    name: str
    price: int | None
    pos: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class CatalogItem:
    """A POS item with its variants and the modifiers attached to it."""

    name: str
    variants: tuple[CatalogVariant, ...]
    category: str | None = None
    description: str | None = None
    modifiers: tuple[CatalogModifier, ...] = ()
    pos: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """Everything one POS sells at one location, prices in minor units of ``currency``."""

    provider: str
    currency: str
    items: tuple[CatalogItem, ...] = ()

    def json_text(self) -> str:
        """Return the catalog as JSON (the build cache stores catalogs this way): every field
        of every dataclass under its own name, as ``from_json`` reads it back. Keys of ``pos``
        that are not strings are written as ``json.dumps`` writes them (``1`` -> ``"1"``)."""
        return orjson.dumps(self, option=orjson.OPT_NON_STR_KEYS).decode()

    @classmethod
    def from_json(cls, data: dict) -> Catalog:
        """Rebuild a catalog from its parsed ``json_text()``."""
        items = tuple(
            CatalogItem(
                name=i["name"], category=i.get("category"), description=i.get("description"),
                pos=i.get("pos", {}),
                variants=tuple(CatalogVariant(**v) for v in i["variants"]),
                modifiers=tuple(
                    CatalogModifier(name=m["name"], pos=m.get("pos", {}),
                                    options=tuple(CatalogOption(**o) for o in m["options"]))
                    for m in i.get("modifiers", ())),
            )
            for i in data["items"])
        return cls(provider=data["provider"], currency=data["currency"], items=items)


# --- what the site says -----------------------------------------------------------------------

@dataclass(frozen=True)
class SiteOption:
    """A modifier option from front matter."""

    name: str
    price: int = 0


@dataclass(frozen=True)
class SiteModifierGroup:
    """A modifier group from front matter: choose between ``min`` and ``max`` options."""

    name: str
    min: int
    max: int
    options: tuple[SiteOption, ...]


@dataclass(frozen=True)
class SiteVariant:
    """A variant from front matter (an item without variants gets one, named after it)."""

    name: str
    sku: str | None
    price: int | None


@dataclass(frozen=True)
class SiteItem:
    """A menu item read from one content page.

    ``key`` is the item's ``sku``, else its page path (``menu/rolls/dragon``). ``locations`` is
    ``None`` when the item is sold everywhere. ``source`` is the content file, for messages.
    """

    key: str
    title: str
    category: str
    variants: tuple[SiteVariant, ...]
    source: str
    sku: str | None = None
    description: str = ""
    image: str = ""
    weight: int = 0
    category_weight: int = 0
    locations: tuple[str, ...] | None = None
    modifiers: tuple[SiteModifierGroup, ...] = ()
    has_variants: bool = False

    def variant_id(self, variant: SiteVariant) -> str:
        """Return the menu id of one of this item's variants: its SKU, else ``KEY~name``.

        The single variant of an item without variants has the item's key as its id.
        """
        if variant.sku:
            return variant.sku
        return f"{self.key}~{slug(variant.name)}" if self.has_variants else self.key

    def sold_at(self, location_id: str) -> bool:
        """Return whether this item is on the menu of ``location_id``."""
        return self.locations is None or location_id in self.locations


@lru_cache(maxsize=4096)  # menus repeat a few group and option names on many items
def slug(text: str) -> str:
    """Return a lowercase ASCII id fragment: ``"8 pc (Spicy)"`` -> ``"8-pc-spicy"``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


# --- the merged menu --------------------------------------------------------------------------

@dataclass(frozen=True)
class MenuOption:
    """A modifier option as customers see it; ``id`` is unique within the location's menu."""

    id: str
    name: str
    price: int
    available: bool = True
    pos: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MenuModifierGroup:
    """A modifier group of one menu item."""

    id: str
    name: str
    min: int
    max: int
    options: tuple[MenuOption, ...]


@dataclass(frozen=True)
class MenuVariant:
    """An orderable unit; ``price`` includes every tax; ``reason`` is set when unavailable."""

    id: str
    name: str
    price: int | None
    available: bool
    reason: str | None = None
    pos: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MenuItem:
    """One item of a location's menu."""

    key: str
    name: str
    description: str
    image: str
    category: str
    variants: tuple[MenuVariant, ...]
    modifier_groups: tuple[MenuModifierGroup, ...] = ()


@dataclass(frozen=True)
class MenuCategory:
    """A category of a location's menu and the keys of its items, in menu order."""

    id: str
    name: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class LocationMenu:
    """The menu of one location, plus the public facts the widget and the relay need."""

    id: str
    name: str
    kind: str
    whatsapp: str
    timezone: str
    hours: dict[str, tuple[str, ...]] | None
    ordering: dict[str, Any]
    categories: tuple[MenuCategory, ...]
    items: dict[str, MenuItem]

    def find_variant(self, variant_id: str) -> tuple[MenuItem, MenuVariant] | None:
        """Return the item and variant with this ``id``, or ``None`` (a dict lookup)."""
        return self._variants.get(variant_id)

    @cached_property
    def _variants(self) -> dict[str, tuple[MenuItem, MenuVariant]]:
        return {v.id: (item, v) for item in self.items.values() for v in item.variants}


@dataclass(frozen=True)
class Menu:
    """The merged menu of every location: the content of menu.json."""

    version: str
    currency: str
    minor_units: int
    locations: dict[str, LocationMenu]

    @cached_property
    def json_text(self) -> str:
        """Return menu.json's text: compact, stable key order, UTF-8, newline-terminated.

        The same bytes as ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``
        (tested), written by orjson: about 5 x faster on a 6,000-item menu (bench/RESULTS.md).
        """
        return orjson.dumps(self.to_json()).decode() + "\n"

    def versioned(self) -> Menu:
        """Return this menu with ``version`` set to a hash of the rest of its content."""
        text = replace(self, version="").json_text
        version = hashlib.sha256(text.encode()).hexdigest()[:16]
        menu = replace(self, version=version)
        # The text is already known: only the version differs (it is the first key).
        menu.__dict__["json_text"] = text.replace('{"version":""', f'{{"version":"{version}"', 1)
        return menu

    def to_json(self) -> dict:
        """Return menu.json's content (DESIGN §4), keys in a stable order."""
        return {
            "version": self.version,
            "currency": self.currency,
            "minor_units": self.minor_units,
            "locations": {lid: _location_json(loc) for lid, loc in self.locations.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> Menu:
        """Read menu.json's content back (the relay prices orders from it)."""
        return cls(
            version=data["version"], currency=data["currency"], minor_units=data["minor_units"],
            locations={lid: _location_from_json(lid, loc)
                       for lid, loc in data["locations"].items()})


def _location_json(loc: LocationMenu) -> dict:
    return {
        "name": loc.name, "kind": loc.kind, "whatsapp": loc.whatsapp, "timezone": loc.timezone,
        "hours": {d: list(r) for d, r in loc.hours.items()} if loc.hours is not None else None,
        "ordering": loc.ordering,
        "categories": [{"id": c.id, "name": c.name, "items": list(c.items)}
                       for c in loc.categories],
        "items": {key: _item_json(item) for key, item in loc.items.items()},
    }


def _item_json(item: MenuItem) -> dict:
    return {
        "name": item.name, "description": item.description, "image": item.image,
        "category": item.category,
        "variants": [{"id": v.id, "name": v.name, "price": v.price, "available": v.available,
                      "reason": v.reason, "pos": v.pos} for v in item.variants],
        "modifier_groups": [
            {"id": g.id, "name": g.name, "min": g.min, "max": g.max,
             "options": [{"id": o.id, "name": o.name, "price": o.price, "available": o.available,
                          "pos": o.pos} for o in g.options]}
            for g in item.modifier_groups],
    }


def _location_from_json(lid: str, loc: dict) -> LocationMenu:
    hours = loc.get("hours")
    return LocationMenu(
        id=lid, name=loc["name"], kind=loc["kind"], whatsapp=loc["whatsapp"],
        timezone=loc.get("timezone", "UTC"),
        hours={d: tuple(r) for d, r in hours.items()} if hours is not None else None,
        ordering=loc.get("ordering", {}),
        categories=tuple(MenuCategory(c["id"], c["name"], tuple(c["items"]))
                         for c in loc["categories"]),
        items={key: MenuItem(
            key=key, name=i["name"], description=i.get("description", ""),
            image=i.get("image", ""), category=i.get("category", ""),
            variants=tuple(MenuVariant(**v) for v in i["variants"]),
            modifier_groups=tuple(
                MenuModifierGroup(id=g["id"], name=g["name"], min=g["min"], max=g["max"],
                                  options=tuple(MenuOption(**o) for o in g["options"]))
                for g in i.get("modifier_groups", ())))
            for key, i in loc["items"].items()},
    )
