"""The Loyverse provider (REST API v1.0; see ``shared/pos-api-notes/loyverse.md``).

* Catalog: one pull per account (``fetch_catalogs``), projected onto each location's store.
* Orders: a closed, paid sale via ``POST /receipts`` with our order id in ``order``. Loyverse has
  no idempotency key, so a POST is never resent blindly: after a timeout or a 5xx the receipt is
  looked up by ``order`` first (``find_order``).
* Webhooks: HMAC-SHA1 signature (OAuth apps) or a secret URL token (personal tokens).
* Menu push: ``push_items`` (see ``loyverse_push``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar, cast

import requests

from hugo_pos.catalog import Catalog, SiteItem
from hugo_pos.config import Option
from hugo_pos.errors import HugoPosError, PosUnavailable, ProviderError
from hugo_pos.http import HttpClient
from hugo_pos.money import MINOR_UNITS, to_decimal
from hugo_pos.providers import loyverse_webhooks as hooks
from hugo_pos.providers.base import PosOrder, PosRef, Provider, SyncPlan, WebhookEvent
from hugo_pos.providers.loyverse_catalog import (
    Account,
    Projection,
    list_all,
    live,
    minor,
    pull_account,
    remove_taxes,
)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.loyverse.com/v1.0"
URL_TOKEN_HEADER = "X-Hugo-Pos-Url-Token"  # how the relay passes a webhook URL's token
RATE = (250, 300.0)  # the API allows 300 requests per 300 s per account, shared with other apps


class LoyverseProvider(Provider):
    """One Loyverse store (``store_id``) of a Loyverse account, for one location."""

    name = "loyverse"
    options: ClassVar[Mapping[str, Option]] = {
        "store_id": Option(str, required=True),
        "access_token": Option(str, required=True, secret=True),
        "payment_type_id": Option(str),
        "api_url": Option(str, default=DEFAULT_API_URL),
        "webhook_secret": Option(str, secret=True, env="LOYVERSE_WEBHOOK_SECRET"),
        "source": Option(str, default="hugo-pos"),
    }

    _client: HttpClient | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def store_id(self) -> str:
        """The Loyverse store this location sells from."""
        return str(self.settings.get("store_id") or "")

    @property
    def api_url(self) -> str:
        """The API base URL (configurable for proxies and tests)."""
        return str(self.settings.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @property
    def label(self) -> str:
        """How messages name this POS: ``Loyverse (location ariapita)``."""
        return f"Loyverse (location {self.context.location.id})"

    def account_key(self) -> str:
        """The API URL plus a hash of the token: locations sharing a token share one pull."""
        token = str(self.settings.get("access_token") or "")
        return f"{self.api_url}#{hashlib.sha256(token.encode('utf-8')).hexdigest()[:16]}"

    def setting_source(self, key: str) -> str:
        """Name where a setting comes from (its env var), for hints; never its value."""
        loc = self.context.location
        try:
            env = loc.pos_named(self.context.pos_name).env_names.get(key)
        except KeyError:
            env = None
        where = f"locations[{loc.id}].pos.{self.context.pos_name}.{key} in data/locations.yaml"
        return f"{env} (read by {where})" if env else where

    @property
    def client(self) -> HttpClient:
        """The pooled, throttled HTTP client of this provider's account."""
        if self._client is None:
            self._client = HttpClient(
                self.api_url, account=f"loyverse:{self.account_key()}", label=self.label,
                headers={"Authorization": f"Bearer {self.settings.get('access_token') or ''}",
                         "Accept": "application/json"},
                credential_hint=self.setting_source("access_token"), rate=RATE,
                error_details=error_details)
        return self._client

    @client.setter
    def client(self, value: HttpClient) -> None:
        self._client = value

    # -- catalog ----------------------------------------------------------------------------

    def fetch_catalog(self) -> Catalog:
        """Return what this location's store sells (one account pull)."""
        return self.fetch_catalogs([self])[0]

    @classmethod
    def fetch_catalogs(cls, providers: list[Provider]) -> list[Catalog]:
        """Pull the shared account once and project it onto each provider's store."""
        group = cast(list[LoyverseProvider], providers)
        projections: dict[str, Projection] = {}

        def on_items(head: Account, page: list[dict]) -> None:
            # Each page is projected while the next one downloads (bench/build_bench.py).
            if not projections:
                for provider in group:
                    provider.check_account(head)
                projections.update((p.store_id, Projection(head, p.store_id)) for p in group)
            for projection in projections.values():
                projection.add(page)

        account = pull_account(group[0].client, {p.store_id for p in group}, on_items)
        catalogs = []
        for provider in group:
            provider.check_account(account)
            catalog, warnings = projections[provider.store_id].finish(
                account.inventory.get(provider.store_id, {}))
            for warning in warnings:
                log.warning("%s: %s", provider.label, warning)
            catalogs.append(catalog)
        return catalogs

    def check_account(self, account: Account) -> None:
        """Raise ProviderError if the store or the currency does not fit the site."""
        if self.store_id not in account.store_ids():
            stores = ", ".join(f"{s.get('name')} ({s['id']})" for s in live(account.stores))
            raise ProviderError(
                f"{self.label}: store_id {self.store_id!r} is not a store of this Loyverse "
                "account",
                f"set {self.setting_source('store_id')} to one of: {stores or 'no stores'}")
        site, places = self.context.currency, account.places
        expected = MINOR_UNITS.get(site, places)
        if account.currency != site or places != expected:
            raise ProviderError(
                f"{self.label}: the Loyverse account's currency is {account.currency} "
                f"({places} decimals) but data/locations.yaml says currency: {site}",
                "set `currency` in data/locations.yaml to the POS's currency")

    # -- orders -----------------------------------------------------------------------------

    def submit_order(self, order: PosOrder) -> PosRef:
        """Create ``order`` as a closed sale (``POST /receipts``) and return its receipt number.

        The POST is sent once and never resent here. If it times out or gets a 5xx, the receipt
        may exist: this looks it up once with ``find_order`` and returns it if found; otherwise
        it raises ``PosUnavailable(ambiguous=True)`` and the caller must call ``find_order``
        again before any new attempt. A 4xx raises ProviderError (resending will not help).
        """
        body = self.receipt_body(order)
        try:
            response = self.client.request("POST", "receipts", json=body, retry=False)
        except PosUnavailable as exc:
            if not exc.ambiguous:
                raise
            try:
                found = self.find_order(order.order_id)
            except HugoPosError:  # unknown either way (e.g. a token without RECEIPTS_READ)
                found = None
            if found is not None:
                log.info("%s: order %s was created despite %s", self.label, order.order_id,
                         exc.message)
                return found
            raise
        return self._ref(self.client.json_of(response, Decimal), order.currency)

    def find_order(self, order_id: str) -> PosRef | None:
        """Return our sale receipt for ``order_id`` (``GET /receipts?order=&store_id=``).

        A cancelled sale is still returned (status ``cancelled``) so that it is not created a
        second time; refunds are not sales and are skipped.
        """
        return self._find_receipt(order_id, self.store_id)

    def _find_receipt(self, order_id: str, store_id: str | None) -> PosRef | None:
        query = {"order": order_id, **({"store_id": store_id} if store_id else {})}
        receipts = list_all(self.client, "receipts", "receipts", query)
        ours = [r for r in receipts if str(r.get("order")) == order_id]
        sales = [r for r in ours if r.get("receipt_type", "SALE") == "SALE"]
        if not sales:
            return None
        sales.sort(key=lambda r: bool(r.get("cancelled_at")))
        ref = self._ref(sales[0], self.context.currency)
        if any(r.get("receipt_type") == "REFUND" for r in ours):
            ref = replace(ref, status="cancelled")  # refunded: cancelled for the customer
        return ref

    def receipt_body(self, order: PosOrder) -> dict:
        """Return the ``POST /receipts`` body for ``order`` (notes §5.1, PostReceipt).

        Each line's ``price`` is the relay's unit price in currency units, minus the item's
        ADDED taxes (Loyverse adds them on top again from ``line_taxes``), so the receipt's
        total is the customer's; a rounding difference shows in the returned total.
        """
        payment_type = self.settings.get("payment_type_id")
        if not payment_type:
            raise ProviderError(
                f"{self.label}: no payment_type_id, so orders cannot be recorded as paid sales",
                f"create a payment type (e.g. \"Online\", type Other) in the Loyverse back office "
                f"and set {self.setting_source('payment_type_id')} to its id")
        places = _places(order.currency)
        lines = []
        for line in order.lines:
            pos = _pos_ids(line.pos)
            if not pos.get("variant_id"):
                raise ProviderError(f"{self.label}: {line.name} has no Loyverse variant_id",
                                    "rebuild the site so menu.json carries the POS ids")
            rates = [Decimal(r) for r in pos.get("added_tax_rates") or []]
            entry: dict[str, Any] = {
                "variant_id": pos["variant_id"], "quantity": line.quantity,
                "price": _number(remove_taxes(line.unit_price, rates), order.currency, places)}
            if line.note:
                entry["line_note"] = line.note
            if pos.get("tax_ids"):
                entry["line_taxes"] = [{"id": tax} for tax in pos["tax_ids"]]
            if line.modifiers:
                entry["line_modifiers"] = [
                    {"modifier_option_id": _pos_ids(m.pos)["modifier_option_id"],
                     "price": _number(remove_taxes(m.price, rates), order.currency, places)}
                    for m in line.modifiers]
            lines.append(entry)
        return {
            "store_id": self.store_id, "order": order.order_id,
            "source": self.settings.get("source") or "hugo-pos",
            "receipt_date": order.created_at, "note": order_note(order), "line_items": lines,
            "payments": [{"payment_type_id": payment_type, "paid_at": order.created_at}],
        }

    def _ref(self, receipt: dict, currency: str) -> PosRef:
        total = receipt.get("total_money")
        return PosRef(provider="loyverse", ref=str(receipt.get("receipt_number")),
                      total=None if total is None else minor(
                          total, currency, _places(currency), "receipt total"),
                      status=hooks.receipt_status(receipt))

    # -- webhooks ---------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str, *,
                       token: str | None = None, expected_token: str | None = None) -> bool:
        """Return whether a webhook request is authentic (constant-time comparisons).

        Signed mode: ``secret`` is the OAuth client secret (default: the ``webhook_secret``
        setting, i.e. ``LOYVERSE_WEBHOOK_SECRET``) and ``X-Loyverse-Signature`` must be the hex
        HMAC-SHA1 of ``body``. URL-token mode (personal-token webhooks, unsigned): the token
        from the URL, given as ``token`` or in the relay's ``X-Hugo-Pos-Url-Token`` header,
        must equal ``expected_token`` (default: ``secret``, which the relay sets to
        ``HUGO_POS_WEBHOOK_TOKEN`` on that route).
        """
        url_token = token if token is not None else hooks.header(headers, URL_TOKEN_HEADER)
        if url_token is not None:
            return hooks.token_ok(url_token, expected_token or secret)
        secret = secret or str(self.settings.get("webhook_secret") or "")
        return hooks.signature_ok(body, hooks.header(headers, hooks.SIGNATURE_HEADER), secret)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Turn a webhook body into events (see ``loyverse_webhooks.parse_events``).

        Stock events are only those of this location's store: the relay should ask each
        Loyverse provider of the account and deduplicate by ``event_id``.
        """
        return hooks.parse_events(body, self.store_id, self.context.location.id)

    def confirm_event(self, event: WebhookEvent) -> WebhookEvent | None:
        """Re-read from the API what an (unsigned) event claims; None if nothing holds."""
        if event.kind == "order_status" and event.order_id:
            # any store of the account: the webhook may be about another location's order
            found = self._find_receipt(event.order_id, None)
            return replace(event, status=found.status) if found else None
        if event.kind == "stock" and event.variant_ids:
            return replace(event, available=self._variant_in_stock(event.variant_ids[0]))
        return event

    def _variant_in_stock(self, variant_id: str) -> bool:
        found = self.client.request("GET", f"variants/{variant_id}", ok=(404,))
        if found.status_code == 404:
            return False  # deleted since: not orderable
        variant = self.client.json_of(found, Decimal)
        answer = self.client.request("GET", f"items/{variant['item_id']}", ok=(404,))
        if answer.status_code == 404 or variant.get("deleted_at"):
            return False  # the variant or its item was deleted (soft deletes keep the variant)
        item = self.client.json_of(answer, Decimal)
        if item.get("deleted_at"):
            return False
        if not item.get("track_stock"):
            return True
        levels = list_all(self.client, "inventory", "inventory_levels",
                          {"store_ids": self.store_id, "variant_ids": variant_id})
        return any(Decimal(str(lvl.get("in_stock") or 0)) > 0 for lvl in levels
                   if lvl.get("store_id") == self.store_id)

    def register_webhooks(self, relay_url: str, token: str | None = None) -> list[str]:
        """Subscribe the relay to items, inventory and receipt updates (idempotent).

        Signed webhooks (a ``webhook_secret`` is set, so the token is an OAuth app's) go to
        ``{relay_url}/webhooks/loyverse``; unsigned ones to ``.../webhooks/loyverse/{token}``.
        A (type, url) pair that exists is left alone (re-enabled if Loyverse disabled it).
        Returns one line per subscription, the token redacted.
        """
        url = f"{relay_url.rstrip('/')}/webhooks/loyverse"
        if not self.settings.get("webhook_secret"):
            if not token:
                raise ProviderError(
                    f"{self.label}: unsigned webhooks need a secret URL token",
                    "set HUGO_POS_WEBHOOK_TOKEN (32+ random characters), or "
                    "LOYVERSE_WEBHOOK_SECRET if the access token is an OAuth app's")
            url = f"{url}/{token}"
        shown = url.replace(token, "***") if token else url
        existing = list_all(self.client, "webhooks/", "webhooks")
        lines = []
        for kind in hooks.EVENT_TYPES:
            found = next((w for w in existing if w.get("type") == kind and w.get("url") == url),
                         None)
            if found is None:
                self.client.request("POST", "webhooks/", json={"url": url, "type": kind,
                                                               "status": "ENABLED"})
                lines.append(f"created  {kind:<24} {shown}")
            elif found.get("status") == "DISABLED":
                self.client.request("POST", "webhooks/", json={
                    "id": found["id"], "url": url, "type": kind, "status": "ENABLED"})
                lines.append(f"enabled  {kind:<24} {shown}")
            else:
                lines.append(f"exists   {kind:<24} {shown}")
        return lines

    # -- menu push --------------------------------------------------------------------------

    def push_items(self, items: tuple[SiteItem, ...], apply: bool) -> SyncPlan:
        """Plan creating/updating Loyverse items from the site menu; ``apply`` carries it out.

        Never deletes anything. See ``loyverse_push.plan_push``.
        """
        from hugo_pos.providers.loyverse_push import push

        return push(self, items, apply)


def error_details(response: requests.Response) -> str:
    """Format Loyverse's ``{"errors": [{"code", "details", "field"}]}`` (notes §1.4)."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        text = response.text.strip()
        return text.splitlines()[0][:200] if text else ""
    parts = []
    for error in errors:
        text = f"{error.get('code') or 'ERROR'}: {error.get('details') or ''}".rstrip(": ")
        if error.get("field"):
            text += f" (field {error['field']})"
        parts.append(text)
    return "; ".join(parts)


def order_note(order: PosOrder) -> str:
    """The receipt note: our order id, customer, fulfilment and the customer's note."""
    lines = [f"Online order {order.order_id} ({order.fulfilment})",
             f"Customer: {order.customer_name} {order.customer_phone}".rstrip()]
    if order.customer_address:
        lines.append(f"Address: {order.customer_address}")
    if order.note:
        lines.append(f"Note: {order.note}")
    return "\n".join(lines)


def _pos_ids(pos: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept a line's POS ids either as ``{variant_id...}`` or ``{"loyverse": {...}}``."""
    inner = pos.get("loyverse")
    return inner if isinstance(inner, Mapping) else pos


def _places(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def _number(amount: int, currency: str, places: int) -> int | float:
    """An amount in minor units as a JSON number in currency units (6550 -> 65.5)."""
    return json_number(to_decimal(amount, currency, places=places))


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number. JSON has one number type and Python's json writes floats
    with the shortest repr that round-trips, so the decimal text sent is exact (checked)."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ProviderError(f"cannot send {value} exactly as a JSON number")
    return number
