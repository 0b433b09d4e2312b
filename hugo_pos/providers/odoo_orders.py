"""Build the ``pos.order`` payloads Odoo's POS sync methods expect (odoo.md §3.2, §3.3).

* 16/17: ``pos.order.create_from_ui(orders=[{"id", "to_invoice", "data": {...}}], draft=...)``;
  ``_order_fields`` reads most ``data`` keys with ``[]`` (a missing one is a KeyError), so every
  key is always sent; 16 wants ``creation_date`` where 17 wants ``date_order``.
* 18/19: ``pos.order.sync_from_ui(orders=[{...}])``: a flat dict of ``pos.order`` fields plus
  ``name`` (-> ``pos_reference``), keyed by our ``uuid`` (Odoo deduplicates on it).

Line amounts come from ``odoo_taxes.compute_all`` so that what Odoo stores (16/17 store the sent
amounts; 18 recomputes them) equals what the customer was shown.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hugo_pos.money import to_decimal
from hugo_pos.providers.base import PosLine, PosOrder
from hugo_pos.providers.odoo_taxes import Tax, compute_all, price_unit_for

REFERENCE_PREFIX = "Web "


def pos_reference(order_id: str) -> str:
    """The ``pos_reference`` of our order, ``Web <order id> SSSSS-999-NNNN``: deterministic, so
    a resend finds the first copy (``find_order``, and Odoo 17's own de-duplication by
    reference).

    The digits take the shape of the till's own references (session-login-sequence, odoo.md
    §3.2): Odoo 16/17's ``_export_for_ui`` reads ``re.search('([0-9-]){14,}', pos_reference)``
    and fails on a reference without one, which would break the till's order list. Login 999
    marks a web order; the other digits come from the order id.
    """
    digits = int(hashlib.sha256(order_id.encode()).hexdigest()[8:24], 16) % 10**9
    return f"{REFERENCE_PREFIX}{order_id} {digits // 10000:05d}-999-{digits % 10000:04d}"


def order_id_from_reference(reference: Any) -> str | None:
    """Our order id from a ``pos_reference``, or None when the order is not ours."""
    text = str(reference or "")
    if not text.startswith(REFERENCE_PREFIX):
        return None
    return text[len(REFERENCE_PREFIX):].split(" ", 1)[0] or None


@dataclass(frozen=True)
class PricedLine:
    """One order line in Odoo's terms: unit price in the taxes' convention and the subtotals."""

    line: PosLine
    product_id: int
    tax_ids: tuple[int, ...]
    price_unit: Decimal
    subtotal: Decimal
    subtotal_incl: Decimal
    price_extra: Decimal = Decimal(0)
    attribute_value_ids: tuple[int, ...] = ()


def price_lines(order: PosOrder, taxes: dict[int, Tax], rounding: Decimal,
                round_globally: bool) -> list[PricedLine]:
    """Turn the relay's tax-included unit prices (modifiers folded in) into Odoo line values."""
    priced = []
    for line in order.lines:
        tax_ids = tuple(t for t in line.pos.get("tax_ids", ()) if t in taxes)
        line_taxes = [taxes[t] for t in tax_ids]
        unit_incl = to_decimal(line.unit_price + sum(m.price for m in line.modifiers),
                               order.currency)
        price_unit = price_unit_for(unit_incl, line_taxes, rounding,
                                    round_globally=round_globally)
        totals = compute_all(price_unit, line.quantity, line_taxes, rounding,
                             round_globally=round_globally)
        # Modifiers are Odoo attribute values that create no variant: the line names them and
        # its price_unit carries their price_extra, as the POS itself does.
        base = price_unit_for(to_decimal(line.unit_price, order.currency), line_taxes, rounding,
                              round_globally=round_globally) if line.modifiers else price_unit
        ptavs = tuple(int(m.pos["ptav_id"]) for m in line.modifiers if m.pos.get("ptav_id"))
        priced.append(PricedLine(line, int(line.pos["product_id"]), tax_ids, price_unit,
                                 totals.total_excluded, totals.total_included,
                                 price_unit - base, ptavs))
    return priced


def order_note(order: PosOrder) -> str:
    """The order-level note: our order id, the customer and the fulfilment."""
    parts = [f"Web order {order.order_id}", f"{order.fulfilment}",
             f"{order.customer_name} {order.customer_phone}".strip()]
    if order.customer_address:
        parts.append(order.customer_address)
    if order.note:
        parts.append(f"Note: {order.note}")
    return " | ".join(parts)


def _full_name(line: PosLine) -> str:
    # Odoo's own form for a product with attribute values: "Tuna Poke (Brown rice, Avocado)".
    mods = ", ".join(m.name for m in line.modifiers)
    return f"{line.name} ({mods})" if mods else line.name


