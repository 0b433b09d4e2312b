"""Odoo's tax arithmetic, so the menu shows exactly what the POS will charge.

``compute_all`` ports the core of ``account.tax.compute_all`` (odoo/odoo
addons/account/models/account_tax.py, 16.0/17.0; 18.0 reorganised the code but gives the same
totals for these tax kinds): taxes flattened (groups replaced by their children) and ordered by
``sequence, id``; price-included taxes taken out first, walking backwards, to find the untaxed
base; then each tax computed forwards on that base (``include_base_amount`` adds a tax to the base
of the next ones). Rounding rule: every amount is rounded *half-up* to the currency's
``rounding`` (``float_round(..., precision_rounding=currency.rounding)``), per line when the
company's ``tax_calculation_rounding_method`` is ``round_per_line`` (the default), or with 5 more
decimals until the final totals when it is ``round_globally``; the two totals are then rounded to
the currency. Amounts are ``Decimal``; no float is involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Tax:
    """An ``account.tax``: ``amount_type`` is percent, fixed, division or group."""

    id: int
    amount: Decimal
    amount_type: str = "percent"
    price_include: bool = False
    include_base_amount: bool = False
    sequence: int = 1
    children: tuple[Tax, ...] = field(default_factory=tuple)
    name: str = ""

    @classmethod
    def from_record(cls, record: dict[str, Any], by_id: dict[int, dict] | None = None) -> Tax:
        """Build a Tax from an ``account.tax`` read (``children_tax_ids`` resolved in ``by_id``)."""
        by_id = by_id or {}
        children = tuple(cls.from_record(by_id[c], by_id)
                         for c in record.get("children_tax_ids") or () if c in by_id)
        return cls(id=int(record["id"]), amount=Decimal(str(record.get("amount") or 0)),
                   amount_type=record.get("amount_type") or "percent",
                   price_include=bool(record.get("price_include")),
                   include_base_amount=bool(record.get("include_base_amount")),
                   sequence=int(record.get("sequence") or 0), children=children,
                   name=str(record.get("name") or ""))


@dataclass(frozen=True)
class TaxTotals:
    """The totals of one line: ``total_included - total_excluded`` is its tax."""

    total_excluded: Decimal
    total_included: Decimal

    @property
    def tax(self) -> Decimal:
        """The line's tax amount."""
        return self.total_included - self.total_excluded


def round_to(value: Decimal, rounding: Decimal) -> Decimal:
    """Round half-up to a multiple of ``rounding`` (Odoo's ``float_round``, HALF-UP)."""
    steps = (value / rounding).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (steps * rounding).quantize(rounding) if rounding < 1 else steps * rounding


def flatten(taxes: list[Tax] | tuple[Tax, ...]) -> list[Tax]:
    """Order taxes by ``sequence, id`` and replace groups by their children."""
    result: list[Tax] = []
    for tax in sorted(taxes, key=lambda t: (t.sequence, t.id)):
        if tax.amount_type == "group":
            result.extend(flatten(tax.children))
        else:
            result.append(tax)
    return result


def compute_all(price_unit: Decimal, quantity: int, taxes: list[Tax] | tuple[Tax, ...],
                rounding: Decimal, *, round_globally: bool = False) -> TaxTotals:
    """Return the totals of ``quantity`` units at ``price_unit`` (in the taxes' convention)."""
    flat = flatten(taxes)
    prec = rounding * Decimal("1e-5") if round_globally else rounding
    qty = Decimal(quantity)
    base = round_to(price_unit * qty, prec)

    # Backwards: remove price-included taxes, remembering the totals to reach (checkpoints).
    incl = {"fixed": Decimal(0), "percent": Decimal(0), "division": Decimal(0)}
    checkpoints: dict[int, Decimal] = {}
    store = True
    for i in range(len(flat) - 1, -1, -1):
        tax = flat[i]
        if tax.include_base_amount:
            base = _recompute_base(base, incl)
            incl = dict.fromkeys(incl, Decimal(0))
            store = True
        if tax.price_include:
            if tax.amount_type == "fixed":
                incl["fixed"] += abs(qty) * tax.amount
            else:
                incl[tax.amount_type] += tax.amount
            if store:
                checkpoints[i] = base
                store = False
    total_excluded = round_to(_recompute_base(base, incl), prec)

    # Forwards: compute each tax on the untaxed base.
    base = total_included = total_excluded
    cumulated_included = Decimal(0)
    for i, tax in enumerate(flat):
        if tax.price_include and i in checkpoints:
            amount = checkpoints[i] - (base + cumulated_included)
            cumulated_included = Decimal(0)
        else:
            amount = _amount(tax, base, qty)
        amount = round_to(amount, prec)
        if tax.price_include and i not in checkpoints:
            cumulated_included += amount
        if tax.include_base_amount:
            base += amount
        total_included += amount
    return TaxTotals(round_to(total_excluded, rounding), round_to(total_included, rounding))


def _recompute_base(base: Decimal, incl: dict[str, Decimal]) -> Decimal:
    return (base - incl["fixed"]) / (1 + incl["percent"] / 100) * (100 - incl["division"]) / 100


def _amount(tax: Tax, base: Decimal, qty: Decimal) -> Decimal:
    if tax.amount_type == "fixed":
        return qty * tax.amount
    if tax.amount_type == "division" and tax.amount != 100:
        return base / (1 - tax.amount / 100) - base
    return base * tax.amount / 100


def price_with_taxes(price_unit: Decimal, taxes: list[Tax] | tuple[Tax, ...], rounding: Decimal,
                     *, round_globally: bool = False) -> Decimal:
    """What the customer pays for one unit: ``compute_all(price, 1).total_included``."""
    return compute_all(price_unit, 1, taxes, rounding, round_globally=round_globally)\
        .total_included


def price_unit_for(total_included: Decimal, taxes: list[Tax] | tuple[Tax, ...],
                   rounding: Decimal, *, round_globally: bool = False) -> Decimal:
    """Return the ``price_unit`` (Odoo's convention for these taxes) whose one-unit total is
    ``total_included``, or the closest one above it when no price gives it exactly.

    With only price-included taxes this is ``total_included`` itself; otherwise the smallest
    price (in steps of ``rounding``) whose total reaches it, found by bisection since the total
    never decreases when the price grows.
    """
    if all(t.price_include for t in flatten(taxes)):
        return total_included
    low, high = 0, int(total_included / rounding) + 1
    while low < high:
        middle = (low + high) // 2
        total = price_with_taxes(middle * rounding, taxes, rounding, round_globally=round_globally)
        if total < total_included:
            low = middle + 1
        else:
            high = middle
    return (low * rounding).quantize(rounding) if rounding < 1 else low * rounding
