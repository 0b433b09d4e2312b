"""The relay's state and operations, independent of HTTP: place an order, show it, build
providers, report availability. ``app.py`` puts HTTP in front of it; ``deliver.py`` works the
outbox it fills.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import urlparse

from hugo_pos.config import SiteConfig, load_config
from hugo_pos.errors import HugoPosError, OrderRejected
from hugo_pos.providers import provider_class
from hugo_pos.providers.base import Provider, ProviderContext
from hugo_pos.relay.database import default_database_url
from hugo_pos.relay.limits import ClientAddress, RateLimiter
from hugo_pos.relay.menu import MENU_FILE, MenuSource
from hugo_pos.relay.orders import parse_order, price_order, public_lines, stored_order, whatsapp_url
from hugo_pos.relay.settings import RelaySettings
from hugo_pos.relay.store import OrderIdTaken, Store, open_store

log = logging.getLogger(__name__)

_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_LIVE_TTL = 2.0


def order_id_for(key: str) -> str:
    """The id of the order placed under Idempotency-Key ``key``: a short, unambiguous id people
    can read out (``7K3M-9QXP``), from the first 40 bits of the key's SHA-256.

    The widget derives the same id from its own key (checkout.js ``orderId``), so a WhatsApp
    message sent when the relay's answer never came still names the order the relay may have
    stored and delivered: staff can match the two instead of making it twice.
    """
    return _readable(hashlib.sha256(key.encode()).digest()[:5])


def new_order_id() -> str:
    """A random order id in the same form, for the rare key whose id is already taken."""
    return _readable(secrets.token_bytes(5))


def _readable(five_bytes: bytes) -> str:
    bits = int.from_bytes(five_bytes, "big")  # 40 bits, 5 per character
    chars = "".join(_ID_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"{chars[:4]}-{chars[4:]}"


def iso(epoch: float) -> str:
    """Epoch seconds as ISO-8601 UTC (``2026-11-25T01:02:03Z``)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def fingerprint(data: object) -> str:
    """A stable hash of a decoded JSON body (key order does not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Relay:
    """One relay process's view: site config, menu, store, providers, limits.

    Everything request handlers and workers share lives here; it is safe to use from several
    threads (the store keeps a connection per thread, providers are built once and reused).
    """

    def __init__(self, settings: RelaySettings, *, config: SiteConfig | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.config = config or load_config(settings.site_root, env=settings.env or None,
                                             locations_path=settings.config_path)
        self.store = store or open_store(settings.database_url
                                         or default_database_url(settings.site))
        menu_path = settings.site / MENU_FILE if settings.site and not settings.menu_url else None
        self.menu = MenuSource(menu_path, settings.menu_url,
                               check_interval=settings.menu_check_interval,
                               url_interval=settings.menu_url_interval, background=True)
        self.limiter = RateLimiter(settings.rate_limit)
        self.clients = ClientAddress(settings.trusted_proxies)
        self.wake = threading.Event()
        # A build hook URL is a credential: its path and query too (urllib3's debug lines
        # show them), and each query value long enough to be a key (Render: ?key=...).
        hook = urlparse(settings.rebuild_hook_url)
        keys = [v for _, _, v in (p.partition("=") for p in hook.query.split("&")) if len(v) >= 8]
        self.secrets = set(self.config.secrets) | {
            s for s in (settings.board_token, settings.webhook_token,
                        settings.rebuild_hook_url, hook.path, hook.query, *keys)
            if s and s != "/"}
        self._providers: dict[tuple[str, str], Provider] = {}
        self._providers_lock = threading.Lock()
        self._live: dict[str, tuple[float, dict[str, bool]]] = {}

    def now(self) -> float:
        """The current time in epoch seconds (the settings' clock)."""
        return self.settings.clock()

    # -- orders ------------------------------------------------------------------------------

    def place_order(self, data: object, key: str, base_url: str = "") -> tuple[int, str, str]:
        """Validate, price and store an order under idempotency ``key``.

        Returns ``(status code, JSON body, order id)``: 201 and the new order, or the stored
        answer when the same key came with the same body. Raises ``OrderRejected`` for anything
        the customer must change (nothing is stored then).
        """
        digest = fingerprint(data)
        seen = self.store.idempotency(key)
        if seen is not None:
            return self._replay(seen, digest)
        request = parse_order(data)
        loaded = self.menu.current()
        if loaded is None:
            raise OrderRejected("menu_unavailable", "the menu is not loaded yet; try again soon",
                                None, 503)
        index = loaded.locations.get(request.location)
        try:
            location = self.config.location(request.location)
        except HugoPosError:
            location = None
        if index is None or location is None:
            raise OrderRejected("unknown_location", f"unknown location {request.location!r}",
                                "location", 404)
        now = self.now()
        priced = price_order(request, index, location, currency=loaded.menu.currency,
                             menu_version=loaded.menu.version,
                             when=datetime.fromtimestamp(now, UTC),
                             live=self.live(request.location))
        root = self.config.relay_url or base_url.rstrip("/")
        order_id = order_id_for(key)
        while True:
            status_url = f"{root}/v1/orders/{order_id}"
            link = whatsapp_url(location.whatsapp, order_id, location.name, priced, status_url)
            stored = stored_order(priced, order_id=order_id, uuid=str(uuid.uuid4()),
                                  created_at=iso(now), whatsapp=link, status_url=status_url)
            body = {"order_id": order_id, "status": "received", "lines": public_lines(stored),
                    "total": {"amount": priced.total, "currency": priced.currency},
                    "whatsapp_url": link, "status_url": status_url}
            text = json.dumps(body, ensure_ascii=False)
            try:
                created, row = self.store.create_order(
                    key=key, fingerprint=digest, now=now, status_code=201, response=text,
                    order={"id": order_id, "location": location.id, "total": priced.total,
                           "currency": priced.currency, "data": stored},
                    deliveries=[{"pos_name": p.name, "provider": p.provider}
                                for p in location.enabled_pos])
                break
            except OrderIdTaken:  # another key's id (1 in 2**40 per stored order)
                order_id = new_order_id()
        if not created:
            return self._replay(row, digest)
        log.debug("order stored", extra={"order_id": order_id, "location": location.id,
                                         "total": priced.total, "lines": len(priced.lines)})
        self.wake.set()
        return 201, text, order_id

    def _replay(self, row: dict, digest: str) -> tuple[int, str, str]:
        if row["fingerprint"] != digest:
            raise OrderRejected("idempotency_mismatch", "this Idempotency-Key was used for a "
                                "different order; send a new key for a new order",
                                "Idempotency-Key", 422)
        return row["status_code"], row["response"], row["order_id"]

    def order_view(self, order_id: str) -> dict | None:
        """The order as ``GET /v1/orders/{id}`` shows it, or None."""
        row = self.store.order(order_id)
        if row is None:
            return None
        return {
            "order_id": row["id"], "status": row["status"], "location": row["location"],
            "lines": public_lines(row["data"]),
            "total": {"amount": row["total"], "currency": row["currency"]},
            "deliveries": [delivery_view(d) for d in row["deliveries"]],
            "created_at": iso(row["created_at"]),
        }

    # -- providers and availability ----------------------------------------------------------

    def provider(self, location_id: str, pos_name: str) -> Provider:
        """The provider instance of POS ``pos_name`` at a location (built once, then reused)."""
        key = (location_id, pos_name)
        with self._providers_lock:
            if key not in self._providers:
                location = self.config.location(location_id)
                pos = location.pos_named(pos_name)
                context = ProviderContext(location=location, pos_name=pos.name,
                                          currency=self.config.currency)
                self._providers[key] = provider_class(pos.provider)(pos.settings, context)
            return self._providers[key]

    def live(self, location_id: str) -> dict[str, bool]:
        """Live availability of a location (from webhooks), cached for a couple of seconds."""
        now = self.now()
        cached = self._live.get(location_id)
        if cached is None or cached[0] < now:
            cached = (now + _LIVE_TTL, self.store.availability(location_id))
            self._live[location_id] = cached
        return cached[1]

    def forget_live(self) -> None:
        """Drop the availability cache (after a stock webhook was applied)."""
        self._live.clear()


def delivery_view(row: dict) -> dict:
    """A delivery row as the API shows it."""
    return {"provider": row["provider"], "pos": row["pos_name"], "status": row["status"],
            "attempts": row["attempts"], "last_error": row["last_error"],
            "pos_ref": row["pos_ref"]}
