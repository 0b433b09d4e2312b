"""Push the site menu into Odoo: product.template records for the location's pos.config.

Matching: a site variant's SKU (``SiteItem.variant_id``, what the build matches on) against
``product.template.default_code`` (archived templates included, and re-activated). Each site
variant with a SKU is one template (an item with variants gives ``Title (Variant)``), named,
priced, described and put in its POS category (created when missing, by name). ``list_price``
is the price that makes Odoo charge the site's tax-included price with the template's taxes
(the company's default sale tax for a new one). Reads are batched; nothing is ever deleted; a
second run right after ``apply`` plans no change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from hugo_pos.catalog import SiteItem
from hugo_pos.money import format_money, minor_units, to_decimal, to_minor
from hugo_pos.providers.base import SyncChange, SyncPlan
from hugo_pos.providers.odoo_catalog import category_field, of_company, read_taxes
from hugo_pos.providers.odoo_rpc import m2o_id
from hugo_pos.providers.odoo_taxes import price_unit_for

if TYPE_CHECKING:
    from hugo_pos.providers.odoo import OdooProvider

log = logging.getLogger(__name__)


@dataclass
class _Step:
    """One planned template write: the change to show and the values to send."""

    change: SyncChange
    template_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    category: str | None = None


def push_items(provider: OdooProvider, items: tuple[SiteItem, ...], apply: bool) -> SyncPlan:
    """Plan (and with ``apply`` execute) the push of ``items`` to the provider's company."""
    rpc, currency = provider.rpc, provider.context.currency
    location = provider.context.location.id
    wanted = [(item, variant) for item in items if item.sold_at(location)
              for variant in item.variants if variant.price is not None
              and (variant.sku or item.sku)]
    poscat = category_field(rpc.major)
    skus = sorted({item.variant_id(variant) for item, variant in wanted})
    templates = rpc.call(
        "product.template", "search_read",
        domain=[("default_code", "in", skus), ("active", "in", [True, False]),
                "|", ("company_id", "=", False), of_company(rpc)],
        fields=["name", "default_code", "list_price", "available_in_pos", "sale_ok",
                "description_sale", "taxes_id", "active", poscat]) if skus else []
    by_sku = {str(t["default_code"]).casefold(): t for t in templates}
    categories = rpc.call("pos.category", "search_read", domain=[], fields=["name"])
    cat_ids = {str(c["name"]).casefold(): c["id"] for c in categories}
    company = rpc.call("res.company", "read", [rpc.company_id],
                       fields=["account_sale_tax_id", "currency_id",
                               "tax_calculation_rounding_method"])[0]
    money = rpc.call("res.currency", "read", [m2o_id(company["currency_id"])],
                     fields=["rounding"])[0]
    rounding = Decimal(str(money.get("rounding") or "0.01"))
    default_tax = m2o_id(company.get("account_sale_tax_id"))
    taxes = read_taxes(rpc, {t for tpl in templates for t in tpl.get("taxes_id") or ()}
                       | ({default_tax} if default_tax else set()))
    globally = company.get("tax_calculation_rounding_method") == "round_globally"

    steps = []
    for item, variant in wanted:
        sku = item.variant_id(variant)
        name = f"{item.title} ({variant.name})" if item.has_variants else item.title
        current = by_sku.get(sku.casefold())
        tax_ids = ([t for t in current.get("taxes_id") or () if t in taxes] if current
                   else [default_tax] if default_tax in taxes else [])
        list_price = price_unit_for(to_decimal(variant.price, currency),
                                    [taxes[t] for t in tax_ids], rounding,
                                    round_globally=globally)
        steps.append(_plan(sku, name, item, list_price, current, cat_ids, poscat, currency))
    missing = sorted({s.category for s in steps if s.category and s.category.casefold()
                      not in cat_ids})
    changes = [SyncChange("create", f"pos.category:{name}", name, {"pos.category": (None, name)})
               for name in missing] + [s.change for s in steps]
    plan = SyncPlan(provider=provider.name, location=location, changes=tuple(changes))
    if not apply or not plan.pending:
        return plan
    if missing:
        created = rpc.call("pos.category", "create", write=True,
                           vals_list=[{"name": name} for name in missing])
        cat_ids.update({name.casefold(): cid for name, cid in zip(missing, _ids(created),
                                                                   strict=True)})
    for step in steps:
        if step.category:
            cid = cat_ids[step.category.casefold()]
            step.values[poscat] = cid if poscat == "pos_categ_id" else [[6, 0, [cid]]]
    creates = [s for s in steps if s.change.action == "create"]
    if creates:
        rpc.call("product.template", "create", write=True,
                 vals_list=[{**s.values, "company_id": rpc.company_id} for s in creates])
    for step in steps:
        if step.change.action == "update":
            rpc.call("product.template", "write", [step.template_id], write=True,
                     vals=step.values)
    log.info("%s: pushed %d new and %d updated product(s)", rpc.label, len(creates),
             sum(s.change.action == "update" for s in steps))
    return SyncPlan(provider=plan.provider, location=location, changes=plan.changes,
                    applied=True)


def _plan(sku: str, name: str, item: SiteItem, list_price: Decimal, current: dict | None,
          cat_ids: dict[str, int], poscat: str, currency: str) -> _Step:
    wanted: dict[str, Any] = {"name": name, "default_code": sku, "list_price": float(list_price),
                              "available_in_pos": True, "sale_ok": True, "active": True,
                              "description_sale": item.description or False}
    shown = _money(list_price, currency)
    if current is None:
        diffs = {"name": (None, name), "list_price": (None, shown), "category": (None,
                                                                                item.category)}
        return _Step(SyncChange("create", sku, name, diffs), values=wanted,
                     category=item.category or None)
    diffs: dict[str, tuple[Any, Any]] = {}
    values: dict[str, Any] = {}
    for key in ("name", "available_in_pos", "sale_ok", "active"):
        if current.get(key) != wanted[key]:
            diffs[key], values[key] = (current.get(key), wanted[key]), wanted[key]
    if _money(Decimal(str(current.get("list_price") or 0)), currency) != shown:
        diffs["list_price"] = (_money(Decimal(str(current.get("list_price") or 0)), currency),
                               shown)
        values["list_price"] = wanted["list_price"]
    if (current.get("description_sale") or "") != (item.description or ""):
        diffs["description_sale"] = (current.get("description_sale") or "", item.description)
        values["description_sale"] = wanted["description_sale"]
    category = None
    have = _category_ids(current.get(poscat))
    cid = cat_ids.get(item.category.casefold()) if item.category else None
    if item.category and (cid is None or cid not in have):
        diffs["category"] = (", ".join(str(h) for h in have) or None, item.category)
        category = item.category
    action = "update" if diffs else "unchanged"
    return _Step(SyncChange(action, sku, name, diffs), template_id=current["id"], values=values,
                 category=category)


def _category_ids(value: Any) -> list[int]:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        return [int(value[0])]
    if isinstance(value, list):
        return [int(v) for v in value]
    cid = m2o_id(value)
    return [cid] if cid else []


def _ids(created: Any) -> list[int]:
    # create answers one id or a list of ids depending on the version and the vals_list size.
    return [created] if isinstance(created, int) else list(created)


def _money(amount: Decimal, currency: str) -> str:
    places = Decimal(1).scaleb(-minor_units(currency))
    return format_money(to_minor(amount.quantize(places, rounding=ROUND_HALF_UP), currency),
                        currency)
