"""Push the site menu into Loyverse: plan item creates/updates, then (with ``apply``) do them.

Matching: a site variant's SKU (``SiteItem.variant_id``, the key the build matches on) against
Loyverse variant ``sku``. Fields pushed: name, description, category, variants (sku, price and
availability at this location's store) and ``modifier_ids`` (modifiers matched by name, created
when missing). Items are created or updated with ``POST /items`` (with ``id`` = update; notes
§1.4, §3). Nothing is ever deleted, and a second run right after ``apply`` plans no change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hugo_pos.catalog import SiteItem
from hugo_pos.money import format_money, to_decimal
from hugo_pos.providers.base import SyncChange, SyncPlan
from hugo_pos.providers.loyverse_catalog import (
    Account,
    item_taxes,
    live,
    minor,
    modifier_ids,
    pull_account,
    remove_taxes,
    store_price,
)
from hugo_pos.providers.loyverse_modifiers import ModifierBook

if TYPE_CHECKING:
    from hugo_pos.providers.loyverse import LoyverseProvider

log = logging.getLogger(__name__)

READ_ONLY_ITEM = ("handle", "image_url", "created_at", "updated_at", "deleted_at", "variants",
                  "modifiers_ids")
READ_ONLY_VARIANT = ("created_at", "updated_at", "deleted_at")
OPTION_NAME = "Variant"  # option1_name of items created with several variants


@dataclass
class _Step:
    """One planned item write: the change to show and the body to POST."""

    change: SyncChange
    body: dict[str, Any] = field(default_factory=dict)
    category: str | None = None           # category name to resolve to an id when applying
    modifiers: tuple[str, ...] = ()       # site modifier group names to resolve to ids


def push(provider: LoyverseProvider, items: tuple[SiteItem, ...], apply: bool) -> SyncPlan:
    """Plan (and with ``apply`` execute) the push of ``items`` to the provider's store."""
    client = provider.client
    account = pull_account(client, ())  # the catalog lists in parallel; no inventory
    steps = plan_steps(account, items, provider.store_id)
    plan = SyncPlan(provider="loyverse", location=provider.context.location.id,
                    changes=tuple(s.change for s in steps))
    if not apply or not plan.pending:
        return plan
    categories = {c["name"].casefold(): c["id"] for c in live(account.categories)}
    book = ModifierBook(account, items)
    for step in steps:
        if step.change.action == "unchanged":
            continue
        if step.category and step.category.casefold() not in categories:
            created = client.json_of(client.request("POST", "categories",
                                                    json={"name": step.category[:64]}))
            categories[step.category.casefold()] = created["id"]
        if step.category:
            step.body["category_id"] = categories[step.category.casefold()]
        for name in step.modifiers:
            modifier_id = book.ensure(client, name, _jsonable)
            if modifier_id not in step.body["modifier_ids"]:
                step.body["modifier_ids"].append(modifier_id)
        # Live Loyverse reads modifier_ids and ignores the spec's modifiers_ids (notes §3.1,
        # erratum 1); both are sent, so that an API that follows the spec attaches them too.
        body = {**step.body, "modifiers_ids": step.body["modifier_ids"]}
        client.request("POST", "items", json=_jsonable(body))
        log.info("loyverse: %s %s", step.change.action, step.change.key)
    return SyncPlan(provider=plan.provider, location=plan.location, changes=plan.changes,
                    applied=True)


def plan_steps(account: Account, items: tuple[SiteItem, ...], store_id: str) -> list[_Step]:
    """Compare the site items with the account and return one step per site item."""
    by_sku: dict[str, tuple[dict, dict]] = {}
    for item in live(account.items):
        for variant in live(item.get("variants") or []):
            if variant.get("sku"):
                by_sku.setdefault(str(variant["sku"]).casefold(), (item, variant))
    categories = {c["id"]: c.get("name") for c in live(account.categories)}
    book = ModifierBook(account, items)
    taxes = {t["id"]: t for t in account.taxes}
    steps = []
    for site in items:
        matches = [by_sku[k][0] for v in site.variants
                   if (k := site.variant_id(v).casefold()) in by_sku]
        if matches:
            steps.append(_update(site, matches[0], store_id, account, categories, book, taxes))
        else:
            steps.append(_create(site, store_id, account, book))
    return steps


