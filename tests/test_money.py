"""Money: exact parsing and formatting for 0-, 2- and 3-decimal currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hugo_pos.money import Money, MoneyError, format_money, minor_units, to_decimal, to_minor

CURRENCIES = ["TTD", "USD", "EUR", "GBP", "JPY", "KRW", "THB", "PHP", "MXN", "BRL", "INR", "ZAR",
              "KWD"]


@pytest.mark.parametrize(("currency", "digits"), [("TTD", 2), ("JPY", 0), ("KRW", 0),
                                                   ("KWD", 3), ("USD", 2)])
def test_minor_units_table(currency, digits):
    assert minor_units(currency) == digits


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (65, "TTD", 6500), (65.5, "TTD", 6550), ("65.50", "TTD", 6550), ("0.10", "TTD", 10),
    (1200, "JPY", 1200), ("1200", "JPY", 1200), ("1.005", "KWD", 1005), (" 7 ", "USD", 700),
])
def test_to_minor_accepts_numbers_and_strings(value, currency, expected):
    assert to_minor(value, currency) == expected


@pytest.mark.parametrize(("value", "currency", "message"), [
    ("1.005", "TTD", "1.005 has more than 2 decimals, which TTD cannot represent"),
    (1.5, "JPY", "1.5 has more than 0 decimals, which JPY cannot represent"),
    ("12,50", "TTD", "expected a price such as 65 or \"65.50\", got '12,50'"),
    (True, "TTD", "expected a price such as 65 or \"65.50\", got True"),
    ("NaN", "TTD", "expected a finite price, got 'NaN'"),
])
def test_to_minor_refuses_what_it_cannot_represent(value, currency, message):
    with pytest.raises(MoneyError) as info:
        to_minor(value, currency)
    assert str(info.value) == message


def test_unknown_currency():
    with pytest.raises(MoneyError, match="unknown currency 'XXX'"):
        minor_units("XXX")


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (9550, "TTD", "TTD 95.50"), (5, "TTD", "TTD 0.05"), (123456789, "USD", "USD 1,234,567.89"),
    (1200, "JPY", "JPY 1,200"), (1005, "KWD", "KWD 1.005"), (-250, "TTD", "-TTD 2.50"),
])
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


@given(currency=st.sampled_from(CURRENCIES), amount=st.integers(0, 10**12))
def test_minor_units_round_trip_through_decimal_text(currency, amount):
    text = str(to_decimal(amount, currency))
    assert to_minor(text, currency) == amount
    assert format_money(amount, currency).replace(",", "").endswith(text)


@given(currency=st.sampled_from(CURRENCIES), amount=st.integers(0, 10**9),
       extra=st.integers(1, 9))
def test_one_decimal_too_many_is_refused(currency, amount, extra):
    digits = minor_units(currency)
    value = Decimal(amount).scaleb(-digits) + Decimal(extra).scaleb(-digits - 1)
    with pytest.raises(MoneyError):
        to_minor(str(value), currency)


@given(a=st.integers(-10**9, 10**9), b=st.integers(-10**9, 10**9), qty=st.integers(1, 99))
def test_money_arithmetic_stays_integral(a, b, qty):
    total = (Money(a, "TTD") + Money(b, "TTD")) * qty
    assert total == Money((a + b) * qty, "TTD")
    with pytest.raises(MoneyError):
        Money(a, "TTD") + Money(b, "JPY")
