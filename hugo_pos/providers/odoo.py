"""The Odoo provider: one ``pos.config`` of one company per location (DESIGN §5).

* catalog: ``odoo_catalog`` (batched reads; prices tax included, Odoo's rounding);
* orders: only into the config's open session; ``create_from_ui`` on 16/17, ``sync_from_ui``
  with our ``uuid`` on 18/19 (``odoo_orders``); as ``draft`` (pay at pickup) or paid with
  ``payment_method_id``; the order is read back and its total compared with ours;
* webhooks: Odoo's "Send Webhook Notification" action has no signature, so the URL token is the
  secret and the payload a hint, confirmed by re-reading the record;
* menu push: ``odoo_sync``.
Transport and error mapping: ``odoo_rpc`` (JSON-RPC for 16-18, JSON-2 for 19+).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hugo_pos.catalog import Catalog, SiteItem
from hugo_pos.config import Option
from hugo_pos.errors import ConfigError, HugoPosError, PosUnavailable, ProviderError
from hugo_pos.money import minor_units
from hugo_pos.providers.base import (
    PosOrder,
    PosRef,
    Provider,
    ProviderContext,
    SyncPlan,
    WebhookEvent,
)
from hugo_pos.providers.odoo_catalog import CatalogReader, PosSetup, read_setup, read_taxes
from hugo_pos.providers.odoo_images import attach_images
from hugo_pos.providers.odoo_orders import (
    create_from_ui_payload,
    order_id_from_reference,
    order_note,
    pos_reference,
    price_lines,
    sync_from_ui_payload,
)
from hugo_pos.providers.odoo_rpc import OdooRpc, m2o_id

log = logging.getLogger(__name__)

URL_TOKEN_HEADER = "X-Hugo-Pos-Url-Token"
ORDER_FIELDS = ["name", "pos_reference", "amount_total", "state"]
PRODUCT_MODELS = ("product.template", "product.product")


class OdooProvider(Provider):
    """Odoo Point of Sale (16-19) through its external API, for one ``pos.config``."""

    name = "odoo"
    options = {
        "url": Option(str, required=True),
        "database": Option(str, required=True),
        "login": Option(str, required=True),
        "api_key": Option(str, required=True, secret=True),
        "company_id": Option(int, required=True),
        "pos_config_id": Option(int, required=True),
        "payment_method_id": Option(int),
        "order_state": Option(str, default="draft", choices=("draft", "paid")),
        "api": Option(str, default="auto", choices=("auto", "jsonrpc", "json2")),
    }
    # A worker goes on with a request its client gave up on until limit_time_real (120 s by
    # default) ends it; pos.order has no unique key we could lean on instead.
    settle_seconds = 150.0
    # submit_order finds our order first, and on 16/17 writes its note if that never happened
    # (a create_from_ui that timed out but landed)
    submit_finds_first = True

    def __init__(self, settings: Mapping[str, Any], context: ProviderContext, *,
                 clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, context)
        where = f"data/locations.yaml: location {context.location.id}: pos.{context.pos_name}"
        problems = []
        for key, option in self.options.items():
            # Built outside config.load_config (relay, tests), ids may still be strings.
            value = self.settings.get(key)
            try:
                self.settings[key] = option.default if value in (None, "") \
                    else option.validate(value)
            except ValueError as exc:
                problems.append(f"{where}.{key}: {exc}")
        if problems:
            raise ConfigError(problems, "fix these settings of the Odoo POS")
        if self.settings["order_state"] == "paid" and not self.settings.get("payment_method_id"):
            raise ConfigError(
                [f"{where}.payment_method_id: required when order_state is paid"],
                "set payment_method_id to the id of the Odoo POS payment method that records "
                "web payments, or use order_state: draft (pay at pickup)")
        self.clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._rpc: OdooRpc | None = None
        self._setup: PosSetup | None = None

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def rpc(self) -> OdooRpc:
        """The connection to this location's Odoo database (created on first use)."""
        if self._rpc is None:
            s = self.settings
            self._rpc = OdooRpc(
                s["url"], s["database"], s["login"], s["api_key"], int(s["company_id"]),
                label=f"Odoo (location {self.context.location.id})",
                credential_hint=self._credential_hint(), api=s["api"], sleep=self._sleep)
        return self._rpc

    def account_key(self) -> str:
        """One pull per ``pos.config``: each has its own pricelist and category limits."""
        s = self.settings
        return f"odoo:{s['url']}/{s['database']}/pos.config/{s['pos_config_id']}"

    def _credential_hint(self) -> str:
        keys = ("login", "api_key")
        names = _env_names(self.context, keys)
        where = ", ".join(f"pos.{self.context.pos_name}.{k} ({names[k]})" for k in keys)
        return f"{where} of location {self.context.location.id} in data/locations.yaml"

    # -- catalog -------------------------------------------------------------------------------

    def fetch_catalog(self) -> Catalog:
        """Return what the location's pos.config sells, prices tax included, in minor units."""
        now = self.clock().astimezone(UTC).replace(tzinfo=None)
        reader = CatalogReader(self.rpc, int(self.settings["pos_config_id"]),
                               self.context.currency, now)
        catalog, products, self._setup = reader.read()
        if self.context.static_dir is not None:
            catalog = attach_images(self.rpc, catalog, products, self.context)
        return catalog

    # -- orders --------------------------------------------------------------------------------

    def submit_order(self, order: PosOrder) -> PosRef:
        """Create ``order`` in the open session of the pos.config and return where it landed.

        Raises PosUnavailable (the POS session is closed, or Odoo unreachable; ``ambiguous``
        when the create may have landed) and ProviderError for what a retry will not fix.
        A resubmitted order is found (by ``pos_reference``/``uuid``) instead of created again.
        """
        unmapped = [line.name for line in order.lines if not line.pos.get("product_id")]
        if unmapped:
            raise ProviderError(
                f"{self.rpc.label}: order {order.order_id}: no Odoo product for "
                f"{', '.join(unmapped)}",
                "give it the SKU as Internal Reference (default_code) in Odoo, or map it in "
                "data/pos-mapping.yaml (odoo: {product_id: ...}), then rebuild the site")
        existing = self._find_record(order.order_id, order.uuid)
        if existing is not None:
            log.info("order %s is already in Odoo as %s", order.order_id,
                     existing.get("pos_reference"))
            return self._existing(existing, order)
        rpc = self.rpc
        setup = self._setup = read_setup(rpc, int(self.settings["pos_config_id"]),
                                         self.context.currency, known=self._setup)
        if setup.session_id is None:
            raise PosUnavailable(
                f"the Odoo POS session of {setup.config.get('name') or 'the POS'} is closed: "
                f"order {order.order_id} waits until it opens",
                "open a session in Odoo Point of Sale; waiting orders are then sent "
                "automatically", retry_after=60)
        taxes = read_taxes(rpc, {t for line in order.lines for t in line.pos.get("tax_ids", ())})
        lines = price_lines(order, taxes, setup.rounding, setup.round_globally)
        paid = self.settings["order_state"] == "paid"
        method = self.settings.get("payment_method_id") if paid else None
        if rpc.major <= 17:
            payload = create_from_ui_payload(
                order, lines, major=rpc.major, session_id=setup.session_id, user_id=rpc.uid,
                pricelist_id=setup.pricelist_id, payment_method_id=method)
            result = rpc.call("pos.order", "create_from_ui", write=True, orders=[payload],
                              draft=not paid)
            if not result:  # skipped: the same order is there already (a resend that raced)
                found = self._find_record(order.order_id, order.uuid)
                if found is None:
                    raise PosUnavailable(f"{rpc.label} skipped order {order.order_id} as a "
                                         "duplicate but it cannot be found",
                                         "it is looked up again later", ambiguous=True)
                return self._existing(found, order)
            odoo_id = result[0]["id"]
            self._write_note(odoo_id, order)
        else:
            payload = sync_from_ui_payload(order, lines, major=rpc.major,
                                           session_id=setup.session_id,
                                           pricelist_id=setup.pricelist_id,
                                           payment_method_id=method)
            result = rpc.call("pos.order", "sync_from_ui", write=True, orders=[payload])
            odoo_id = result["pos.order"][0]["id"]
        record = rpc.call("pos.order", "read", [odoo_id], fields=ORDER_FIELDS)[0]
        ref = self._ref(record)
        if ref.total != order.total:
            log.warning("%s: order %s totals %s in Odoo but %s on the site (rounding or price "
                        "change); flagged on the order", rpc.label, order.order_id, ref.total,
                        order.total)
        return ref

    def _write_note(self, odoo_id: int, order: PosOrder) -> None:
        # create_from_ui (16/17) drops keys it does not know, so the order's internal note
        # (our id, the customer and how they get their food) is written once the order exists.
        # A POS that is down then fails the delivery, which is retried: the order is found and
        # the note written then. A refusal (rights) leaves the order standing without it.
        try:
            self.rpc.call("pos.order", "write", [odoo_id], write=True,
                          vals={"note": order_note(order)})
        except PosUnavailable as exc:
            # Not ambiguous: the order is there, so the retry must come back here (the relay
            # would only look an ambiguous one up, find it, and never write the note).
            raise PosUnavailable(exc.message, exc.hint, retry_after=exc.retry_after) from None
        except HugoPosError as exc:
            log.warning("%s: could not write the note of order %s: %s", self.rpc.label,
                        order.order_id, exc.message)

    def _existing(self, record: dict, order: PosOrder) -> PosRef:
        """Our order as Odoo has it, its note written if that failed before (16/17)."""
        if self.rpc.major <= 17 and not record.get("note"):
            self._write_note(record["id"], order)
        return self._ref(record)

    def find_order(self, order_id: str, uuid: str | None = None) -> PosRef | None:
        """Return Odoo's copy of our order, looked up by ``pos_reference`` (and ``uuid`` on
        18+, where Odoo stores ours), or None."""
        found = self._find_record(order_id, uuid)
        return self._ref(found) if found else None

    def _find_record(self, order_id: str, uuid: str | None) -> dict | None:
        domain: list[Any] = [("pos_reference", "=", pos_reference(order_id))]
        if uuid and self.rpc.major >= 18:
            domain = ["|", ("uuid", "=", uuid), *domain]
        fields = ORDER_FIELDS + (["note"] if self.rpc.major <= 17 else [])
        found = self.rpc.call("pos.order", "search_read", domain=domain, fields=fields, limit=1)
        return found[0] if found else None

    def _ref(self, record: dict) -> PosRef:
        return PosRef(provider=self.name, ref=str(record.get("pos_reference") or record["id"]),
                      total=_minor(record.get("amount_total"), self.context.currency),
                      status=self.order_status(record.get("state")))

    def order_status(self, state: Any) -> str | None:
        """Map a pos.order ``state`` to the relay's order status."""
        if state == "draft":
            return "in_pos"
        if state == "paid":
            return "in_pos" if self.settings["order_state"] == "paid" else "completed"
        if state in ("done", "invoiced"):
            return "completed"
        if state == "cancel":
            return "cancelled"
        return None

    # -- menu push -----------------------------------------------------------------------------

    def push_items(self, items: tuple[SiteItem, ...], apply: bool) -> SyncPlan:
        """Plan (and with ``apply`` carry out) creating/updating product.template records from
        the site menu: matched by ``default_code`` = SKU, never deleted (see ``odoo_sync``)."""
        from hugo_pos.providers.odoo_sync import push_items

        return push_items(self, items, apply)

    # -- webhooks ------------------------------------------------------------------------------

    def register_webhooks(self, relay_url: str, token: str | None) -> list[str]:
        """Create Odoo automation rules posting pos.order and product.template changes to
        ``<relay_url>/webhooks/odoo/<token>`` (17+; idempotent; see ``odoo_hooks``)."""
        from hugo_pos.providers.odoo_hooks import register_webhooks

        return register_webhooks(self, relay_url, token)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """Check the URL token of an Odoo webhook (Odoo signs nothing).

        The relay puts the ``{token}`` of ``POST /webhooks/odoo/{token}`` in the header
        ``X-Hugo-Pos-Url-Token`` and passes ``HUGO_POS_WEBHOOK_TOKEN`` as ``secret``; they are
        compared in constant time. An empty secret or token never verifies.
        """
        token = next((v for k, v in headers.items() if k.lower() == URL_TOKEN_HEADER.lower()),
                     "")
        if not secret or not token:
            return False
        return hmac.compare_digest(token.encode(), secret.encode())

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Turn an Odoo "Send Webhook Notification" body into events (hints to confirm).

        The body is ``{"_action", "_id", "_model", <selected fields>}`` (odoo.md §4.1).
        ``pos.order`` gives ``order_status``; product.template/product.product give ``stock``
        with Odoo product.product ids as ``variant_ids`` (menu.json ``pos.odoo.product_id``);
        anything else (pos.category, pricelist items...) gives ``catalog_changed``.
        ``event_id`` is ``odoo:<model>:<id>:<digest of the body>``: a replayed body dedupes.
        A body that is not JSON raises ValueError (the relay answers 400).
        """
        data = json.loads(body)
        if not isinstance(data, dict) or not data.get("_model") or not data.get("_id"):
            return []
        try:
            model, rec_id = str(data["_model"]), int(data["_id"])
        except (TypeError, ValueError):
            raise ValueError("_id is not a record id") from None
        event_id = f"odoo:{model}:{rec_id}:{hashlib.sha256(body).hexdigest()[:16]}"
        location = self.context.location.id
        if model == "pos.order":
            return [WebhookEvent(kind="order_status", event_id=event_id, location=location,
                                 order_id=order_id_from_reference(data.get("pos_reference")),
                                 status=self.order_status(data.get("state")))]
        if model in PRODUCT_MODELS:
            ids = ([rec_id] if model == "product.product"
                   else list(data.get("product_variant_ids") or ()))
            available = (bool(data["available_in_pos"]) if "available_in_pos" in data else None)
            return [WebhookEvent(kind="stock", event_id=event_id, location=location,
                                 variant_ids=tuple(str(i) for i in ids), available=available),
                    WebhookEvent(kind="catalog_changed", event_id=f"{event_id}:catalog",
                                 location=location)]
        return [WebhookEvent(kind="catalog_changed", event_id=event_id, location=location)]

    def confirm_event(self, event: WebhookEvent) -> WebhookEvent | None:
        """Re-read the record an event names; return the event as Odoo has it now, or None
        when the record is gone or not ours (another POS, not a web order)."""
        if event.kind == "catalog_changed":
            return event
        _, model, rec_id, _ = event.event_id.split(":", 3)
        if event.kind == "order_status":
            found = self.rpc.call("pos.order", "search_read", domain=[("id", "=", int(rec_id))],
                                  fields=[*ORDER_FIELDS, "config_id"], limit=1)
            if not found or m2o_id(found[0].get("config_id")) != int(
                    self.settings["pos_config_id"]):
                return None
            order_id = order_id_from_reference(found[0].get("pos_reference"))
            if order_id is None:
                return None
            return WebhookEvent(kind="order_status", event_id=event.event_id,
                                location=event.location, order_id=order_id,
                                status=self.order_status(found[0].get("state")))
        fields = ["available_in_pos", "sale_ok", "active", "product_variant_ids"]
        found = self.rpc.call(model, "search_read",
                              domain=[("id", "=", int(rec_id)), ("active", "in", [True, False])],
                              fields=fields, limit=1)
        if not found:
            return None
        record = found[0]
        ids = [int(rec_id)] if model == "product.product" else record.get("product_variant_ids")
        return WebhookEvent(kind="stock", event_id=event.event_id, location=event.location,
                            variant_ids=tuple(str(i) for i in ids or ()),
                            available=bool(record.get("available_in_pos") and record.get(
                                "sale_ok") and record.get("active")))


def _minor(value: Any, currency: str) -> int:
    """Odoo's float amount (already rounded to the currency) as integer minor units."""
    return int(Decimal(str(value or 0)).scaleb(minor_units(currency))
               .quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _env_names(context: ProviderContext, keys: tuple[str, ...]) -> dict[str, str]:
    """The env vars that hold these settings in the site's locations.yaml, if it says so;
    otherwise the usual names (``ODOO_API_KEY_<LOCATION>``)."""
    suffix = re.sub(r"[^A-Z0-9]", "_", context.location.id.upper())
    names = {k: f"usually ODOO_{k.upper()}_{suffix}" for k in keys}
    if context.static_dir is None:
        return names
    path = Path(context.static_dir).parent / "data" / "locations.yaml"
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        loc = next(x for x in data.get("locations", []) if x.get("id") == context.location.id)
        settings = loc["pos"][context.pos_name]
    except (OSError, ValueError, KeyError, TypeError, StopIteration, AttributeError,
            yaml.YAMLError):
        return names
    for key in keys:
        match = re.search(r"env\s+[\"`]([^\"`]+)[\"`]", str(settings.get(key, "")))
        if match:
            names[key] = f"env {match.group(1)}"
    return names
