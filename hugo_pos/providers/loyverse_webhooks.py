"""Loyverse webhooks: authenticity checks and payload parsing (notes §6).

* Webhooks created by an OAuth application carry ``X-Loyverse-Signature``: the lowercase hex
  HMAC-SHA1 of the raw body, keyed with the application's client secret (notes §6.3, from the
  official "Validate notifications" section). Personal-token webhooks are unsigned: they are
  registered with a secret token in the URL instead, and their payloads are only hints.
* A payload is an envelope (``merchant_id``, ``type``, ``created_at``) plus an array named after
  the resource: ``items``, ``inventory_levels`` or ``receipts`` (notes §6.2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal

from hugo_pos.errors import HugoPosError
from hugo_pos.providers.base import WebhookEvent

SIGNATURE_HEADER = "X-Loyverse-Signature"
EVENT_TYPES = ("items.update", "inventory_levels.update", "receipts.update")


def signature_ok(body: bytes, signature: str | None, client_secret: str) -> bool:
    """Return whether ``signature`` is the hex HMAC-SHA1 of ``body`` keyed with the secret."""
    if not signature or not client_secret:
        return False
    expected = hmac.new(client_secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    # bytes: compare_digest refuses str with non-ASCII characters (a header may hold any)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8",
                                                                                   "replace"))


def token_ok(given: str | None, expected: str | None) -> bool:
    """Compare a URL token with the configured one in constant time (empty never matches)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return a header's value, matching its name case-insensitively."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def receipt_status(receipt: Mapping) -> str:
    """Our order status from a receipt: a cancelled sale or a refund means ``cancelled``."""
    if receipt.get("cancelled_at") or receipt.get("receipt_type") == "REFUND":
        return "cancelled"
    return "in_pos"


def parse_events(body: bytes, store_id: str, location: str) -> list[WebhookEvent]:
    """Turn a Loyverse webhook body into events for the location whose store is ``store_id``.

    * ``receipts.update``: an ``order_status`` event for each receipt whose ``order`` is set
      (ours carry our order id there), whatever its store: the order id is what counts.
    * ``inventory_levels.update``: a ``stock`` event per level at this store; ``available`` is
      ``in_stock > 0`` (a hint: only meaningful for items that track stock, see confirm_event).
    * ``items.update``: one ``catalog_changed`` event (prices or availability may have moved).

    Event ids are built from what identifies the change (type, object, ``updated_at``), so a
    replayed delivery yields the same ids. Raises HugoPosError on a body that is not JSON.
    """
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):  # (nested thousands deep)
        raise HugoPosError("Loyverse webhook: the body is not JSON") from None
    if not isinstance(payload, dict):
        raise HugoPosError("Loyverse webhook: expected a JSON object")
    try:
        return _events(payload, body, store_id, location)
    except (KeyError, TypeError, AttributeError):
        raise HugoPosError(f"Loyverse webhook: unexpected {payload.get('type')} payload") \
            from None


def _events(payload: dict, body: bytes, store_id: str, location: str) -> list[WebhookEvent]:
    kind = payload.get("type")
    events: list[WebhookEvent] = []
    if kind == "receipts.update":
        for receipt in payload.get("receipts") or []:
            if not receipt.get("order"):
                continue
            status = receipt_status(receipt)
            events.append(WebhookEvent(
                kind="order_status", order_id=str(receipt["order"]), status=status,
                location=location if receipt.get("store_id") == store_id else None,
                event_id=f"loyverse:receipt:{receipt.get('receipt_number')}:"
                         f"{receipt.get('updated_at')}:{status}"))
    elif kind == "inventory_levels.update":
        for level in payload.get("inventory_levels") or []:
            if level.get("store_id") != store_id:
                continue
            in_stock = Decimal(str(level.get("in_stock") or 0))
            events.append(WebhookEvent(
                kind="stock", location=location, variant_ids=(str(level["variant_id"]),),
                available=in_stock > 0,
                # 0 is sold out only if the item tracks stock (turning tracking off sets every
                # level to 0, notes §3 and §4), which the payload does not say
                recheck=in_stock <= 0,
                event_id=f"loyverse:stock:{store_id}:{level['variant_id']}:"
                         f"{level.get('updated_at')}:{in_stock}"))
    elif kind == "items.update":
        digest = hashlib.sha256(body).hexdigest()[:16]
        events.append(WebhookEvent(
            kind="catalog_changed", location=location,
            variant_ids=tuple(str(v["variant_id"]) for item in payload.get("items") or []
                              for v in item.get("variants") or [] if v.get("variant_id")),
            event_id=f"loyverse:items:{payload.get('merchant_id')}:{payload.get('created_at')}:"
                     f"{digest}"))
    return events
