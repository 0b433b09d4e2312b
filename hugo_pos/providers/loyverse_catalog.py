"""Loyverse catalog: pull one account's lists, project them onto one store (DESIGN §5).

Source of every rule here: ``shared/pos-api-notes/loyverse.md`` §2 (cursor pagination, limit
250, cursor absent on the last page), §3 (items, variants, ``variant.stores[]`` per-store price
and ``available_for_sale``, VARIABLE pricing, ``modifier_ids`` vs ``modifiers_ids``), §4
(modifiers, taxes INCLUDED/ADDED, inventory, merchant ``currency.decimal_places``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from hugo_pos.catalog import Catalog, CatalogItem, CatalogModifier, CatalogOption, CatalogVariant
from hugo_pos.errors import ProviderError
from hugo_pos.http import HttpClient
from hugo_pos.money import MoneyError, to_minor

PAGE_LIMIT = 250  # the API's maximum; 251 is rejected with 400 (notes §1.4)


@dataclass
class Account:
    """The raw lists of one Loyverse account, as the API returned them (amounts as Decimal).

    ``inventory`` maps store id -> variant id -> units in stock.
    """

    merchant: dict
    stores: list[dict]
    categories: list[dict]
    items: list[dict]
    modifiers: list[dict]
    taxes: list[dict]
    inventory: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The account's ISO 4217 currency code."""
        return str((self.merchant.get("currency") or {}).get("code") or "")

    @property
    def places(self) -> int:
        """The account currency's decimal places (0 for JPY)."""
        return int((self.merchant.get("currency") or {}).get("decimal_places", 2))

    def store_ids(self) -> set[str]:
        """The ids of the account's stores that are not deleted."""
        return {s["id"] for s in live(self.stores)}