def _sequence_number(order_id: str) -> int:
    # A stable small number for Odoo's tracking_number (session % 10 * 100 + seq % 100).
    return int(hashlib.sha256(order_id.encode()).hexdigest()[:8], 16) % 10000


def _date(order: PosOrder) -> str:
    # Odoo wants 'YYYY-MM-DD HH:MM:SS' in UTC (17 slices date_order to 19 characters).
    return order.created_at.replace("T", " ").replace("Z", "")[:19]


def _amounts(lines: list[PricedLine], paid: bool) -> dict[str, float]:
    total = sum((p.subtotal_incl for p in lines), Decimal(0))
    tax = total - sum((p.subtotal for p in lines), Decimal(0))
    # JSON has no decimal type; Odoo's fields are floats, so the exact decimals go as floats.
    return {"amount_total": float(total), "amount_tax": float(tax),
            "amount_paid": float(total) if paid else 0.0, "amount_return": 0.0}


def _line_values(p: PricedLine, major: int, uuid: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "product_id": p.product_id, "qty": p.line.quantity, "price_unit": float(p.price_unit),
        "discount": 0, "price_subtotal": float(p.subtotal),
        "price_subtotal_incl": float(p.subtotal_incl),
        "tax_ids": [[6, False, list(p.tax_ids)]], "full_product_name": _full_name(p.line),
        "customer_note": p.line.note, "price_extra": float(p.price_extra),
    }
    if p.attribute_value_ids:
        values["attribute_value_ids"] = [[6, False, list(p.attribute_value_ids)]]
    if uuid:
        values["uuid"] = uuid
    return values


def _line_uuid(order: PosOrder, index: int) -> str:
    # Line uuids are unique in Odoo (pos_order_line_unique_uuid): derive them from the order's
    # uuid so that a resend reuses the same ones (odoo.md §5 Duplicates on retry).
    digest = hashlib.sha256(f"{order.uuid}/{index}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def create_from_ui_payload(order: PosOrder, lines: list[PricedLine], *, major: int,
                           session_id: int, user_id: int | None, pricelist_id: int | None,
                           payment_method_id: int | None) -> dict[str, Any]:
    """The element of ``create_from_ui``'s ``orders`` list for Odoo 16/17."""
    paid = payment_method_id is not None
    amounts = _amounts(lines, paid)
    data: dict[str, Any] = {
        "name": pos_reference(order.order_id), "pos_session_id": session_id,
        "user_id": user_id or False, "partner_id": False,
        "sequence_number": _sequence_number(order.order_id), "fiscal_position_id": False,
        "pricelist_id": pricelist_id or False, **amounts, "to_invoice": False,
        "lines": [[0, 0, _line_values(p, major, _line_uuid(order, i) if major >= 17 else None)]
                  for i, p in enumerate(lines)],
        "statement_ids": [[0, 0, {"name": _date(order), "amount": amounts["amount_total"],
                                  "payment_method_id": payment_method_id}]] if paid else [],
    }
    data["date_order" if major >= 17 else "creation_date"] = _date(order)
    return {"id": data["name"], "to_invoice": False, "data": data}


def sync_from_ui_payload(order: PosOrder, lines: list[PricedLine], *, major: int,
                         session_id: int, pricelist_id: int | None,
                         payment_method_id: int | None) -> dict[str, Any]:
    """The element of ``sync_from_ui``'s ``orders`` list for Odoo 18/19.

    ``pos_reference`` is sent as such: 18's ``_process_order`` copies ``name`` into it, 19's
    drops ``name`` only. 19 split 18's ``general_note`` into ``general_customer_note`` and
    ``internal_note`` (odoo/odoo pos_order.py after 18.0); the web order's note is the former.
    """
    paid = payment_method_id is not None
    amounts = _amounts(lines, paid)
    reference = pos_reference(order.order_id)
    return {
        "uuid": order.uuid, "name": reference, "pos_reference": reference,
        "session_id": session_id,
        "state": "paid" if paid else "draft", "date_order": _date(order), "partner_id": False,
        "pricelist_id": pricelist_id or False, "fiscal_position_id": False,
        "sequence_number": _sequence_number(order.order_id), **amounts, "to_invoice": False,
        # Odoo deletes access_token when it re-syncs a draft; without one that is a KeyError.
        "access_token": secrets.token_hex(16),
        "general_note" if major <= 18 else "general_customer_note": order_note(order),
        "lines": [[0, 0, _line_values(p, 18, _line_uuid(order, i))]
                  for i, p in enumerate(lines)],
        "payment_ids": [[0, 0, {"payment_method_id": payment_method_id,
                                "amount": amounts["amount_total"],
                                "payment_date": _date(order)}]] if paid else [],
    }