def _create(site: SiteItem, store_id: str, account: Account, book: ModifierBook) -> _Step:
    diffs: dict[str, tuple[Any, Any]] = {"name": (None, site.title)}
    body: dict[str, Any] = {"item_name": site.title[:64], "track_stock": False,
                            "modifier_ids": []}
    if site.description:
        body["description"] = site.description
        diffs["description"] = (None, _short(site.description))
    if site.category:
        diffs["category"] = (None, site.category)
    if site.has_variants:
        body["option1_name"] = OPTION_NAME
    body["variants"] = []
    for variant in site.variants:
        sku = site.variant_id(variant)
        entry: dict[str, Any] = {"sku": sku, "default_pricing_type": "VARIABLE",
                                 "default_price": None}
        if site.has_variants:
            entry["option1_value"] = variant.name[:20]
        price = None
        if variant.price is not None:
            price = to_decimal(variant.price, account.currency, places=account.places)
            entry.update(default_pricing_type="FIXED", default_price=price)
        entry["stores"] = [{"store_id": store_id, "pricing_type": entry["default_pricing_type"],
                            "price": price, "available_for_sale": True}]
        body["variants"].append(entry)
        diffs[f"price[{sku}]"] = (None, _money(variant.price, account))
    diffs.update(book.diffs(site, []))
    return _Step(SyncChange("create", site.key, site.title, diffs), body,
                 category=site.category or None, modifiers=tuple(g.name for g in site.modifiers))


def _update(site: SiteItem, item: dict, store_id: str, account: Account,
            categories: dict[str, str], book: ModifierBook, taxes: dict[str, dict]) -> _Step:
    diffs: dict[str, tuple[Any, Any]] = {}
    body = {k: v for k, v in item.items() if k not in READ_ONLY_ITEM}
    body["modifier_ids"] = modifier_ids(item)
    if item.get("item_name") != site.title[:64]:
        diffs["name"] = (item.get("item_name"), site.title)
        body["item_name"] = site.title[:64]
    if site.description and (item.get("description") or "") != site.description:
        diffs["description"] = (_short(item.get("description") or ""), _short(site.description))
        body["description"] = site.description
    category = None
    current = categories.get(item.get("category_id"))
    if site.category and (current or "").casefold() != site.category.casefold():
        diffs["category"] = (current, site.category)
        category = site.category
    rates = [Decimal(str(t.get("rate") or 0)) for t in item_taxes(item, taxes, store_id)
             if t.get("type") == "ADDED"]
    variants = {str(v.get("sku") or "").casefold(): v for v in live(item.get("variants") or [])}
    out = [{k: v for k, v in variant.items() if k not in READ_ONLY_VARIANT}
           for variant in live(item.get("variants") or [])]
    for site_variant in site.variants:
        sku = site.variant_id(site_variant)
        current_variant = variants.get(sku.casefold())
        target = None if site_variant.price is None else to_decimal(
            remove_taxes(site_variant.price, rates), account.currency, places=account.places)
        if current_variant is None:
            entry = {"sku": sku, "option1_value": site_variant.name[:20] if item.get(
                "option1_name") else None, "default_pricing_type": "FIXED" if target is not None
                     else "VARIABLE", "default_price": target,
                     "stores": [_store_entry({}, store_id, target)]}
            out.append(entry)
            diffs[f"variant[{sku}]"] = (None, _money(site_variant.price, account))
            continue
        at_store = store_price(current_variant, store_id)
        entry = next(v for v in out if v.get("variant_id") == current_variant["variant_id"])
        price_changed = target is not None and (
            at_store.price is None or Decimal(at_store.price) != target)
        if price_changed:
            shown = ("VARIABLE" if at_store.price is None else
                     _money(minor(at_store.price, account.currency, account.places, sku), account,
                            rates))
            diffs[f"price[{sku}]"] = (shown, _money(site_variant.price, account))
        if not at_store.available:
            diffs[f"available[{sku}]"] = (False, True)
        if price_changed or not at_store.available:
            stores = [dict(s) for s in entry.get("stores") or []]
            old = next((s for s in stores if s.get("store_id") == store_id), None)
            new = _store_entry(old or {}, store_id, target if price_changed else None)
            entry["stores"] = [new if s is old else s for s in stores] + ([] if old else [new])
    body["variants"] = out
    diffs.update(book.diffs(site, body["modifier_ids"]))
    action = "update" if diffs else "unchanged"
    return _Step(SyncChange(action, site.key, site.title, diffs), body, category=category,
                 modifiers=tuple(g.name for g in site.modifiers))


def _store_entry(old: dict, store_id: str, price: Decimal | None) -> dict:
    entry = {**old, "store_id": store_id, "available_for_sale": True}
    if price is not None:
        entry.update(pricing_type="FIXED", price=price)
    return entry


def _money(amount: int | None, account: Account, rates: list[Decimal] | None = None) -> str:
    """Show an amount as the customer sees it (``TTD 65.00``), or ``no price``."""
    if amount is None:
        return "no price"
    from hugo_pos.providers.loyverse_catalog import add_taxes

    return format_money(add_taxes(amount, rates or []), account.currency)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:39] + "…"


def _jsonable(value: Any) -> Any:
    """Replace Decimals (amounts and stock levels read from the API) with exact JSON numbers."""
    from hugo_pos.providers.loyverse import json_number

    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
