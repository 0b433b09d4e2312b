"""Validate and price an order (DESIGN §6). Pure functions: no I/O, no clock of their own.

``parse_order`` checks the body's shape (400s); ``price_order`` checks it against a location's
menu, hours and live availability (404/409/422s) and prices every line from the menu in integer
minor units; the browser's numbers are never trusted. Every refusal is an ``OrderRejected``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from hugo_pos.config import FULFILMENTS, Location
from hugo_pos.errors import OrderRejected
from hugo_pos.hours import is_open
from hugo_pos.money import format_money
from hugo_pos.providers.base import PosLine, PosLineModifier, PosOrder
from hugo_pos.relay.menu import LocationIndex

MAX_LINES = 100
MAX_QUANTITY = 99
MAX_NOTE = 500
MAX_WHATSAPP_URL = 2000
# 7 to 15 digits, with the usual separators (the same pattern as openapi.yaml's).
PHONE_PATTERN = r"^\+?(?:[ ()./-]*[0-9]){7,15}[ ()./-]*$"
# Blank as JSON Schema's (ECMA-262) ``\s`` understands it, so that the API and its OpenAPI
# document (pattern ``\S``) agree on which names are empty.
_BLANK = re.compile(r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*")


@dataclass(frozen=True)
class RequestLine:
    """One line as the customer asked for it: a variant id, a quantity, option ids, a note."""

    id: str
    quantity: int
    modifiers: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class OrderRequest:
    """A ``POST /v1/orders`` body whose shape is valid."""

    location: str
    lines: tuple[RequestLine, ...]
    customer_name: str
    customer_phone: str
    customer_address: str
    fulfilment: str | None
    note: str = ""
    menu_version: str | None = None
    expected_total: int | None = None


@dataclass(frozen=True)
class PricedLine:
    """A line priced from the menu; ``pos`` holds the variant's ids per POS name."""

    variant_id: str
    item: str
    name: str
    quantity: int
    unit_price: int
    modifiers: tuple[tuple[str, str, int, dict], ...]
    note: str
    pos: dict

    @cached_property
    def total(self) -> int:
        """(unit price + options) x quantity."""
        return (self.unit_price + sum(m[2] for m in self.modifiers)) * self.quantity

    def to_json(self) -> dict:
        """The line as the API shows it."""
        return {"id": self.variant_id, "item": self.item, "name": self.name,
                "quantity": self.quantity, "unit_price": self.unit_price,
                "modifiers": [{"id": i, "name": n, "price": p} for i, n, p, _ in self.modifiers],
                "note": self.note, "total": self.total}


@dataclass(frozen=True)
class PricedOrder:
    """An order that passed every check, with its lines and total in minor units."""

    request: OrderRequest
    fulfilment: str
    lines: tuple[PricedLine, ...]
    currency: str

    @cached_property
    def total(self) -> int:
        """The sum of the lines."""
        return sum(line.total for line in self.lines)


def _invalid(field: str, message: str) -> OrderRejected:
    return OrderRejected("invalid", message, field, 400)


def _text(data: Mapping, key: str, field: str, *, required: bool = False, limit: int = MAX_NOTE
          ) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _invalid(field, f"{field} is required")
        return ""
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be a string")
    if len(value) > limit:
        raise _invalid(field, f"{field} is longer than {limit} characters")
    if required and _BLANK.fullmatch(value):
        raise _invalid(field, f"{field} must not be empty")
    return value.strip()


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_order(data: Any) -> OrderRequest:
    """Check the shape of a decoded order body; raise ``OrderRejected`` (400) naming the field."""
    if not isinstance(data, dict):
        raise _invalid("body", "the body must be a JSON object")
    location = _text(data, "location", "location", required=True, limit=64)
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise _invalid("items", "items must be a non-empty list")
    if len(items) > MAX_LINES:
        raise _invalid("items", f"an order has at most {MAX_LINES} lines")
    lines = tuple(_parse_line(item, f"items[{i}]") for i, item in enumerate(items))
    customer = data.get("customer")
    if not isinstance(customer, dict):
        raise _invalid("customer", "customer must be an object with name and phone")
    phone = _text(customer, "phone", "customer.phone", required=True, limit=40)
    if not re.search(PHONE_PATTERN, customer["phone"]):
        raise _invalid("customer.phone", "customer.phone must be a phone number (7-15 digits)")
    fulfilment = data.get("fulfilment")
    if fulfilment is not None and fulfilment not in FULFILMENTS:
        raise _invalid("fulfilment", f"fulfilment must be one of {', '.join(FULFILMENTS)}")
    address = _text(customer, "address", "customer.address", limit=300)
    if fulfilment == "delivery" and not address:
        raise _invalid("customer.address", "customer.address is required for delivery")
    version = data.get("menu_version")
    if version is not None and (not isinstance(version, str) or len(version) > 64):
        raise _invalid("menu_version", "menu_version must be a string")
    expected = data.get("expected_total")
    if isinstance(expected, dict):
        expected = expected.get("amount", "")
    if expected is not None and (not _count(expected) or expected < 0):
        raise _invalid("expected_total", "expected_total must be a whole number of minor units")
    return OrderRequest(
        location=location, lines=lines,
        customer_name=_text(customer, "name", "customer.name", required=True, limit=100),
        customer_phone=phone, customer_address=address, fulfilment=fulfilment,
        note=_text(data, "note", "note"), menu_version=version, expected_total=expected)


