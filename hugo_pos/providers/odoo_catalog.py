"""Read what one Odoo ``pos.config`` sells, in a handful of batched requests (odoo.md §2.6).

1. ``pos.config.read`` (pricelist, category limits, session), ``res.company.read`` (currency,
   tax rounding method), ``res.currency.read`` (rounding);
2. ``pos.category.search_read`` (the whole tree, flattened to ``Parent / Child`` names);
3. ``product.product.search_read`` of ``available_in_pos`` + ``sale_ok`` products of the company
   (``pos_categ_id`` on 16, ``pos_categ_ids`` on 17+; ``detailed_type`` on 16/17, ``type`` 18+);
4. ``account.tax.search_read`` of the company's taxes among those products' ``taxes_id``;
5. ``product.template.attribute.value.search_read`` + ``product.attribute.read``: variant names,
   and the attributes that create no variant (picked at sale time with a ``price_extra``),
   which are Odoo's modifiers;
6. ``product.pricelist.item.search_read`` of the config's pricelist.

Never a request per product. Products outside the config's category limits stay in the catalog
with reason ``not_for_sale_here``; combo products with ``unsupported``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from hugo_pos.catalog import (
    Catalog,
    CatalogItem,
    CatalogModifier,
    CatalogOption,
    CatalogVariant,
)
from hugo_pos.errors import ProviderError
from hugo_pos.money import to_minor
from hugo_pos.providers.odoo_rpc import OdooRpc, m2o_id
from hugo_pos.providers.odoo_taxes import Tax, price_with_taxes

log = logging.getLogger(__name__)

# The states of a pos.session that takes orders (closing_control sends them to a rescue session)
OPEN_SESSION_STATES = ("opening_control", "opened")
CONFIG_FIELDS = ["name", "company_id", "currency_id", "pricelist_id", "limit_categories",
                 "iface_available_categ_ids", "current_session_id", "has_active_session",
                 "current_session_state"]
PRICELIST_FIELDS = ["applied_on", "product_tmpl_id", "product_id", "compute_price",
                    "fixed_price", "percent_price", "min_quantity", "date_start", "date_end"]
TAX_FIELDS = ["name", "amount", "amount_type", "price_include", "include_base_amount",
              "sequence", "children_tax_ids", "company_id"]


@dataclass(frozen=True)
class PosSetup:
    """The facts about a pos.config that the catalog and orders need."""

    config: dict[str, Any]
    currency: str
    rounding: Decimal
    round_globally: bool

    @property
    def session_id(self) -> int | None:
        """The open session's id, or None when the POS is closed or being closed.

        ``has_active_session`` is true for a session in ``closing_control`` too
        (pos.config._compute_current_session), and 16/17 move an order sent to it into a
        rescue session the till does not show: the session's own state decides.
        """
        if not self.config.get("has_active_session") or self.config.get(
                "current_session_state") not in OPEN_SESSION_STATES:
            return None
        return m2o_id(self.config.get("current_session_id"))

    @property
    def pricelist_id(self) -> int | None:
        """The config's default pricelist."""
        return m2o_id(self.config.get("pricelist_id"))


def category_field(major: int) -> str:
    """The product's POS category field: ``pos_categ_id`` (16) or ``pos_categ_ids`` (17+)."""
    return "pos_categ_id" if major <= 16 else "pos_categ_ids"


def type_field(major: int) -> str:
    """The product type field: ``detailed_type`` (16/17) or ``type`` (18+)."""
    return "detailed_type" if major <= 17 else "type"


