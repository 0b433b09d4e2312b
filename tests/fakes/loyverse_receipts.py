"""The fake Loyverse's ``POST /receipts``: validate a PostReceipt body, build a Receipt.

Shapes from the official OpenAPI document (``PostReceipt``, ``Receipt``; notes §5.1, §5.2):
the line ``price`` includes INCLUDED taxes and excludes modifiers and ADDED taxes; ADDED taxes
go on top of (price + modifiers) x quantity; ``line_modifiers[].money_amount`` = price x quantity;
only one payment per receipt.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loyverse import FakeLoyverse


class ApiError(Exception):
    """An error answer: HTTP status plus one ``errors[]`` entry (notes §1.4)."""

    def __init__(self, status: int, code: str, details: str, field: str | None = None):
        super().__init__(details)
        self.status, self.code, self.details, self.field = status, code, details, field


def money(value: Decimal, places: int) -> Decimal:
    """Round half up to the currency's decimals."""
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimal amounts become JSON numbers with the same decimal text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def create_receipt(fake: FakeLoyverse, body: dict) -> dict:
    """Validate ``body`` against the account and store the resulting SALE receipt."""
    if not body.get("store_id"):
        raise ApiError(400, "MISSING_REQUIRED_PARAMETER", "store_id is required", "store_id")
    if body["store_id"] not in fake.stores:
        raise ApiError(404, "NOT_FOUND", "The resource was not found", "store_id")
    payments = body.get("payments") or []
    if len(payments) > 1:
        raise ApiError(400, "INVALID_VALUE", "Only one payment can be applied to receipt",
                       "payments")
    places = fake.merchant["currency"]["decimal_places"]
    variants = {v["variant_id"]: (item, v) for item in fake.items.values()
                for v in item["variants"] if not v.get("deleted_at")}
    options = {o["id"]: (m, o) for m in fake.modifiers.values() for o in m["modifier_options"]}
    lines, totals = [], {}
    for line in body.get("line_items") or []:
        if line.get("variant_id") not in variants:
            raise ApiError(404, "NOT_FOUND", "The resource was not found", "variant_id")
        item, variant = variants[line["variant_id"]]
        quantity = Decimal(str(line.get("quantity") or 0))
        price = line.get("price")
        if price is None:
            entry = next(s for s in variant["stores"] if s["store_id"] == body["store_id"])
            if entry["pricing_type"] != "FIXED":
                raise ApiError(400, "MISSING_REQUIRED_PARAMETER",
                               "price is required for a variable-priced variant", "price")
            price = entry["price"]
        price = Decimal(str(price))
        modifiers = []
        for chosen in line.get("line_modifiers") or []:
            if chosen.get("modifier_option_id") not in options:
                raise ApiError(404, "NOT_FOUND", "The resource was not found",
                               "modifier_option_id")
            modifier, option = options[chosen["modifier_option_id"]]
            each = Decimal(str(chosen.get("price", option["price"])))
            modifiers.append({"id": fake._id(), "modifier_option_id": option["id"],
                              "name": modifier["name"], "option": option["name"],
                              "price": each, "money_amount": money(each * quantity, places)})
        gross = money((price + sum((m["price"] for m in modifiers), Decimal(0))) * quantity,
                      places)
        line_taxes = []
        for ref in line.get("line_taxes") or []:
            tax = fake.taxes.get(ref.get("id"))
            if tax is None:
                raise ApiError(404, "NOT_FOUND", "The resource was not found", "line_taxes")
            rate = tax["rate"] / 100
            amount = money(gross * rate if tax["type"] == "ADDED" else gross - gross / (1 + rate),
                           places)
            line_taxes.append({"money_amount": amount, "id": tax["id"], "type": tax["type"],
                               "name": tax["name"], "rate": tax["rate"]})
            total = totals.setdefault(tax["id"], {**line_taxes[-1], "money_amount": Decimal(0)})
            total["money_amount"] += amount
        added = sum((t["money_amount"] for t in line_taxes if t["type"] == "ADDED"), Decimal(0))
        lines.append({
            "id": fake._id(), "item_id": item["id"], "variant_id": variant["variant_id"],
            "item_name": item["item_name"], "variant_name": variant.get("option1_value"),
            "sku": variant.get("sku"), "quantity": quantity, "price": price,
            "gross_total_money": gross, "total_money": gross + added, "cost": Decimal(0),
            "cost_total": Decimal(0), "line_note": line.get("line_note"),
            "line_taxes": line_taxes, "total_discount": Decimal(0), "line_discounts": [],
            "line_modifiers": modifiers})
        if item.get("track_stock"):
            key = (variant["variant_id"], body["store_id"])
            fake.inventory[key] = fake.inventory.get(key, Decimal(0)) - quantity
    total_money = sum((line["total_money"] for line in lines), Decimal(0))
    paid = []
    for payment in payments:
        kind = fake.payment_types.get(payment.get("payment_type_id"))
        if kind is None:
            raise ApiError(404, "NOT_FOUND", "The resource was not found", "payment_type_id")
        paid.append({"payment_type_id": kind["id"], "name": kind["name"], "type": kind["type"],
                     "money_amount": total_money, "paid_at": payment.get("paid_at"),
                     "payment_details": None})
    now = fake._now()
    receipt = {
        "receipt_number": f"1-{1001 + len(fake.receipts)}", "note": body.get("note"),
        "receipt_type": "SALE", "refund_for": None, "order": body.get("order"),
        "created_at": now, "updated_at": now, "source": body.get("source") or "Fake app",
        "receipt_date": body.get("receipt_date") or now, "cancelled_at": None,
        "total_money": total_money,
        "total_tax": sum((t["money_amount"] for t in totals.values()), Decimal(0)),
        "points_earned": Decimal(0), "points_deducted": Decimal(0),
        "points_balance": Decimal(0), "total_discount": Decimal(0),
        "store_id": body["store_id"], "employee_id": None, "pos_device_id": None,
        "customer_id": body.get("customer_id"), "dining_option": None, "total_discounts": [],
        "total_taxes": list(totals.values()), "tip": Decimal(0), "surcharge": Decimal(0),
        "line_items": lines, "payments": paid}
    fake.receipts.append(receipt)
    return receipt