def _parse_line(item: Any, field: str) -> RequestLine:
    if not isinstance(item, dict):
        raise _invalid(field, f"{field} must be an object with id and quantity")
    variant = _text(item, "id", f"{field}.id", required=True, limit=200)
    quantity = item.get("quantity")
    if not _count(quantity) or not 1 <= quantity <= MAX_QUANTITY:
        raise _invalid(f"{field}.quantity",
                       f"{field}.quantity must be a whole number from 1 to {MAX_QUANTITY}")
    modifiers = item.get("modifiers", [])
    if modifiers is None:
        modifiers = []
    if not isinstance(modifiers, list) or not all(isinstance(m, str) for m in modifiers):
        raise _invalid(f"{field}.modifiers", f"{field}.modifiers must be a list of option ids")
    if len(modifiers) > 50:
        raise _invalid(f"{field}.modifiers", f"{field}.modifiers has more than 50 options")
    return RequestLine(variant, quantity, tuple(modifiers), _text(item, "note", f"{field}.note",
                                                                   limit=200))


def price_order(request: OrderRequest, index: LocationIndex, location: Location, *,
                currency: str, when: datetime, live: Mapping[str, bool] | None = None,
                menu_version: str | None = None) -> PricedOrder:
    """Check ``request`` against the location's menu and hours and price it.

    ``live`` is the live availability reported by POS webhooks (``{variant_id: available}``).
    ``when`` is the aware time of the order (opening hours are checked in the location's
    timezone). An ``expected_total`` that differs from the price is a 409 ``price_changed``
    carrying the current lines and total, and ``menu_version``, the menu they come from.
    """
    fulfilment = request.fulfilment or location.fulfilment[0]
    if fulfilment not in location.fulfilment:
        raise OrderRejected("unavailable", f"{location.name} does not offer {fulfilment}",
                            "fulfilment", 422, {"offered": list(location.fulfilment)})
    if not is_open(location.hours, location.timezone, when):
        raise OrderRejected("closed", f"{location.name} is closed now; online ordering opens "
                            "again during opening hours", "location", 422)
    live = live or {}
    lines = tuple(_price_line(line, f"items[{i}]", index, live)
                  for i, line in enumerate(request.lines))
    priced = PricedOrder(request, fulfilment, lines, currency)
    if request.expected_total is not None and request.expected_total != priced.total:
        raise OrderRejected(
            "price_changed",
            f"prices changed: the total is now {format_money(priced.total, currency)}",
            "expected_total", 409,
            {"lines": [line.to_json() for line in lines],
             "total": {"amount": priced.total, "currency": currency},
             "menu_version": menu_version})
    return priced


def _price_line(line: RequestLine, field: str, index: LocationIndex,
                live: Mapping[str, bool]) -> PricedLine:
    found = index.variants.get(line.id)
    if found is None:
        raise OrderRejected("unknown_item", f"{line.id!r} is not on this location's menu",
                            f"{field}.id", 422)
    item, variant = found
    reason = _unavailable(variant.available, variant.reason, live.get(variant.id))
    if reason is None and variant.price is None:
        reason = "variable_price"
    if reason:
        raise OrderRejected("unavailable", f"{_line_name(item, variant)} is not available "
                            f"({reason})", f"{field}.id", 422, {"reason": reason})
    options = {o.id: (g, o) for g in item.modifier_groups for o in g.options}
    chosen: dict[str, int] = {}
    modifiers = []
    for j, option_id in enumerate(line.modifiers):
        where = f"{field}.modifiers[{j}]"
        if option_id not in options:
            raise OrderRejected("invalid_modifiers", f"{option_id!r} is not an option of "
                                f"{item.name}", where, 422)
        if any(m[0] == option_id for m in modifiers):
            raise OrderRejected("invalid_modifiers", f"{option_id!r} is chosen twice", where, 422)
        group, option = options[option_id]
        if _unavailable(option.available, "sold_out", live.get(option.id)):
            raise OrderRejected("unavailable", f"{option.name} is not available", where, 422,
                                {"reason": "sold_out"})
        chosen[group.id] = chosen.get(group.id, 0) + 1
        modifiers.append((option.id, option.name, option.price, option.pos))
    for group in item.modifier_groups:
        count = chosen.get(group.id, 0)
        if not group.min <= count <= group.max:
            raise OrderRejected(
                "invalid_modifiers", f"{item.name}: choose {_between(group.min, group.max)} "
                f"from {group.name} (got {count})", f"{field}.modifiers", 422)
    return PricedLine(variant.id, item.key, _line_name(item, variant), line.quantity,
                      variant.price, tuple(modifiers), line.note, variant.pos)