def read_setup(rpc: OdooRpc, config_id: int, expected_currency: str,
               known: PosSetup | None = None) -> PosSetup:
    """Read the pos.config, its company's tax rounding method and its currency rounding.

    With ``known`` (an earlier result) only the config is read again: its session changes,
    the company's currency and rounding method do not.
    """
    configs = rpc.call("pos.config", "read", [config_id], fields=CONFIG_FIELDS)
    if not configs:
        raise ProviderError(f"{rpc.label}: pos.config {config_id} not found",
                            "check pos_config_id in data/locations.yaml (Point of Sale > "
                            "Configuration > Point of Sales, the id in the URL)")
    config = configs[0]
    company_id = m2o_id(config.get("company_id"))
    if company_id != rpc.company_id:
        raise ProviderError(
            f"{rpc.label}: pos.config {config_id} belongs to company {company_id}, "
            f"not to company_id {rpc.company_id}",
            f"set company_id to {company_id} in data/locations.yaml")
    if known is not None:
        return PosSetup(config=config, currency=known.currency, rounding=known.rounding,
                        round_globally=known.round_globally)
    company = rpc.call("res.company", "read", [company_id],
                       fields=["currency_id", "tax_calculation_rounding_method"])[0]
    currency_id = m2o_id(config.get("currency_id")) or m2o_id(company.get("currency_id"))
    currency = rpc.call("res.currency", "read", [currency_id], fields=["name", "rounding"])[0]
    if currency["name"] != expected_currency:
        raise ProviderError(
            f"{rpc.label}: the POS sells in {currency['name']}, the site in {expected_currency}",
            "set `currency` in data/locations.yaml to the currency of the Odoo company")
    return PosSetup(config=config, currency=currency["name"],
                    rounding=Decimal(str(currency.get("rounding") or "0.01")),
                    round_globally=company.get("tax_calculation_rounding_method")
                    == "round_globally")


def of_company(rpc: OdooRpc) -> tuple[str, str, int]:
    """The domain term of records that belong to our company: from 17 on, a branch uses its
    parent companies' taxes and products too (``models.check_company_domain_parent_of``, as
    fiscal positions and journals declare it in 17+; not checked against a live branch)."""
    return ("company_id", "parent_of" if rpc.major >= 17 else "=", rpc.company_id)


def read_taxes(rpc: OdooRpc, tax_ids: set[int]) -> dict[int, Tax]:
    """Return the company's taxes among ``tax_ids`` (other companies' are dropped, its parent
    companies' kept), groups resolved to their children."""
    if not tax_ids:
        return {}
    records = rpc.call("account.tax", "search_read",
                       domain=[("id", "in", sorted(tax_ids)), of_company(rpc)],
                       fields=TAX_FIELDS)
    by_id = {r["id"]: r for r in records}
    children = {c for r in records for c in r.get("children_tax_ids") or ()} - set(by_id)
    if children:
        by_id.update({r["id"]: r for r in rpc.call("account.tax", "read", sorted(children),
                                                   fields=TAX_FIELDS)})
    return {tid: Tax.from_record(by_id[tid], by_id) for tid in tax_ids if tid in by_id}