def list_all(client: HttpClient, path: str, key: str, params: dict | None = None,
             on_page: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Return every object of a list endpoint, following ``cursor`` until it is absent.

    Pages are requested with ``limit=250``; ``on_page`` (if given) is called with each page's
    objects, pages in order. Each page is parsed in a thread of its own while the next one
    downloads: the next cursor is read from the end of the raw body (see ``last_cursor``),
    else from the parsed page. A repeated cursor (a server bug) raises ProviderError instead of
    looping for ever.
    """
    pages: list[Future] = []
    seen: set[str] = set()
    cursor = None
    with ThreadPoolExecutor(max_workers=1) as parser:
        while True:
            query = {**(params or {}), "limit": PAGE_LIMIT}
            if cursor:
                query["cursor"] = cursor
            response = client.request("GET", path, params=query)
            pages.append(parser.submit(_parse_page, client, response, key, on_page))
            cursor = last_cursor(response.content)
            if cursor is None:
                cursor = pages[-1].result()[1]
            if not cursor:
                return [obj for page in pages for obj in page.result()[0]]
            if cursor in seen:
                raise ProviderError(f"{client.label} repeated the cursor of {path}",
                                    "try again later; if it persists, report it to Loyverse")
            seen.add(cursor)


# A page ends with its cursor: {"items": [...], "cursor": "..."} (notes §2). When the body's
# last characters are `{` or `,`, then `"cursor": "<no quote or backslash>"` and the closing
# `}`, that cursor is necessarily the last member of the top-level object: the one json.loads
# keeps.
_LAST_CURSOR = re.compile(rb'[{,]\s*"cursor"\s*:\s*"([^"\\]*)"\s*}\s*$')


def last_cursor(body: bytes) -> str | None:
    """Return the cursor of a raw page when it is the body's last member, else None (unknown:
    parse the page to know)."""
    found = _LAST_CURSOR.search(body[-512:])
    return found.group(1).decode("utf-8", "replace") if found else None


def _parse_page(client: HttpClient, response: Any, key: str,
                on_page: Callable[[list[dict]], None] | None) -> tuple[list[dict], str | None]:
    body = client.json_of(response, parse_float=Decimal)
    if isinstance(body, list):  # GET /webhooks/ answers a bare array (notes §2)
        return body, None
    page = body.get(key) or []
    if on_page:
        on_page(page)
    return page, body.get("cursor")


def pull_account(client: HttpClient, store_ids: Iterable[str],
                 on_items: Callable[[Account, list[dict]], None] | None = None) -> Account:
    """Pull the lists a catalog needs, the independent ones in parallel threads.

    Requests made: 1 (merchant) + 1 per page of stores, categories, modifiers, taxes, items, and
    of inventory for each store in ``store_ids`` (one chain per store, so the longest chain is
    the item pages, not all stores' inventory pages in a row).

    ``on_items(head, page)``, if given, is called with each page of items while the next page
    downloads (in a thread of its own, pages in order), once ``head``, the account without its
    items and inventory, is in. Its exceptions are raised here, after those of the pull.
    """
    stores = sorted(set(store_ids))
    lists = ("stores", "categories", "modifiers", "taxes")
    with ThreadPoolExecutor(max_workers=len(lists) + len(stores) + 2) as pool, \
            ThreadPoolExecutor(max_workers=1) as consumer:
        head: list[Account] = []  # touched by the consumer thread only
        handed: list[Future] = []
        submitted = threading.Event()

        def consume(page: list[dict]) -> None:
            if not head:
                submitted.wait()
                head.append(Account(merchant=merchant.result(), items=[],
                                    **{name: f.result() for name, f in futures.items()}))
            on_items(head[0], page)  # type: ignore[misc]

        def hand(page: list[dict]) -> None:
            handed.append(consumer.submit(consume, page))

        try:  # the longest chains first: each request started before them delays them
            items = pool.submit(list_all, client, "items", "items", None,
                                hand if on_items else None)
            inventory = {store: pool.submit(list_all, client, "inventory", "inventory_levels",
                                            {"store_ids": store}) for store in stores}
            merchant = pool.submit(client.get_json, "merchant/", None, parse_float=Decimal)
            futures = {name: pool.submit(list_all, client, name, name) for name in lists}
        finally:
            submitted.set()
        results = {name: future.result() for name, future in futures.items()}
        results["items"] = items.result()
        levels = {store: future.result() for store, future in inventory.items()}
        profile = merchant.result()
        for future in handed:
            future.result()
    return Account(
        merchant=profile, **results,
        inventory={store: {lvl["variant_id"]: Decimal(str(lvl.get("in_stock") or 0))
                           for lvl in rows if lvl.get("store_id", store) == store}
                   for store, rows in levels.items()})


def live(objects: Iterable[dict]) -> list[dict]:
    """Drop soft-deleted objects (``deleted_at`` set)."""
    return [o for o in objects if not o.get("deleted_at")]


def modifier_ids(item: dict) -> list[str]:
    """Return an item's modifier ids: live responses say ``modifier_ids``, the spec
    ``modifiers_ids`` (notes §3.1 erratum 1); both are accepted."""
    return list(item.get("modifier_ids") or item.get("modifiers_ids") or [])


def minor(value: Any, currency: str, places: int, what: str) -> int:
    """Convert a Loyverse amount (currency units, Decimal) to integer minor units exactly."""
    try:
        return _to_minor(value, currency, places)
    except MoneyError as exc:
        raise ProviderError(f"Loyverse: {what}: {exc}",
                            "fix the amount in the Loyverse back office") from None


@lru_cache(maxsize=4096)
def _to_minor(value: Any, currency: str, places: int) -> int:
    # Menus repeat a few dozen prices over thousands of variants and stores.
    return to_minor(value, currency, places=places)


def add_taxes(amount: int, rates: Sequence[Decimal]) -> int:
    """Return ``amount`` (minor units) plus each ADDED tax, each rounded half up to a minor unit.

    ``rates`` are percentages (``12.5`` means 12.5 %), as Loyverse's ``tax.rate``.
    """
    if not rates:
        return amount
    return amount + sum(int((amount * Decimal(r) / 100).quantize(Decimal(1), ROUND_HALF_UP))
                        for r in rates)


def remove_taxes(total: int, rates: Sequence[Decimal]) -> int:
    """Return the pre-tax amount whose ``add_taxes`` is ``total``, or the nearest one.

    The relay prices with taxes included; Loyverse wants the price before ADDED taxes.
    """
    if not rates:
        return total
    guess = int((Decimal(total) / (1 + sum(Decimal(r) for r in rates) / 100))
                .quantize(Decimal(1), ROUND_HALF_UP))
    for candidate in (guess, guess - 1, guess + 1, guess - 2, guess + 2):
        if add_taxes(candidate, rates) == total:
            return candidate
    return guess


@dataclass(frozen=True)
class StorePrice:
    """A variant at one store: its pricing type, price (None when VARIABLE) and availability."""

    pricing_type: str
    price: Decimal | None
    available: bool


def store_price(variant: dict, store_id: str) -> StorePrice:
    """Return the variant's effective price at a store: the ``stores[]`` entry, else defaults."""
    entry: dict = {}
    for candidate in variant.get("stores") or ():
        if candidate.get("store_id") == store_id:
            entry = candidate
            break
    pricing = entry.get("pricing_type") or variant.get("default_pricing_type") or "VARIABLE"
    price = entry.get("price")
    if price is None:
        price = variant.get("default_price")
    available = entry.get("available_for_sale", True) is not False
    return StorePrice(pricing, price if pricing == "FIXED" and price is not None else None,
                      available)


def item_taxes(item: dict, taxes: dict[str, dict], store_id: str) -> list[dict]:
    """The live taxes of an item that apply at ``store_id`` (a tax lists its stores)."""
    found = []
    for tax_id in item.get("tax_ids") or []:
        tax = taxes.get(tax_id)
        if tax and not tax.get("deleted_at") and (
                not tax.get("stores") or store_id in tax["stores"]):
            found.append(tax)
    return found


def variant_name(item: dict, variant: dict) -> str:
    """``"Large / Spicy"`` from the option values, else the item's name."""
    values = [variant.get(f"option{i}_value") for i in (1, 2, 3)]
    return " / ".join(v for v in values if v) or item.get("item_name") or ""


class Projection:
    """What an account sells at one store, built page by page as the items arrive.

    Prices are what the customer pays, ADDED taxes included (INCLUDED ones are already in the
    price). Soft-deleted objects are ignored. A VARIABLE-priced variant has ``price=None`` and
    reason ``variable_price``; ``available_for_sale: false`` gives ``not_for_sale_here``; a
    ``track_stock`` item with stock <= 0 at the store gives ``sold_out`` (in ``finish``: the
    inventory arrives with the last item page).
    """

    def __init__(self, account: Account, store_id: str) -> None:
        self.store_id = store_id
        self.currency, self.places = account.currency, account.places
        self.categories = {c["id"]: c.get("name") for c in live(account.categories)}
        self.modifiers = {m["id"]: m for m in live(account.modifiers)}
        self.taxes = {t["id"]: t for t in account.taxes}
        self.items: list[CatalogItem] = []
        self.tracked: list[int] = []  # indexes in ``items`` of track_stock items
        self.variable: list[str] = []
        self._modifier_cache: dict[tuple, CatalogModifier] = {}

    def add(self, items: Iterable[dict]) -> None:
        """Project some of the account's items (one page) onto the store."""
        store_id, currency, places = self.store_id, self.currency, self.places
        for item in live(items):
            name = item.get("item_name") or ""
            applied = item_taxes(item, self.taxes, store_id)
            rates = tuple(Decimal(str(t.get("rate") or 0)) for t in applied
                          if t.get("type") == "ADDED")
            ids = [t["id"] for t in applied]
            variants = []
            for variant in live(item.get("variants") or []):
                at_store = store_price(variant, store_id)
                price = None
                if at_store.price is not None:
                    base = minor(at_store.price, currency, places, f"{name}: price")
                    price = add_taxes(base, rates)
                reason = None
                if not at_store.available:
                    reason = "not_for_sale_here"
                elif price is None:
                    reason = "variable_price"
                    self.variable.append(f"{name} ({variant.get('sku') or 'no SKU'})")
                pos: dict[str, Any] = {"item_id": item["id"], "variant_id": variant["variant_id"]}
                if ids:
                    pos["tax_ids"] = ids
                if rates:
                    pos["added_tax_rates"] = [str(r) for r in rates]
                variants.append(CatalogVariant(
                    sku=variant.get("sku"), name=variant_name(item, variant), price=price,
                    pos=pos, reason=reason))
            if not variants:
                continue
            if item.get("track_stock"):
                self.tracked.append(len(self.items))
            projected = CatalogItem(
                name=name, variants=tuple(variants),
                category=self.categories.get(item.get("category_id")),
                description=item.get("description"), pos={"item_id": item["id"]},
                modifiers=tuple(self._modifier(mid, rates) for mid in modifier_ids(item)
                                if mid in self.modifiers))
            self.items.append(projected)

    def finish(self, stock: Mapping[str, Decimal]) -> tuple[Catalog, list[str]]:
        """Mark tracked variants without stock ``sold_out``; return the catalog and warnings.

        ``stock`` maps variant id -> units in stock at this store.
        """
        items = self.items
        for index in self.tracked:
            variants = items[index].variants
            marked = tuple(
                replace(v, reason="sold_out")
                if v.reason is None and stock.get(v.pos["variant_id"], Decimal(0)) <= 0 else v
                for v in variants)
            if marked != variants:
                items[index] = replace(items[index], variants=marked)
        warnings = []
        if self.variable:
            more = f" and {len(self.variable) - 5} more" if len(self.variable) > 5 else ""
            warnings.append(f"{len(self.variable)} variant(s) have VARIABLE pricing and cannot "
                            f"be ordered online: {', '.join(self.variable[:5])}{more}; give them "
                            "a fixed price in the Loyverse back office")
        return Catalog(provider="loyverse", currency=self.currency, items=tuple(items)), warnings

    def _modifier(self, modifier_id: str, rates: tuple[Decimal, ...]) -> CatalogModifier:
        # Thousands of items share a few modifiers: build each (with its taxes) once.
        key = (modifier_id, rates)
        found = self._modifier_cache.get(key)
        if found is None:
            found = self._modifier_cache[key] = _modifier(
                self.modifiers[modifier_id], self.store_id, list(rates), self.currency,
                self.places)
        return found


def _modifier(modifier: dict, store_id: str, rates: list[Decimal], currency: str,
              places: int) -> CatalogModifier:
    offered = not modifier.get("stores") or store_id in modifier["stores"]
    options = sorted(live(modifier.get("modifier_options") or []),
                     key=lambda o: o.get("position") or 0)
    return CatalogModifier(
        name=modifier.get("name") or "", pos={"modifier_id": modifier["id"]},
        options=tuple(
            CatalogOption(
                name=o.get("name") or "",
                price=add_taxes(minor(o.get("price") or 0, currency, places,
                                      f"modifier {modifier.get('name')}: {o.get('name')}"), rates),
                pos={"modifier_option_id": o["id"]}, available=offered)
            for o in options))
