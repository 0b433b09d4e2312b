"""The Provider interface every POS integration implements (DESIGN §5).

A provider instance serves one POS of one location. It is built from that POS's validated
settings (declared in ``options``, mkdocs-plugin style) and a ``ProviderContext``. Providers never
print; they raise ``HugoPosError`` subclasses: ``PosUnavailable`` for what a retry may fix,
``ProviderError`` for what it will not.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hugo_pos.errors import HugoPosError

if TYPE_CHECKING:
    from hugo_pos.catalog import Catalog, SiteItem
    from hugo_pos.config import Location, Option


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may know about its surroundings.

    ``pos_name`` is the key under the location's ``pos:`` (e.g. ``loyverse``); ``site_items``
    the site's menu items (the local provider's catalog, and what ``push_items`` pushes);
    ``cache_dir`` a folder the provider may keep files in (e.g. downloaded images);
    ``static_dir`` the site's static/ folder, for files the site should serve.

    ``items`` may be a Future: the build reads the site while catalogs are being fetched, and
    ``site_items`` waits for it only when a provider actually needs the items.
    """

    location: Location
    pos_name: str
    currency: str
    items: tuple[SiteItem, ...] | Future = ()
    cache_dir: Path | None = None
    static_dir: Path | None = None

    @property
    def site_items(self) -> tuple[SiteItem, ...]:
        """The site's menu items (waiting for the site to be read, if it is still being read)."""
        return self.items.result() if isinstance(self.items, Future) else self.items


@dataclass(frozen=True)
class PosLineModifier:
    """A chosen modifier option on an order line; ``price`` is per unit, tax included."""

    name: str
    price: int
    pos: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PosLine:
    """An order line as priced by the relay; ``unit_price`` excludes modifiers, taxes included."""

    variant_id: str
    name: str
    quantity: int
    unit_price: int
    pos: dict[str, Any] = field(default_factory=dict)
    modifiers: tuple[PosLineModifier, ...] = ()
    note: str = ""

    @property
    def total(self) -> int:
        """The line's total in minor units: (unit price + modifiers) x quantity."""
        return (self.unit_price + sum(m.price for m in self.modifiers)) * self.quantity


@dataclass(frozen=True)
class PosOrder:
    """An order to submit to a POS, priced by the relay.

    ``order_id`` is ours (shown to the customer, unique); ``uuid`` is a stable UUID for POSes that
    deduplicate on one (Odoo 18+). ``created_at`` is ISO-8601 UTC.
    """

    order_id: str
    uuid: str
    location: str
    currency: str
    lines: tuple[PosLine, ...]
    total: int
    customer_name: str
    customer_phone: str
    fulfilment: str
    created_at: str
    customer_address: str = ""
    note: str = ""


@dataclass(frozen=True)
class PosRef:
    """Where an order landed in a POS: its id there and, when known, the POS's own total."""

    provider: str
    ref: str
    total: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """Something a POS told us, normalized.

    ``kind`` is ``order_status`` (``order_id`` + ``status``), ``stock`` (``variant_ids`` +
    ``available``) or ``catalog_changed``. ``event_id`` deduplicates replays. ``recheck``: the
    payload alone cannot settle it, so the relay asks the POS (``confirm_event``) even when the
    webhook is signed.
    """

    kind: str
    event_id: str
    order_id: str | None = None
    status: str | None = None
    location: str | None = None
    variant_ids: tuple[str, ...] = ()
    available: bool | None = None
    recheck: bool = False


@dataclass(frozen=True)
class SyncChange:
    """One step of a sync plan: ``action`` is ``create``, ``update`` or ``unchanged``.

    ``diffs`` maps each changed field to its ``(pos_value, site_value)``.
    """

    action: str
    key: str
    name: str
    diffs: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPlan:
    """What pushing the site menu into a POS would change (or changed, when ``applied``)."""

    provider: str
    location: str
    changes: tuple[SyncChange, ...]
    applied: bool = False

    @property
    def pending(self) -> tuple[SyncChange, ...]:
        """The changes that are not ``unchanged``."""
        return tuple(c for c in self.changes if c.action != "unchanged")


class Provider:
    """Base class of POS providers. Subclasses set ``name`` and ``options`` and override methods.

    ``account_key()`` identifies the POS account: providers of several locations that share an
    account may share one catalog pull (DESIGN: one pull per account).
    """

    name: ClassVar[str] = ""
    options: ClassVar[Mapping[str, Option]] = {}
    # Whether fetch_catalog asks a POS over the network: `build --offline` reads only those
    # catalogs from the cache.
    remote: ClassVar[bool] = True
    # Seconds the POS may go on working on a request after we gave up on its answer (a timeout,
    # a gateway's 502/504): the relay looks the order up only then, or it would not see it yet
    # and send it twice.
    settle_seconds: ClassVar[float] = 60.0
    # True when submit_order itself looks the order up first and finishes one it finds: after
    # an ambiguous failure the relay then calls it again rather than only find_order.
    submit_finds_first: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.context = context

    def account_key(self) -> str:
        """Return a string naming the POS account (defaults to location + POS name)."""
        return f"{self.context.location.id}/{self.context.pos_name}"

    def fetch_catalog(self) -> Catalog:
        """Return what this POS sells at this location, prices tax included, in minor units."""
        raise self._unsupported("fetch_catalog")

    @classmethod
    def fetch_catalogs(cls, providers: list[Provider]) -> list[Catalog]:
        """Return the catalogs of several providers that share one ``account_key()``.

        The build calls this once per account; a provider whose account serves several locations
        overrides it to pull the account once and project the result onto each location.
        """
        return [provider.fetch_catalog() for provider in providers]

    def submit_order(self, order: PosOrder) -> PosRef:
        """Create ``order`` in the POS and return where it landed.

        Raise ``PosUnavailable`` (with ``ambiguous=True`` when the POS may have created it) for
        a retryable failure, ``ProviderError`` for a permanent one.
        """
        raise self._unsupported("submit_order")

    def find_order(self, order_id: str) -> PosRef | None:
        """Return the POS's copy of our order ``order_id`` if it exists (dedupe after a timeout)."""
        raise self._unsupported("find_order")

    def push_items(self, items: tuple[SiteItem, ...], apply: bool) -> SyncPlan:
        """Plan creating/updating POS items from site items; with ``apply``, carry it out."""
        raise self._unsupported("push_items")

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """Return whether a webhook request is authentic (signature or URL token checked)."""
        raise self._unsupported("verify_webhook")

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Turn a webhook body into events (a hint to re-read from the POS when unsigned)."""
        raise self._unsupported("parse_webhook")

    def confirm_event(self, event: WebhookEvent) -> WebhookEvent | None:
        """Re-read what an unsigned webhook claims from the POS; None if it does not hold."""
        return event

    def _unsupported(self, what: str) -> HugoPosError:
        return HugoPosError(f"the {self.name} provider does not support {what}")
