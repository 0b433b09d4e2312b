"""The fake Loyverse's receipts and webhooks.

``POST /receipts``: validate a PostReceipt body, build a Receipt.

Shapes from the official OpenAPI document (``PostReceipt``, ``Receipt``; notes §5.1, §5.2):
the line ``price`` includes INCLUDED taxes and excludes modifiers and ADDED taxes; ADDED taxes
go on top of (price + modifiers) x quantity; ``line_modifiers[].money_amount`` = price x quantity;
only one payment per receipt. Webhooks: one (type, url) pair each, https only, ``GET`` a bare
array (notes §6.1); payloads are an envelope plus the resource array, signed with HMAC-SHA1
hex of the raw body (§6.2, §6.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loyverse import FakeLoyverse

WEBHOOK_TYPES = ("inventory_levels.update", "items.update", "customers.update",
                 "receipts.update", "shifts.create")


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


def receipts_answer(fake: FakeLoyverse, parts: list[str], args) -> Any:
    """``GET /receipts[/{number}]`` with the order/store_id/source filters, newest first."""
    if len(parts) == 2:
        found = next((r for r in fake.receipts if r["receipt_number"] == parts[1]), None)
        if not found:
            raise ApiError(404, "NOT_FOUND", "The resource was not found", "receipt_number")
        return found
    rows = list(reversed(fake.receipts))
    for key in ("order", "store_id", "source"):
        if args.get(key):
            rows = [r for r in rows if r.get(key) == args[key]]
    return page("receipts", rows, args)


def save_webhook(fake: FakeLoyverse, body: dict) -> dict:
    """``POST /webhooks/``: create, or update with ``id``; (type, url) unique, https only."""
    for key in ("url", "type"):
        if not body.get(key):
            raise ApiError(400, "MISSING_REQUIRED_PARAMETER", f"{key} is required", key)
    if body["type"] not in WEBHOOK_TYPES:
        raise ApiError(400, "INVALID_VALUE", "Unknown webhook type", "type")
    if not str(body["url"]).startswith("https://"):
        raise ApiError(400, "INVALID_VALUE", "The URL must use HTTPS", "url")
    current = next((w for w in fake.webhooks if w["id"] == body.get("id")), None)
    clash = next((w for w in fake.webhooks if w["type"] == body["type"]
                  and w["url"] == body["url"] and w is not current), None)
    if clash:
        raise ApiError(400, "INVALID_VALUE", "A webhook with this type and url exists",
                       "url")
    if current is None:
        current = {"id": fake._id(), "merchant_id": fake.merchant["id"],
                   "created_at": fake._now()}
        fake.webhooks.append(current)
    current.update(url=body["url"], type=body["type"],
                   status=body.get("status") or "ENABLED", updated_at=fake._now())
    return current


def webhook_body(fake: FakeLoyverse, kind: str, objects: list[dict]) -> bytes:
    """A webhook payload: the envelope plus the array named after the resource (§6.2)."""
    key = {"inventory_levels.update": "inventory_levels", "items.update": "items",
           "receipts.update": "receipts", "customers.update": "customers",
           "shifts.create": "shifts"}[kind]
    return json.dumps({"merchant_id": fake.merchant["id"], "type": kind,
                       "created_at": fake._now(), key: plain(objects)}).encode()


def sign(body: bytes, secret: str) -> str:
    """``X-Loyverse-Signature``: lowercase hex HMAC-SHA1 of the raw body, key = client secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def page(key: str, rows: list[dict], args) -> dict:
    """One page of a list: ``limit`` 1..250 (default 50), opaque ``cursor``, none on the last."""
    raw = args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 250:
        raise ApiError(400, "INVALID_VALUE", "limit must be an integer from 1 to 250", "limit")
    limit, start = int(raw), 0
    if args.get("cursor"):
        try:
            start = int(base64.urlsafe_b64decode(args["cursor"]).decode().removeprefix("o:"))
        except ValueError:
            raise ApiError(400, "INVALID_CURSOR", "The pagination cursor is incorrect",
                           "cursor") from None
    body: dict[str, Any] = {key: rows[start:start + limit]}
    if start + limit < len(rows):
        body["cursor"] = base64.urlsafe_b64encode(f"o:{start + limit}".encode()).decode()
    return body
