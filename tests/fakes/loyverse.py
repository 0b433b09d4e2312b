"""A fake Loyverse account: a WSGI app speaking the REST API v1.0, state in memory.

Behaviour follows ``shared/pos-api-notes/loyverse.md`` (and the official OpenAPI document it
cites, public copy: imtayyab2/loyverse-mcp ``docs/loyverse-openapi.yaml``):

* ``Authorization: Bearer <token>`` on every request, else 401 ``UNAUTHORIZED`` (§1.1, §1.4);
* errors as ``{"errors": [{"code", "details", "field"}]}`` (§1.4);
* ``limit`` 1..250 (default 50), 251 rejected with 400; ``cursor`` opaque, a bogus one is a
  400 ``INVALID_CURSOR``; the last page has **no** ``cursor`` key (§2); stores, taxes and
  payment types ignore ``limit`` and are not paginated (the spec lists no limit/cursor there);
* soft-deleted objects hidden unless ``show_deleted=true`` (§1.4); lists newest first (§2);
* ``POST`` with an ``id`` (``variant_id`` for variants) updates, without creates; items accept
  ``modifier_ids`` and silently ignore ``modifiers_ids`` (§3.1);
* ``POST /receipts`` computes totals (ADDED taxes on top, INCLUDED inside), one payment only
  (§5.1); ``GET /receipts?order=&store_id=`` filters (§2);
* ``GET /webhooks/`` is a bare array; (type, url) unique; https URLs only (§6.1).

Use::

    fake = FakeLoyverse(currency="TTD")
    store = fake.add_store("Ariapita")
    fake.add_item("Dragon Roll", sku="ROLL-DRAGON", price="95.00")
    with serve(fake) as api_url:          # http://127.0.0.1:PORT/v1.0
        ...                               # point the provider's api_url at it
    fake.request_count, fake.requests     # what the client did

``latency`` (seconds per request), ``fail_next(n, mode)`` (500, 429 or "timeout": the request is
processed, then the answer is held for ``hold`` seconds) and ``generate(n)`` (a big catalog)
serve the benchmarks and the failure tests; ``cancel_receipt(number)`` and
``webhook(kind, objects, secret)`` (body + headers Loyverse would POST, signed when a client
secret is given) serve the webhook tests.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from .loopback import serve_wsgi
from .loyverse_receipts import (
    ApiError,
    create_receipt,
    page,
    plain,
    receipts_answer,
    save_webhook,
    sign,
    webhook_body,
)

DEFAULT_TOKEN = "fake-loyverse-token"
_UNPAGED = ("stores", "taxes", "payment_types")


class FakeLoyverse:
    """One Loyverse account in memory, served as a WSGI application (see the module doc)."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, currency: str = "TTD",
                 decimal_places: int = 2, latency: float = 0.0, hold: float = 2.0) -> None:
        self.token, self.latency, self.hold = token, latency, hold
        self.merchant = {"id": self._id(), "business_name": "OMG Sushi",
                         "email": "owner@example.com", "country": "TT",
                         "currency": {"code": currency, "decimal_places": decimal_places},
                         "created_at": "2020-06-04T15:44:20.020Z"}
        self.stores: dict[str, dict] = {}
        self.categories: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.modifiers: dict[str, dict] = {}
        self.taxes: dict[str, dict] = {}
        self.payment_types: dict[str, dict] = {}
        self.inventory: dict[tuple[str, str], Decimal] = {}
        self.receipts: list[dict] = []
        self.webhooks: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self._failures: deque = deque()
        self._lock = threading.RLock()
        self._released = threading.Event()

    # -- building the account ----------------------------------------------------------------

    _counter = 0

    def _id(self) -> str:
        FakeLoyverse._counter += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-loyverse/{FakeLoyverse._counter}"))

    def _now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def add_store(self, name: str) -> str:
        """Add a store; returns its id."""
        sid = self._id()
        self.stores[sid] = {"id": sid, "name": name, "address": None, "city": None,
                            "region": None, "postal_code": None, "country_code": "TT",
                            "phone_number": None, "description": None,
                            "created_at": self._now(), "updated_at": self._now(),
                            "deleted_at": None}
        return sid

    def add_category(self, name: str, color: str = "GREY") -> str:
        """Add a category; returns its id."""
        cid = self._id()
        self.categories[cid] = {"id": cid, "name": name, "color": color,
                                "created_at": self._now(), "deleted_at": None}
        return cid

    def add_tax(self, name: str, rate: str, type: str = "ADDED",
                stores: list[str] | None = None) -> str:
        """Add a tax (``rate`` in percent, e.g. "12.5"); returns its id."""
        tid = self._id()
        self.taxes[tid] = {"id": tid, "type": type, "name": name, "rate": Decimal(rate),
                           "stores": list(stores if stores is not None else self.stores),
                           "created_at": self._now(), "updated_at": self._now(),
                           "deleted_at": None}
        return tid

    def add_payment_type(self, name: str = "Online", type: str = "OTHER") -> str:
        """Add a payment type; returns its id."""
        pid = self._id()
        self.payment_types[pid] = {"id": pid, "name": name, "type": type,
                                   "stores": list(self.stores), "created_at": self._now(),
                                   "updated_at": self._now(), "deleted_at": None}
        return pid

    def add_modifier(self, name: str, options: list[tuple[str, str]],
                     stores: list[str] | None = None) -> dict:
        """Add a modifier with ``(name, price)`` options; returns it."""
        with self._lock:
            return self._save_modifier({"name": name, "stores": stores,
                                        "modifier_options": [{"name": n, "price": Decimal(p)}
                                                             for n, p in options]})

    def add_item(self, name: str, *, sku: str | None = None, price: str | None = None,
                 variants: list[dict] | None = None, category_id: str | None = None,
                 track_stock: bool = False, tax_ids: tuple[str, ...] = (),
                 modifier_ids: tuple[str, ...] = (), description: str | None = None,
                 option1_name: str | None = None) -> dict:
        """Add an item; returns it (with ``variants[].variant_id``).

        Without ``variants`` the item has one variant (``sku``, ``price``; price None means
        VARIABLE). A variant spec is ``{"sku", "price", "option1_value", "stores": {store_id:
        {"price", "pricing_type", "available_for_sale"}}}``.
        """
        specs = variants or [{"sku": sku, "price": price}]
        body = {"item_name": name, "category_id": category_id, "track_stock": track_stock,
                "tax_ids": list(tax_ids), "modifier_ids": list(modifier_ids),
                "description": description, "option1_name": option1_name, "variants": []}
        for spec in specs:
            fixed = spec.get("price") is not None
            body["variants"].append({
                "sku": spec.get("sku"), "option1_value": spec.get("option1_value"),
                "default_pricing_type": "FIXED" if fixed else "VARIABLE",
                "default_price": Decimal(str(spec["price"])) if fixed else None,
                "stores": [{"store_id": sid, **{k: Decimal(str(v)) if k == "price" and v
                                                is not None else v for k, v in over.items()}}
                           for sid, over in (spec.get("stores") or {}).items()]})
        with self._lock:
            return self._save_item(body)

    def set_stock(self, variant_id: str, store_id: str, in_stock: str | int) -> None:
        """Set a variant's stock at a store."""
        self.inventory[(variant_id, store_id)] = Decimal(str(in_stock))

    def delete_item(self, item_id: str) -> None:
        """Soft-delete an item and its variants."""
        item = self.items[item_id]
        item["deleted_at"] = self._now()
        self._indexed = -1
        for variant in item["variants"]:
            variant["deleted_at"] = item["deleted_at"]

    def generate(self, n_items: int, *, prefix: str = "GEN", price: str = "50.00",
                 category: str = "Generated") -> list[dict]:
        """Add ``n_items`` one-variant items with SKUs ``{prefix}-0001``...; returns them."""
        cid = self.add_category(category)
        return [self.add_item(f"{category} item {i}", sku=f"{prefix}-{i:04d}",
                              price=str(Decimal(price) + i % 7), category_id=cid)
                for i in range(1, n_items + 1)]

    # -- what happens in the POS (for webhook and status tests) -------------------------------

    def cancel_receipt(self, receipt_number: str) -> dict:
        """Cancel a receipt in the POS (sets ``cancelled_at``); returns it."""
        receipt = next(r for r in self.receipts if r["receipt_number"] == receipt_number)
        receipt["cancelled_at"] = receipt["updated_at"] = self._now()
        return receipt

    def webhook(self, kind: str, objects: list[dict], secret: str | None = None
                ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Loyverse would POST for ``kind`` (e.g. ``receipts.update``)
        about ``objects``; signed with ``secret`` (an OAuth client secret) when given."""
        body = webhook_body(self, kind, objects)
        headers = {"Content-Type": "application/json", "X-Loyverse-API-version": "v1.0"}
        if secret:
            headers["X-Loyverse-Signature"] = sign(body, secret)
        return body, headers

    # -- test controls -----------------------------------------------------------------------

    def fail_next(self, n: int = 1, mode: int | str = 500, retry_after: str | None = None) -> None:
        """Make the next ``n`` requests fail: 500, 429 or "timeout" (processed, answer held)."""
        for _ in range(n):
            self._failures.append((mode, retry_after))

    def release(self) -> None:
        """Answer held ("timeout") requests now."""
        self._released.set()

    @property
    def request_count(self) -> int:
        """Requests received so far (authenticated or not)."""
        return len(self.requests)

    def count(self, method: str, path: str) -> int:
        """Requests received for one method and path (``"GET", "items"``)."""
        return sum(1 for m, p, _ in self.requests if m == method and p == path)

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> Any:
        request = Request(environ)
        path = request.path.removeprefix("/v1.0").strip("/")
        self.requests.append((request.method, path, dict(request.args)))
        if self.latency:
            time.sleep(self.latency)
        failure = self._failures.popleft() if self._failures else None
        try:
            if failure and failure[0] in (500, 429):
                code = "RATE_LIMITED" if failure[0] == 429 else "INTERNAL_SERVER_ERROR"
                raise ApiError(failure[0], code, "Injected failure")
            self._authenticate(request)
            with self._lock:
                status, body = self._route(request, path)
            response = _json(body, status)
        except ApiError as exc:
            error = {"code": exc.code, "details": exc.details}
            if exc.field:
                error["field"] = exc.field
            response = _json({"errors": [error]}, exc.status)
            if failure and failure[1]:
                response.headers["Retry-After"] = failure[1]
        if failure and failure[0] == "timeout":
            self._released.wait(self.hold)
        return response(environ, start_response)

    def _authenticate(self, request: Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "UNAUTHORIZED", "Invalid or expired access token")

    def _route(self, request: Request, path: str) -> tuple[int, Any]:
        parts = path.split("/")
        method, args = request.method, request.args
        body = json.loads(request.get_data() or b"{}", parse_float=Decimal) \
            if method == "POST" else None
        collections = {"stores": self.stores, "categories": self.categories,
                       "items": self.items, "modifiers": self.modifiers, "taxes": self.taxes,
                       "payment_types": self.payment_types}
        if method == "GET" and path == "merchant":
            return 200, self.merchant
        if method == "GET" and parts[0] in collections:
            objects = collections[parts[0]]
            if len(parts) == 2:
                found = objects.get(parts[1])
                if not found or found.get("deleted_at"):
                    raise ApiError(404, "NOT_FOUND", "The resource was not found", "id")
                return 200, found
            rows = _newest_first(objects.values(), args)
            ids = args.get(f"{parts[0]}_ids") or args.get(f"{parts[0][:-1]}_ids")
            if ids:
                rows = [r for r in rows if r["id"] in ids.split(",")]
            if parts[0] in _UNPAGED:
                return 200, {parts[0]: rows}
            return 200, page(parts[0], rows, args)
        if method == "GET" and parts[0] == "variants":
            variants = [v for i in self.items.values() for v in i["variants"]]
            if len(parts) == 2:
                found = next((v for v in variants if v["variant_id"] == parts[1]), None)
                if not found or found.get("deleted_at"):
                    raise ApiError(404, "NOT_FOUND", "The resource was not found", "variant_id")
                return 200, found
            rows = _newest_first(variants, args)
            if args.get("sku"):
                rows = [v for v in rows if v["sku"] == args["sku"]]
            return 200, page("variants", rows, args)
        if method == "GET" and path == "inventory":
            return 200, page("inventory_levels", self._levels(args), args)
        if method == "GET" and parts[0] == "receipts":
            return 200, receipts_answer(self, parts, args)
        if method == "GET" and path == "webhooks":
            return 200, list(self.webhooks)
        if method == "POST" and path == "items":
            return 200, self._save_item(body)
        if method == "POST" and path == "categories":
            return 200, self._save_category(body)
        if method == "POST" and path == "modifiers":
            return 200, self._save_modifier(body)
        if method == "POST" and path == "receipts":
            return 200, create_receipt(self, body)
        if method == "POST" and path == "webhooks":
            return 200, save_webhook(self, body)
        raise ApiError(404, "NOT_FOUND", f"No such endpoint: {method} /{path}")

    # -- handlers --------------------------------------------------------------------------

    def _levels(self, args) -> list[dict]:
        stores = args["store_ids"].split(",") if args.get("store_ids") else list(self.stores)
        wanted = set(args["variant_ids"].split(",")) if args.get("variant_ids") else None
        rows = []
        for item in self.items.values():
            for variant in item["variants"]:
                if item.get("deleted_at") or (wanted and variant["variant_id"] not in wanted):
                    continue
                for store in stores:
                    rows.append({"variant_id": variant["variant_id"], "store_id": store,
                                 "in_stock": self.inventory.get((variant["variant_id"], store),
                                                                Decimal(0)),
                                 "updated_at": variant["updated_at"]})
        return rows

    def _save_category(self, body: dict) -> dict:
        if not body.get("name"):
            raise ApiError(400, "MISSING_REQUIRED_PARAMETER", "name is required", "name")
        cid = body.get("id") or self._id()
        current = self.categories.get(cid, {"id": cid, "created_at": self._now(),
                                            "deleted_at": None, "color": "GREY"})
        current.update(name=body["name"], color=body.get("color") or current["color"])
        self.categories[cid] = current
        return current

    def _save_modifier(self, body: dict) -> dict:
        if not body.get("name") or "modifier_options" not in body:
            raise ApiError(400, "MISSING_REQUIRED_PARAMETER",
                           "name and modifier_options are required", "modifier_options")
        mid = body.get("id") or self._id()
        options = [{"id": o.get("id") or self._id(), "name": o["name"],
                    "price": Decimal(str(o.get("price") or 0)), "position": o.get("position", i),
                    "created_at": self._now(), "updated_at": self._now(), "deleted_at": None}
                   for i, o in enumerate(body["modifier_options"])]
        self.modifiers[mid] = {"id": mid, "name": body["name"], "position": body.get("position"),
                               "stores": list(body.get("stores") or self.stores),
                               "modifier_options": options, "created_at": self._now(),
                               "updated_at": self._now(), "deleted_at": None}
        return self.modifiers[mid]

    def _save_item(self, body: dict) -> dict:
        if not body.get("item_name"):
            raise ApiError(400, "MISSING_REQUIRED_PARAMETER", "item_name is required",
                           "item_name")
        if body.get("id") and body["id"] not in self.items:
            raise ApiError(404, "NOT_FOUND", "The resource was not found", "id")
        item_id = body.get("id") or self._id()
        current = self.items.get(item_id) or {
            "id": item_id, "handle": body["item_name"].lower().replace(" ", "-"),
            "reference_id": None, "sold_by_weight": False, "is_composite": False,
            "use_production": False, "components": [], "primary_supplier_id": None,
            "form": "SQUARE", "color": "GREY", "image_url": None, "option2_name": None,
            "option3_name": None, "created_at": self._now(), "deleted_at": None,
            "variants": [], "tax_ids": [], "modifier_ids": [], "track_stock": False,
            "category_id": None, "description": None, "option1_name": None}
        for key in ("item_name", "category_id", "track_stock", "tax_ids", "modifier_ids",
                    "description", "option1_name"):
            if key in body:  # "modifiers_ids" (the spec's spelling) is silently ignored
                current[key] = body[key]
        current["updated_at"] = self._now()
        owners = self._sku_owners()
        variants = {v["variant_id"]: v for v in current["variants"]}
        for spec in body.get("variants") or []:
            if spec.get("sku") and owners.get(spec["sku"], item_id) != item_id:
                raise ApiError(400, "INVALID_VALUE", "sku must be unique", "sku")
            variant = self._variant(item_id, spec, variants)
            variants[variant["variant_id"]] = variant
        current["variants"] = list(variants.values())
        self.items[item_id] = current
        owners.update({v["sku"]: item_id for v in current["variants"] if v.get("sku")})
        self._indexed = len(self.items)
        return current

    def _sku_owners(self) -> dict[str, str]:
        """SKU -> item id of live variants; rebuilt when items were added behind our back."""
        if getattr(self, "_indexed", -1) != len(self.items):
            self._owners = {v["sku"]: i["id"] for i in self.items.values()
                            if not i.get("deleted_at") for v in i["variants"]
                            if v.get("sku") and not v.get("deleted_at")}
            self._indexed = len(self.items)
        return self._owners

    def _variant(self, item_id: str, spec: dict, existing: dict) -> dict:
        vid = spec.get("variant_id")
        old = existing.get(vid) if vid else None
        variant = old or {"variant_id": vid or self._id(), "item_id": item_id,
                          "reference_variant_id": None, "option2_value": None,
                          "option3_value": None, "barcode": None, "cost": Decimal(0),
                          "purchase_cost": Decimal(0), "created_at": self._now(),
                          "deleted_at": None}
        for key, default in (("sku", None), ("option1_value", None),
                             ("default_pricing_type", "VARIABLE"), ("default_price", None)):
            variant[key] = spec.get(key, variant.get(key, default))
        if variant["default_price"] is not None:
            variant["default_price"] = Decimal(str(variant["default_price"]))
        overrides = {s["store_id"]: s for s in spec.get("stores") or []}
        stores = {s["store_id"]: s for s in variant.get("stores") or []}
        for sid in self.stores:
            entry = {**{"store_id": sid, "pricing_type": variant["default_pricing_type"],
                        "price": variant["default_price"], "available_for_sale": True,
                        "optimal_stock": None, "low_stock": None},
                     **stores.get(sid, {}), **overrides.get(sid, {})}
            if entry["price"] is not None:
                entry["price"] = Decimal(str(entry["price"]))
            stores[sid] = entry
        variant["stores"] = list(stores.values())
        variant["updated_at"] = self._now()
        return variant

def _newest_first(objects, args) -> list[dict]:
    rows = list(objects)[::-1]
    if str(args.get("show_deleted", "")).lower() != "true":
        rows = [r for r in rows if not r.get("deleted_at")]
    return rows


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(plain(body)), status=status, mimetype="application/json")


def serve(app) -> Iterator[str]:
    """Serve a WSGI app on a loopback port in a thread; yields its Loyverse base URL
    (``http://127.0.0.1:PORT/v1.0``)."""
    release = app.release if isinstance(app, FakeLoyverse) else None
    return serve_wsgi(app, "/v1.0", on_stop=release)
