"""Odoo's tax arithmetic (addons/account/models/account_tax.py ``compute_all``), in Decimal."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hugo_pos.providers.odoo_taxes import Tax, compute_all, price_unit_for, price_with_taxes

CENT = Decimal("0.01")
VAT_INCL = Tax(1, Decimal("12.5"), price_include=True)
SERVICE = Tax(2, Decimal("10"), sequence=2)
FIXED = Tax(3, Decimal("1.50"), amount_type="fixed", sequence=3)


def test_included_tax_leaves_the_price_alone():
    totals = compute_all(Decimal("65.50"), 1, [VAT_INCL], CENT)
    assert totals.total_included == Decimal("65.50")
    assert totals.total_excluded == Decimal("58.22")   # 65.50 / 1.125 = 58.2222...
    assert totals.tax == Decimal("7.28")


def test_excluded_taxes_round_half_up_per_line():
    # 1.05 + 10% = 0.105 -> 0.11 (half-up, not banker's rounding)
    assert price_with_taxes(Decimal("1.05"), [SERVICE], CENT) == Decimal("1.16")
    # three units on one line: 3.15 + 0.315 -> 0.32 = 3.47, not 3 x 1.16
    assert compute_all(Decimal("1.05"), 3, [SERVICE], CENT).total_included == Decimal("3.47")
    assert compute_all(Decimal("10"), 2, [SERVICE, FIXED], CENT).total_included == Decimal("25")


def test_included_then_excluded_and_groups():
    # 20.00 incl. 12.5% -> 17.78 base; + 10% service on the base (1.778 -> 1.78) = 21.78
    assert price_with_taxes(Decimal("20"), [VAT_INCL, SERVICE], CENT) == Decimal("21.78")
    group = Tax(9, Decimal(0), amount_type="group", children=(SERVICE, VAT_INCL))
    assert price_with_taxes(Decimal("20"), [group], CENT) == Decimal("21.78")


def test_include_base_amount_affects_the_next_tax():
    first = Tax(1, Decimal("10"), include_base_amount=True, sequence=1)
    second = Tax(2, Decimal("10"), sequence=2)
    # 100 + 10 = 110; the second tax is computed on 110: +11 -> 121
    assert price_with_taxes(Decimal("100"), [first, second], CENT) == Decimal("121.00")


def test_round_globally_keeps_decimals_until_the_total():
    a, b = Tax(1, Decimal("7.5")), Tax(2, Decimal("7.5"), sequence=2)
    # per line: 0.075 -> 0.08 twice = 1.16; globally: 0.15 -> 1.15
    assert price_with_taxes(Decimal("1"), [a, b], CENT) == Decimal("1.16")
    assert price_with_taxes(Decimal("1"), [a, b], CENT, round_globally=True) == Decimal("1.15")


@given(st.integers(min_value=0, max_value=500_000),
       st.sampled_from([(), (VAT_INCL,), (SERVICE,), (VAT_INCL, SERVICE), (SERVICE, FIXED)]))
def test_price_unit_for_inverts_the_menu_price(cents, taxes):
    shown = price_with_taxes(Decimal(cents) * CENT, taxes, CENT)
    unit = price_unit_for(shown, taxes, CENT)
    assert price_with_taxes(unit, taxes, CENT) == shown
