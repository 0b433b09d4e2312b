"""Money as integer minor units plus an ISO 4217 code. No float ever touches an amount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# ISO 4217 minor units for the currencies we know; anything else must be configured explicitly.
MINOR_UNITS: dict[str, int] = {
    "TTD": 2, "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "JMD": 2, "BBD": 2,
    "XCD": 2, "BSD": 2, "GYD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "THB": 2, "PHP": 2, "MXN": 2, "BRL": 2, "INR": 2, "ZAR": 2, "SGD": 2, "HKD": 2, "CNY": 2,
    "MYR": 2, "IDR": 2, "COP": 2, "ARS": 2, "PEN": 2, "AED": 2, "SAR": 2, "TRY": 2, "NGN": 2,
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "PYG": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
}


def register_currency(code: str, digits: int) -> None:
    """Teach this process a currency missing from the table (a site's ``minor_units``)."""
    if not 0 <= digits <= 4:
        raise MoneyError(f"minor_units must be between 0 and 4, got {digits}")
    MINOR_UNITS.setdefault(code, digits)


class MoneyError(ValueError):
    """A value is not a valid amount in the currency (not a number, or too many decimals)."""


def minor_units(currency: str) -> int:
    """Return the number of decimals of ``currency`` (ISO 4217), e.g. 2 for TTD, 0 for JPY."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}; use an ISO 4217 code such as TTD or USD")\
            from None


def to_minor(value: object, currency: str, *, places: int | None = None) -> int:
    """Convert a decimal amount in currency units (``65``, ``65.5``, ``"65.50"``) to minor units.

    The value is read through ``Decimal(str(value))``, so a YAML float such as ``65.5`` is taken
    as written. An amount with more decimals than the currency has (``1.005`` TTD) raises
    ``MoneyError`` instead of being rounded. ``places`` overrides the currency's decimals (a POS
    that reports its own ``decimal_places``).
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"expected a price such as 65 or \"65.50\", got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"expected a price such as 65 or \"65.50\", got {value!r}") from None
    if not amount.is_finite():
        raise MoneyError(f"expected a finite price, got {value!r}")
    digits = minor_units(currency) if places is None else places
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{value} has more than {digits} decimals, which {currency} cannot represent")
    return int(scaled)


def to_decimal(amount: int, currency: str, *, places: int | None = None) -> Decimal:
    """Return minor units as an exact ``Decimal`` in currency units (e.g. 6550 TTD -> 65.50)."""
    digits = minor_units(currency) if places is None else places
    return Decimal(amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_money(amount: int, currency: str) -> str:
    """Format minor units for people: ``format_money(9550, "TTD") == "TTD 95.50"``."""
    digits = minor_units(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    text = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
    return f"{sign}{currency} {text}"


@dataclass(frozen=True, order=True)
class Money:
    """An amount in integer minor units of ``currency``."""

    amount: int
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise MoneyError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, times: int) -> Money:
        return Money(self.amount * times, self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)

    def to_json(self) -> dict:
        """Return ``{"amount": ..., "currency": ...}`` as the relay's API shows money."""
        return {"amount": self.amount, "currency": self.currency}