def _unavailable(available: bool, reason: str | None, live: bool | None) -> str | None:
    if live is False:
        return "sold_out"
    if available or (live is True and reason == "sold_out"):
        return None
    return reason or "sold_out"


def _between(low: int, high: int) -> str:
    return f"exactly {low}" if low == high else f"between {low} and {high}"


def _line_name(item, variant) -> str:
    return item.name if len(item.variants) == 1 or variant.name == item.name \
        else f"{item.name} ({variant.name})"


def stored_order(priced: PricedOrder, *, order_id: str, uuid: str, created_at: str,
                 whatsapp: str, status_url: str) -> dict:
    """The order as the store keeps it (JSON): lines with every POS's ids, customer, details."""
    request = priced.request
    return {
        "order_id": order_id, "uuid": uuid, "created_at": created_at,
        "location": request.location, "currency": priced.currency, "total": priced.total,
        "fulfilment": priced.fulfilment, "note": request.note,
        "menu_version": request.menu_version,
        "customer": {"name": request.customer_name, "phone": request.customer_phone,
                     "address": request.customer_address},
        "lines": [dict(line.to_json(), pos=line.pos,
                       modifier_pos=[m[3] for m in line.modifiers]) for line in priced.lines],
        "whatsapp_url": whatsapp, "status_url": status_url,
    }


def public_lines(stored: dict) -> list[dict]:
    """The stored lines as the API shows them (without POS ids)."""
    return [{k: v for k, v in line.items() if k not in ("pos", "modifier_pos")}
            for line in stored["lines"]]


def pos_order(stored: dict, pos_name: str) -> PosOrder:
    """The stored order as POS ``pos_name`` receives it: each line with that POS's ids."""
    lines = tuple(
        PosLine(variant_id=line["id"], name=line["name"], quantity=line["quantity"],
                unit_price=line["unit_price"], pos=dict(line["pos"].get(pos_name) or {}),
                modifiers=tuple(
                    PosLineModifier(name=m["name"], price=m["price"],
                                    pos=dict(pos.get(pos_name) or {}))
                    for m, pos in zip(line["modifiers"], line["modifier_pos"], strict=True)),
                note=line["note"])
        for line in stored["lines"])
    customer = stored["customer"]
    return PosOrder(order_id=stored["order_id"], uuid=stored["uuid"],
                    location=stored["location"], currency=stored["currency"], lines=lines,
                    total=stored["total"], customer_name=customer["name"],
                    customer_phone=customer["phone"], fulfilment=stored["fulfilment"],
                    created_at=stored["created_at"], customer_address=customer["address"],
                    note=stored["note"])


# Every byte but the unreserved ones as %XX: urllib.parse.quote(text, safe="") in one
# str.translate, where quote loops over the bytes in Python (a fifth of pricing an order).
_QUOTED = {b: chr(b) if b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
           else f"%{b:02X}" for b in range(256)}


def quote_all(text: str) -> str:
    """``urllib.parse.quote(text, safe="")``: UTF-8, every byte but ``A-Za-z0-9_.-~``
    percent-encoded."""
    return text.encode().decode("latin-1").translate(_QUOTED)


def whatsapp_url(number: str, order_id: str, location_name: str, priced: PricedOrder,
                 status_url: str = "") -> str:
    """The wa.me link that sends the order to the location (digits-only number, < 2,000 chars).

    The text carries the order id, each line, the total and the fulfilment details; when it
    would be too long, notes go first, then lines are summarized as "... and N more".
    """
    base = f"https://wa.me/{re.sub(r'[^0-9]', '', number)}?text="
    for keep_notes, max_lines in ((True, None), (False, None), (False, 10), (False, 3), (False, 0)):
        url = base + quote_all(_whatsapp_text(order_id, location_name, priced, status_url,
                                              keep_notes, max_lines))
        if len(url) < MAX_WHATSAPP_URL:
            return url
    return url[:MAX_WHATSAPP_URL - 1]  # unreachable in practice: fields are length-limited


def _whatsapp_text(order_id: str, location_name: str, priced: PricedOrder, status_url: str,
                   keep_notes: bool, max_lines: int | None) -> str:
    request, money = priced.request, priced.currency
    shown = priced.lines if max_lines is None else priced.lines[:max_lines]
    out = [f"Order {order_id} · {location_name}"]
    for line in shown:
        extras = "".join(f" + {m[1]}" for m in line.modifiers)
        out.append(f"{line.quantity} × {line.name}{extras} — {format_money(line.total, money)}")
        if keep_notes and line.note:
            out.append(f"   ({line.note})")
    if len(shown) < len(priced.lines):
        out.append(f"… and {len(priced.lines) - len(shown)} more")
    out.append(f"Total: {format_money(priced.total, money)}")
    out.append(f"{priced.fulfilment.replace('_', '-').capitalize()} for "
               f"{request.customer_name}, {request.customer_phone}")
    if request.customer_address:
        out.append(f"Address: {request.customer_address[:300 if keep_notes else 120]}")
    if keep_notes and request.note:
        out.append(f"Note: {request.note}")
    if status_url:
        out.append(f"Status: {status_url}")
    return "\n".join(out)