class CatalogReader:
    """Reads the catalog of one pos.config; ``now`` dates pricelist rules (UTC, naive)."""

    def __init__(self, rpc: OdooRpc, config_id: int, currency: str, now: datetime) -> None:
        self.rpc = rpc
        self.config_id = config_id
        self.currency = currency
        self.now = now

    def read(self) -> tuple[Catalog, list[dict], PosSetup]:
        """Return the catalog, the raw product records (for images) and the POS setup."""
        rpc, major = self.rpc, self.rpc.major
        setup = read_setup(rpc, self.config_id, self.currency)
        categories = rpc.call("pos.category", "search_read", domain=[],
                              fields=["name", "parent_id", "sequence"])
        names, allowed = _category_tree(categories, setup.config)
        poscat, ptype = category_field(major), type_field(major)
        products = rpc.call(
            "product.product", "search_read",
            domain=[("available_in_pos", "=", True), ("sale_ok", "=", True),
                    "|", ("company_id", "=", False), of_company(rpc)],
            fields=["name", "display_name", "product_tmpl_id", "default_code", "lst_price",
                    "taxes_id", "description_sale", poscat, ptype, "write_date",
                    "product_template_attribute_value_ids"])
        taxes = read_taxes(rpc, {t for p in products for t in p.get("taxes_id") or ()})
        values, attributes = self._attribute_values(
            sorted({m2o_id(p["product_tmpl_id"]) for p in products}))
        variant_names = {vid: v["name"] for vid, v in values.items()}
        rules = self._pricelist_rules(setup.pricelist_id)
        grouped: dict[int, list[dict]] = {}
        for product in products:
            grouped.setdefault(m2o_id(product["product_tmpl_id"]), []).append(product)
        items = []
        for tmpl_id, variants in grouped.items():
            first = variants[0]
            cats = _categories(first.get(poscat))
            reason = None
            if first.get(ptype) == "combo":
                reason = "unsupported"
                log.warning("%s: %r is a combo product; combos cannot be ordered online",
                            rpc.label, first["name"])
            elif allowed is not None and not any(c in allowed for c in cats):
                reason = "not_for_sale_here"
            item_taxes = [taxes[t] for t in sorted(first.get("taxes_id") or ()) if t in taxes]
            items.append(CatalogItem(
                name=first["name"],
                modifiers=self._modifiers(tmpl_id, values, attributes, item_taxes, setup),
                category=names.get(cats[0]) if cats else None,
                description=first.get("description_sale") or None,
                pos={"product_tmpl_id": tmpl_id},
                variants=tuple(self._variant(p, taxes, setup, rules, variant_names, reason,
                                             len(variants) > 1) for p in variants)))
        return Catalog(provider="odoo", currency=self.currency, items=tuple(items)), products, setup

    def _variant(self, product: dict, taxes: dict[int, Tax], setup: PosSetup,
                 rules: list[dict], variant_names: dict[int, str], reason: str | None,
                 several: bool) -> CatalogVariant:
        tax_ids = sorted(t for t in product.get("taxes_id") or () if t in taxes)
        price_unit = self._pricelist_price(product, rules)
        total = price_with_taxes(price_unit, [taxes[t] for t in tax_ids], setup.rounding,
                                 round_globally=setup.round_globally)
        ptav = product.get("product_template_attribute_value_ids") or ()
        name = ", ".join(variant_names[v] for v in ptav if v in variant_names) if several else ""
        return CatalogVariant(
            sku=product.get("default_code") or None, name=name or product["name"],
            price=to_minor(total, self.currency), reason=reason,
            pos={"product_id": product["id"], "tax_ids": tax_ids})

    def _attribute_values(self, tmpl_ids: list) -> tuple[dict[int, dict], dict[int, dict]]:
        """Return the templates' attribute values (``product.template.attribute.value``) and
        their attributes (``product.attribute``: ``create_variant``, ``display_type``)."""
        if not tmpl_ids:
            return {}, {}
        values = self.rpc.call("product.template.attribute.value", "search_read",
                               domain=[("product_tmpl_id", "in", sorted(tmpl_ids))],
                               fields=["name", "price_extra", "attribute_id", "product_tmpl_id",
                                       "ptav_active"])
        values = [v for v in values if v.get("ptav_active", True) is not False]
        attribute_ids = sorted({m2o_id(v.get("attribute_id")) for v in values} - {None})
        attributes = self.rpc.call("product.attribute", "read", attribute_ids,
                                   fields=["name", "create_variant", "display_type"]
                                   ) if attribute_ids else []
        return {v["id"]: v for v in values}, {a["id"]: a for a in attributes}

    def _modifiers(self, tmpl_id: int, values: dict[int, dict], attributes: dict[int, dict],
                   tax_list: list[Tax], setup: PosSetup) -> tuple[CatalogModifier, ...]:
        """Attributes that create no variant are chosen at sale time, with a ``price_extra``:
        Odoo's modifiers. Each becomes a CatalogModifier; option prices include taxes."""
        groups: dict[int, list[dict]] = {}
        for value in values.values():
            attribute = attributes.get(m2o_id(value.get("attribute_id")), {})
            if m2o_id(value["product_tmpl_id"]) == tmpl_id and \
                    attribute.get("create_variant") == "no_variant":
                groups.setdefault(attribute["id"], []).append(value)
        return tuple(
            CatalogModifier(
                name=attributes[aid]["name"], pos={"attribute_id": aid},
                options=tuple(CatalogOption(
                    name=v["name"], pos={"ptav_id": v["id"]},
                    price=to_minor(price_with_taxes(Decimal(str(v.get("price_extra") or 0)),
                                                    tax_list, setup.rounding,
                                                    round_globally=setup.round_globally),
                                   self.currency))
                    for v in sorted(group, key=lambda v: v["id"])))
            for aid, group in groups.items())

    def _pricelist_rules(self, pricelist_id: int | None) -> list[dict]:
        if not pricelist_id:
            return []
        items = self.rpc.call("product.pricelist.item", "search_read",
                              domain=[("pricelist_id", "=", pricelist_id)],
                              fields=PRICELIST_FIELDS)
        rules = []
        for item in items:
            if float(item.get("min_quantity") or 0) > 1 or not _in_dates(item, self.now):
                continue
            supported = (item.get("compute_price") in ("fixed", "percentage")
                         and item.get("applied_on") in ("0_product_variant", "1_product",
                                                        "3_global"))
            if not supported:
                log.warning("%s: pricelist rule %s (%s on %s) is not applied to the menu",
                            self.rpc.label, item["id"], item.get("compute_price"),
                            item.get("applied_on"))
                continue
            rules.append(item)
        # Odoo's product.pricelist.item _order: applied_on, min_quantity desc, categ_id desc, id.
        return sorted(rules, key=lambda r: (r["applied_on"], -float(r.get("min_quantity") or 0),
                                            -r["id"]))

    def _pricelist_price(self, product: dict, rules: list[dict]) -> Decimal:
        price = Decimal(str(product.get("lst_price") or 0))
        tmpl = m2o_id(product["product_tmpl_id"])
        for rule in rules:
            applies = (rule["applied_on"] == "3_global"
                       or (rule["applied_on"] == "1_product"
                           and m2o_id(rule.get("product_tmpl_id")) == tmpl)
                       or (rule["applied_on"] == "0_product_variant"
                           and m2o_id(rule.get("product_id")) == product["id"]))
            if not applies:
                continue
            if rule["compute_price"] == "fixed":
                return Decimal(str(rule.get("fixed_price") or 0))
            return price * (100 - Decimal(str(rule.get("percent_price") or 0))) / 100
        return price


