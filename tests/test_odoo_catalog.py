"""The catalog of one pos.config (unit, responses): category limits, taxes, 16 vs 17+ fields.

Record shapes are what ``read``/``search_read`` return over JSON-RPC (many2one as
``[id, display_name]``, x2many as id lists): pos.config fields from
addons/point_of_sale/models/pos_config.py (16.0: limit_categories, iface_available_categ_ids,
current_session_id, has_active_session), pos.category from models/pos_category.py,
product.product POS fields from models/product.py (16: pos_categ_id m2o; 17+: pos_categ_ids
m2m), account.tax from addons/account/models/account_tax.py (amount_type, price_include,
include_base_amount, children_tax_ids). Notes: ../shared/pos-api-notes/odoo.md §2.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import responses
from odoo_envelopes import JsonRpcServer, version_info
from test_odoo_rpc import make_provider

from hugo_pos.errors import ProviderError

CONFIG = {"id": 3, "name": "Diamond Vale truck", "company_id": [1, "OMG Sushi Ltd"],
          "currency_id": [7, "TTD"], "pricelist_id": [1, "Public Pricelist (TTD)"],
          "limit_categories": True, "iface_available_categ_ids": [10],
          "current_session_id": [42, "POS/00042"], "has_active_session": True}
COMPANY = {"id": 1, "currency_id": [7, "TTD"], "tax_calculation_rounding_method": "round_per_line"}
CURRENCY = {"id": 7, "name": "TTD", "rounding": 0.01}
CATEGORIES = [{"id": 10, "name": "Food", "parent_id": False, "sequence": 1},
              {"id": 11, "name": "Rolls", "parent_id": [10, "Food"], "sequence": 2},
              {"id": 20, "name": "Bar", "parent_id": False, "sequence": 3}]
TAXES = [
    {"id": 5, "name": "VAT 12.5% (included)", "amount": 12.5, "amount_type": "percent",
     "price_include": True, "include_base_amount": False, "sequence": 1, "children_tax_ids": [],
     "company_id": [1, "OMG Sushi Ltd"]},
    {"id": 6, "name": "Service 10%", "amount": 10.0, "amount_type": "percent",
     "price_include": False, "include_base_amount": False, "sequence": 2,
     "children_tax_ids": [], "company_id": [1, "OMG Sushi Ltd"]},
]


def product(pid, tmpl, name, code, price, taxes, categ, major=17, **extra):
    """A product.product search_read row for Odoo ``major``."""
    row = {"id": pid, "name": name, "display_name": name, "product_tmpl_id": [tmpl, name],
           "default_code": code, "lst_price": price, "taxes_id": taxes,
           "description_sale": False, "write_date": "2026-11-20 10:00:00",
           "product_template_attribute_value_ids": []}
    if major <= 16:
        row["pos_categ_id"] = [categ, "Rolls"] if categ else False
    else:
        row["pos_categ_ids"] = [categ] if categ else []
    row["detailed_type" if major <= 17 else "type"] = "consu"
    row.update(extra)
    return row


def table(major: int, products: list[dict], pricelist: list[dict] | None = None) -> dict:
    return {"common.version": version_info(major), "common.authenticate": 2,
            "pos.config.read": [CONFIG], "res.company.read": [COMPANY],
            "res.currency.read": [CURRENCY], "pos.category.search_read": CATEGORIES,
            "product.product.search_read": products,
            "account.tax.search_read": TAXES, "product.pricelist.item.search_read":
            pricelist or [], "product.template.attribute.value.search_read": [],
            "product.attribute.read": []}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def fetch(rsps, major, products, pricelist=None):
    server = JsonRpcServer(rsps, table(major, products, pricelist))
    provider = make_provider()
    provider.clock = lambda: datetime(2026, 11, 25, 12, tzinfo=UTC)
    catalog = provider.fetch_catalog()
    return catalog, server


def variants(catalog):
    return {v.sku: (item, v) for item in catalog.items for v in item.variants}


def test_category_limits_and_price_included_tax(rsps):
    catalog, server = fetch(rsps, 17, [
        product(101, 201, "Dragon Roll", "ROLL-DRAGON", 65.5, [5], 11),
        product(102, 202, "Carib", "BAR-CARIB", 20.0, [5, 6], 20),
        product(103, 203, "Salmon Nigiri", "NIGIRI-SALMON", 17.78, [6], 10)])
    found = variants(catalog)
    dragon_item, dragon = found["ROLL-DRAGON"]
    # included tax: the customer pays the list price
    assert dragon.price == 6550 and dragon.reason is None
    assert dragon.pos == {"product_id": 101, "tax_ids": [5]}
    assert dragon_item.category == "Food / Rolls"
    # Bar is outside iface_available_categ_ids (Food and its children): not for sale here.
    # 20.00 incl. 12.5% -> base 17.78, VAT 2.22, service 10% of 17.78 = 1.78 -> 21.78
    assert found["BAR-CARIB"][1].price == 2178
    assert found["BAR-CARIB"][1].reason == "not_for_sale_here"
    # excluded tax: 17.78 + 1.778 (rounded half-up to 1.78) = 19.56
    assert found["NIGIRI-SALMON"][1].price == 1956
    kwargs = server.kwargs_of("product.product.search_read")
    assert "pos_categ_ids" in kwargs["fields"] and "detailed_type" in kwargs["fields"]
    assert kwargs["domain"] == [["available_in_pos", "=", True], ["sale_ok", "=", True], "|",
                                ["company_id", "=", False], ["company_id", "parent_of", 1]]
    # taxes of other companies are filtered by the query itself
    # 17+: a branch uses its parent companies' products and taxes (_check_company_domain)
    assert server.kwargs_of("account.tax.search_read")["domain"][1] == [
        "company_id", "parent_of", 1]
    # batched: one request per model, never one per product
    keys = [c["key"] for c in server.calls]
    assert keys.count("product.product.search_read") == 1 and len(keys) == 10


def test_odoo_16_uses_pos_categ_id(rsps):
    catalog, server = fetch(rsps, 16, [
        product(101, 201, "Dragon Roll", "ROLL-DRAGON", 65.5, [5], 11, major=16)])
    fields = server.kwargs_of("product.product.search_read")["fields"]
    assert "pos_categ_id" in fields and "pos_categ_ids" not in fields
    assert "detailed_type" in fields
    item, variant = variants(catalog)["ROLL-DRAGON"]
    assert item.category == "Food / Rolls" and variant.reason is None
    # 16 has no branches: a record is the company's own
    assert server.kwargs_of("account.tax.search_read")["domain"][1] == ["company_id", "=", 1]


def test_odoo_18_reads_type_and_combos_are_unsupported(rsps, caplog):
    caplog.set_level(logging.WARNING)
    catalog, server = fetch(rsps, 18, [
        product(104, 204, "Bento Combo", "COMBO-BENTO", 80.0, [5], 10, major=18, type="combo")])
    assert "type" in server.kwargs_of("product.product.search_read")["fields"]
    assert variants(catalog)["COMBO-BENTO"][1].reason == "unsupported"
    assert "'Bento Combo' is a combo product; combos cannot be ordered online" in caplog.text


def test_fixed_price_from_the_configs_pricelist(rsps, caplog):
    # product.pricelist.item fields: addons/product/models/product_pricelist_item.py
    rules = [
        {"id": 1, "applied_on": "1_product", "product_tmpl_id": [201, "Dragon Roll"],
         "product_id": False, "compute_price": "fixed", "fixed_price": 60.0, "percent_price": 0,
         "min_quantity": 0, "date_start": False, "date_end": False},
        {"id": 2, "applied_on": "0_product_variant", "product_tmpl_id": False,
         "product_id": [103, "Salmon Nigiri"], "compute_price": "fixed", "fixed_price": 10.0,
         "percent_price": 0, "min_quantity": 0, "date_start": False,
         "date_end": "2026-01-01 00:00:00"},          # expired: ignored
        {"id": 3, "applied_on": "2_product_category", "product_tmpl_id": False,
         "product_id": False, "compute_price": "formula", "fixed_price": 0, "percent_price": 0,
         "min_quantity": 0, "date_start": False, "date_end": False},
    ]
    caplog.set_level(logging.WARNING)
    catalog, _ = fetch(rsps, 17, [
        product(101, 201, "Dragon Roll", "ROLL-DRAGON", 65.5, [5], 11),
        product(103, 203, "Salmon Nigiri", "NIGIRI-SALMON", 17.78, [6], 10)], rules)
    found = variants(catalog)
    assert found["ROLL-DRAGON"][1].price == 6000
    assert found["NIGIRI-SALMON"][1].price == 1956
    assert "pricelist rule 3 (formula on 2_product_category) is not applied" in caplog.text


def ptav(vid, tmpl, name, attribute, extra=0.0):
    """A product.template.attribute.value row (addons/product/models/
    product_template_attribute_value.py: name, price_extra, attribute_id, ptav_active)."""
    return {"id": vid, "name": name, "price_extra": extra, "attribute_id": attribute,
            "product_tmpl_id": [tmpl, "Template"], "ptav_active": True}


# product.attribute rows (addons/product/models/product_attribute.py: create_variant is
# always / dynamic / no_variant; display_type radio / pills / select / color / multi)
ATTRIBUTES = [{"id": 1, "name": "Size", "create_variant": "always", "display_type": "radio"},
              {"id": 2, "name": "Extras", "create_variant": "no_variant",
               "display_type": "multi"}]


def test_variants_are_grouped_by_template_and_no_variant_attributes_are_modifiers(rsps):
    JsonRpcServer(rsps, {**table(17, [
        product(111, 210, "California Roll", "ROLL-CALIFORNIA-4", 34.5, [5], 11,
                product_template_attribute_value_ids=[901]),
        product(112, 210, "California Roll", "ROLL-CALIFORNIA-8", 62.5, [5], 11,
                product_template_attribute_value_ids=[902]),
        product(113, 211, "Tuna Poke", "POKE-TUNA", 20.0, [5, 6], 10)]),
        "product.template.attribute.value.search_read": [
            ptav(901, 210, "4 pc", [1, "Size"]), ptav(902, 210, "8 pc", [1, "Size"], 28.0),
            ptav(903, 211, "Avocado", [2, "Extras"], 8.0),
            ptav(904, 211, "Tobiko", [2, "Extras"], 0.0)],
        "product.attribute.read": ATTRIBUTES})
    catalog = make_provider().fetch_catalog()
    roll, poke = catalog.items
    assert [(v.sku, v.name, v.price) for v in roll.variants] == [
        ("ROLL-CALIFORNIA-4", "4 pc", 3450), ("ROLL-CALIFORNIA-8", "8 pc", 6250)]
    assert roll.modifiers == ()
    [extras] = poke.modifiers
    # 8.00 incl. 12.5% -> 7.11 base + 10% service (0.711 -> 0.71) = 8.71
    assert extras.name == "Extras" and extras.pos == {"attribute_id": 2}
    assert [(o.name, o.price, o.pos) for o in extras.options] == [
        ("Avocado", 871, {"ptav_id": 903}), ("Tobiko", 0, {"ptav_id": 904})]


def test_config_of_another_company_is_refused(rsps):
    JsonRpcServer(rsps, {**table(17, []),
                         "pos.config.read": [{**CONFIG, "company_id": [2, "Other Ltd"]}]})
    with pytest.raises(ProviderError) as info:
        make_provider().fetch_catalog()
    assert info.value.message == ("Odoo (location diamond-vale): pos.config 3 belongs to "
                                  "company 2, not to company_id 1")
    assert info.value.hint == "set company_id to 2 in data/locations.yaml"
