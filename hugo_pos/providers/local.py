"""The embedded ``local`` provider: the site's own front matter is the catalog.

Orders to a location that runs only ``local`` are stored by the relay and shown on its kitchen
board: the board is the point of sale. No account, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from hugo_pos.catalog import Catalog, CatalogItem, CatalogModifier, CatalogOption, CatalogVariant
from hugo_pos.providers.base import PosOrder, PosRef, Provider


class LocalProvider(Provider):
    """Catalog from front matter; orders land on the relay's kitchen board."""

    name = "local"
    options: ClassVar[Mapping] = {}
    remote = False

    def fetch_catalog(self) -> Catalog:
        """Return the site items sold at this location, priced as their front matter says."""
        location = self.context.location.id
        items = tuple(
            CatalogItem(
                name=item.title, category=item.category, description=item.description,
                variants=tuple(
                    CatalogVariant(sku=item.variant_id(v), name=v.name, price=v.price,
                                   reason=None if v.price is not None else "variable_price")
                    for v in item.variants),
                modifiers=tuple(
                    CatalogModifier(name=g.name, options=tuple(
                        CatalogOption(name=o.name, price=o.price) for o in g.options))
                    for g in item.modifiers))
            for item in self.context.site_items if item.sold_at(location))
        return Catalog(provider="local", currency=self.context.currency, items=items)

    def submit_order(self, order: PosOrder) -> PosRef:
        """Accept the order as is: the relay's store and kitchen board hold it."""
        return PosRef(provider="local", ref=order.order_id, total=order.total)

    def find_order(self, order_id: str) -> PosRef | None:
        """Local orders live in the relay's store, so there is nothing else to look up."""
        return None