def _categories(value: Any) -> list[int]:
    """POS category ids of a product: ``pos_categ_ids`` list or ``pos_categ_id`` many2one."""
    if isinstance(value, list) and value and isinstance(value[0], int) and len(value) == 2 \
            and isinstance(value[1], str):
        return [value[0]]
    if isinstance(value, list):
        return [int(v) for v in value if isinstance(v, int)]
    cid = m2o_id(value)
    return [cid] if cid else []


def _category_tree(categories: list[dict], config: dict) -> tuple[dict[int, str], set[int] | None]:
    """Return ``{id: "Parent / Child"}`` and the ids the config allows (None: no limit)."""
    by_id = {c["id"]: c for c in categories}

    def full_name(cid: int, depth: int = 0) -> str:
        cat = by_id[cid]
        parent = m2o_id(cat.get("parent_id"))
        if parent in by_id and depth < 20:
            return f"{full_name(parent, depth + 1)} / {cat['name']}"
        return str(cat["name"])

    names = {cid: full_name(cid) for cid in by_id}
    if not config.get("limit_categories") or not config.get("iface_available_categ_ids"):
        return names, None
    allowed = set(config["iface_available_categ_ids"])
    grew = True
    while grew:  # child_of: add descendants until nothing changes
        more = {cid for cid, c in by_id.items() if m2o_id(c.get("parent_id")) in allowed}
        grew = not more <= allowed
        allowed |= more
    return names, allowed


def _in_dates(item: dict, now: datetime) -> bool:
    def parse(value: Any) -> datetime | None:
        return datetime.fromisoformat(str(value)) if value else None

    start, end = parse(item.get("date_start")), parse(item.get("date_end"))
    return (start is None or start <= now) and (end is None or now <= end)
