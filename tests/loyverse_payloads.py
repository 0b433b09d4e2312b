"""Loyverse API payloads for ``responses`` tests, shaped like the official OpenAPI document's
schemas and examples (public copy: imtayyab2/loyverse-mcp ``docs/loyverse-openapi.yaml``;
summarized in shared/pos-api-notes/loyverse.md). Each builder cites its section.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from hugo_pos.config import Location, PosConfig
from hugo_pos.providers.base import PosLine, PosLineModifier, PosOrder, ProviderContext
from hugo_pos.providers.loyverse import LoyverseProvider

API = "https://api.loyverse.com/v1.0"
STORE = "42dc2cec-6f40-11ea-bde9-1269e7c5a22d"      # store_id of the spec's receipt example
OTHER_STORE = "c3930770-0b2b-11ef-9b9e-0242ac120002"
PAYMENT_TYPE = "42dd2a55-6f40-11ea-bde9-1269e7c5a22d"  # the spec's "Cash" payment type id
_ids = itertools.count(1)


def uid() -> str:
    """A fresh UUID string (ids are uuids in the spec)."""
    return str(uuid.UUID(int=next(_ids)))


def merchant(code: str = "TTD", places: int = 2) -> dict:
    """``GET /merchant/`` (schema MerchantProfile; notes §4 Merchant)."""
    return {"id": "5fk4f446-01d2-8787-4fd5-7b7b1995df85", "business_name": "OMG Sushi",
            "email": "owner@example.com", "country": "TT",
            "currency": {"code": code, "decimal_places": places},
            "created_at": "2020-06-04T15:44:20.020Z"}


def store(store_id: str = STORE, name: str = "Ariapita Avenue") -> dict:
    """A store as served live (schema Store with erratum 2: region/country_code; notes §4)."""
    return {"id": store_id, "name": name, "address": "Ariapita Ave", "city": "Port of Spain",
            "region": None, "postal_code": None, "country_code": "TT", "phone_number": None,
            "description": None, "created_at": "2020-03-25T19:55:23.077Z",
            "updated_at": "2020-03-30T08:05:10.020Z", "deleted_at": None}


def category(name: str, cid: str | None = None) -> dict:
    """A category (the spec's ``GET /categories`` example; 5 live keys, notes §4)."""
    return {"id": cid or uid(), "name": name, "color": "ORANGE",
            "created_at": "2020-06-01T10:55:48.048Z", "deleted_at": None}


def tax(rate: str, kind: str = "ADDED", stores: tuple[str, ...] = (STORE,)) -> dict:
    """A tax (schema Tax: ``rate`` 5.255 means 5.255 %; notes §4)."""
    return {"id": uid(), "type": kind, "name": f"VAT {rate}", "rate": float(rate),
            "stores": list(stores), "created_at": "2020-03-25T19:55:23.077Z",
            "updated_at": "2020-03-30T08:05:10.020Z", "deleted_at": None}


def modifier(name: str, options: list[tuple[str, float]], stores=(STORE,)) -> dict:
    """A modifier with options (schemas Modifier, Modifier_option; notes §4)."""
    return {"id": uid(), "name": name, "position": 1, "stores": list(stores),
            "modifier_options": [{"id": uid(), "name": n, "price": p, "position": i,
                                  "created_at": "2020-03-25T19:55:23.077Z",
                                  "updated_at": "2020-03-25T19:55:23.077Z", "deleted_at": None}
                                 for i, (n, p) in enumerate(options)],
            "created_at": "2020-03-25T19:55:23.077Z", "updated_at": "2020-03-25T19:55:23.077Z",
            "deleted_at": None}


def variant(sku: str, price: float | None, *, stores: list[dict] | None = None,
            option1: str | None = None, item_id: str = "") -> dict:
    """A variant (schema GETVariant, 16 live keys; the PD ``items.update`` capture, notes §3.3).

    ``price=None`` is VARIABLE pricing. ``stores`` defaults to one entry for STORE.
    """
    pricing = "VARIABLE" if price is None else "FIXED"
    return {"variant_id": uid(), "item_id": item_id, "sku": sku, "reference_variant_id": None,
            "option1_value": option1, "option2_value": None, "option3_value": None,
            "barcode": None, "cost": 0, "purchase_cost": 0, "default_pricing_type": pricing,
            "default_price": price,
            "stores": stores if stores is not None else [
                store_entry(STORE, price)],
            "created_at": "2024-03-23T20:08:55.000Z", "updated_at": "2024-03-23T20:11:21.000Z",
            "deleted_at": None}


def store_entry(store_id: str, price: float | None, available: bool = True) -> dict:
    """``variant.stores[]`` (schema store_override; notes §3.2)."""
    return {"store_id": store_id, "pricing_type": "VARIABLE" if price is None else "FIXED",
            "price": price, "available_for_sale": available, "optimal_stock": None,
            "low_stock": 20}


def item(name: str, variants: list[dict], *, category_id: str | None = None,
         track_stock: bool = False, tax_ids: tuple[str, ...] = (),
         modifier_ids: tuple[str, ...] = (), modifier_key: str = "modifier_ids",
         deleted: bool = False) -> dict:
    """An item (schema GETItem; keys as the PD capture, notes §3.3, ``modifier_ids`` live)."""
    item_id = uid()
    for v in variants:
        v["item_id"] = item_id
    return {"id": item_id, "handle": name.lower().replace(" ", "-"), "reference_id": None,
            "item_name": name, "description": None, "track_stock": track_stock,
            "sold_by_weight": False, "is_composite": False, "use_production": False,
            "category_id": category_id, "components": [], "primary_supplier_id": None,
            "tax_ids": list(tax_ids), modifier_key: list(modifier_ids), "form": "SQUARE",
            "color": "GREY", "image_url": None, "option1_name": None, "option2_name": None,
            "option3_name": None, "created_at": "2024-03-23T20:08:55.000Z",
            "updated_at": "2024-03-23T20:11:21.000Z",
            "deleted_at": "2024-03-24T10:00:00.000Z" if deleted else None,
            "variants": variants}


def level(variant_id: str, in_stock: float, store_id: str = STORE) -> dict:
    """An inventory level (schema GETInventory_level; notes §4 Inventory)."""
    return {"variant_id": variant_id, "store_id": store_id, "in_stock": in_stock,
            "updated_at": "2019-08-24T14:15:22Z"}


def errors(code: str, details: str, field: str | None = None) -> dict:
    """An error body (the spec's "Handling errors" section; notes §1.4)."""
    error = {"code": code, "details": details}
    if field:
        error["field"] = field
    return {"errors": [error]}


def location(loc_id: str = "ariapita", settings: dict | None = None) -> Location:
    """A location whose ``pos.loyverse`` reads its secrets from env vars."""
    suffix = loc_id.upper().replace("-", "_")
    pos = PosConfig(name="loyverse", provider="loyverse", enabled=True,
                    settings=settings or {},
                    env_names={"access_token": f"LOYVERSE_ACCESS_TOKEN_{suffix}",
                               "store_id": f"LOYVERSE_STORE_ID_{suffix}",
                               "payment_type_id": f"LOYVERSE_PAYMENT_TYPE_{suffix}"})
    return Location(id=loc_id, name=loc_id.title(), kind="restaurant", whatsapp="+18685550101",
                    timezone="America/Port_of_Spain", hours=None, catalog="loyverse",
                    fulfilment=("pickup",), pos=(pos,))


def provider(loc_id: str = "ariapita", *, store_id: str = STORE, currency: str = "TTD",
             token: str | None = None, api_url: str = API, **extra) -> LoyverseProvider:
    """A LoyverseProvider for one location; each call gets its own token (own throttle)."""
    settings = {"store_id": store_id, "access_token": token or f"tok-{uuid.uuid4().hex}",
                "payment_type_id": PAYMENT_TYPE, "api_url": api_url, "source": "hugo-pos",
                "webhook_secret": None, **extra}
    context = ProviderContext(location=location(loc_id, settings), pos_name="loyverse",
                              currency=currency)
    made = LoyverseProvider(settings, context)
    made.client.sleep = lambda seconds: None
    return made


VAT = "a94d8606-7268-11ea-bde9-1269e7c5a22d"


def order(**changes) -> PosOrder:
    """Two lines: a variant with two modifiers and an ADDED 12.5 % tax, and a plain item."""
    lines = (
        PosLine(variant_id="ROLL-DRAGON-8", name="Dragon Roll (8 pc)", quantity=2,
                unit_price=10800,  # 96.00 + 12.5 % ADDED tax = 108.00
                pos={"item_id": "d5fe0da6", "variant_id": "706e2626-3329-45f8-98d7-0e1dbcbcb9d9",
                     "tax_ids": [VAT], "added_tax_rates": ["12.5"]},
                modifiers=(PosLineModifier(name="Spicy mayo", price=450,
                                           pos={"modifier_id": "m1",
                                                "modifier_option_id": "0a7cdf41"}),
                           PosLineModifier(name="Extra ginger", price=0,
                                           pos={"modifier_id": "m1",
                                                "modifier_option_id": "0a7cdf42"})),
                note="no sesame"),
        PosLine(variant_id="DRINK-SORREL", name="Sorrel", quantity=1, unit_price=1800,
                pos={"loyverse": {"item_id": "2ca3341b",
                                  "variant_id": "06929667-cc44-4bbb-b226-6758285d7033"}}),
    )
    fields = dict(order_id="7K3M-9QXP", uuid="1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                  location="ariapita", currency="TTD", lines=lines, total=2 * (10800 + 450) + 1800,
                  customer_name="Kim Baptiste", customer_phone="+1 868 555 0199",
                  fulfilment="pickup", created_at="2026-11-25T01:02:03Z", note="Ring the bell")
    return PosOrder(**{**fields, **changes})


def receipt(order_id: str = "7K3M-9QXP", number: str = "2-1009", **changes) -> dict:
    """A Receipt (the spec's POST /receipts response example, abridged to our fields)."""
    return {"receipt_number": number, "note": None, "receipt_type": "SALE", "refund_for": None,
            "order": order_id, "created_at": "2026-11-25T01:02:04.044Z",
            "updated_at": "2026-11-25T01:02:04.044Z", "source": "hugo-pos",
            "receipt_date": "2026-11-25T01:02:03Z", "cancelled_at": None, "total_money": 242.0,
            "total_tax": 24.88, "store_id": STORE, "line_items": [], "payments": [], **changes}


def enable_loyverse(site: Path) -> None:
    """Flip Ariapita's loyverse POS on and point it at the fake through an env var."""
    path = site / "data/locations.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("      loyverse:")
    block = text[start:text.index("      odoo:", start)]
    enabled = block.replace("enabled: false", "enabled: true") + \
        "        api_url: \"{{ env `LOYVERSE_API_URL_ARIAPITA` }}\"\n"
    path.write_text(text.replace(block, enabled, 1), encoding="utf-8")
