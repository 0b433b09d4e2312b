"""Loyverse modifiers for the menu push: account-wide, matched to site groups by name.

A Loyverse modifier is shared by every item that lists it in ``modifier_ids`` (notes §4), while
the site declares groups per item. So one modifier per group name carries the union of the
options every site item asks for; missing options are added, none is ever removed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hugo_pos.catalog import SiteItem, SiteOption
from hugo_pos.http import HttpClient
from hugo_pos.money import to_decimal
from hugo_pos.providers.loyverse_catalog import Account, live

READ_ONLY = ("created_at", "updated_at", "deleted_at")


class ModifierBook:
    """The account's modifiers by name and the options the site needs of each."""

    def __init__(self, account: Account, items: tuple[SiteItem, ...]) -> None:
        self.account = account
        self.by_name: dict[str, dict] = {}
        for modifier in live(account.modifiers):
            self.by_name.setdefault((modifier.get("name") or "").casefold(), modifier)
        self.names = {m["id"]: m.get("name") or "" for m in live(account.modifiers)}
        self.needed: dict[str, list[SiteOption]] = {}
        self.titles: dict[str, str] = {}
        for item in items:
            for group in item.modifiers:
                key = group.name.casefold()
                self.titles.setdefault(key, group.name)
                options = self.needed.setdefault(key, [])
                for option in group.options:
                    if option.name.casefold() not in {o.name.casefold() for o in options}:
                        options.append(option)

    def existing_options(self, name: str) -> list[str] | None:
        """The option names of the modifier called ``name``; None if there is none."""
        modifier = self.by_name.get(name.casefold())
        if modifier is None:
            return None
        return [o.get("name") or "" for o in live(modifier.get("modifier_options") or [])]

    def missing_options(self, name: str) -> list[SiteOption]:
        """Options the site needs that the existing modifier lacks ([] when none exists)."""
        have = self.existing_options(name)
        if have is None:
            return []
        known = {n.casefold() for n in have}
        return [o for o in self.needed.get(name.casefold(), []) if o.name.casefold() not in known]

    def diffs(self, site: SiteItem, attached: list[str]) -> dict[str, tuple[Any, Any]]:
        """What the push changes about this item's modifiers: attachments and options."""
        diffs: dict[str, tuple[Any, Any]] = {}
        have = {self.names.get(mid, "").casefold() for mid in attached}
        wanted = [g.name for g in site.modifiers]
        if any(name.casefold() not in have for name in wanted):
            current = sorted(self.names.get(mid, mid) for mid in attached)
            diffs["modifiers"] = (", ".join(current) or None, ", ".join(wanted))
        for name in wanted:
            missing = self.missing_options(name)
            if missing:
                have_options = self.existing_options(name) or []
                diffs[f"options[{name}]"] = (", ".join(have_options) or None, ", ".join(
                    have_options + [o.name for o in missing]))
        return diffs

    def ensure(self, client: HttpClient, name: str, to_json) -> str:
        """Create the modifier or add its missing options; return its id."""
        key = name.casefold()
        current = self.by_name.get(key)
        if current is None:
            body: dict[str, Any] = {"name": self.titles.get(key, name)[:40],
                                    "modifier_options": []}
            missing = self.needed.get(key, [])
        else:
            missing = self.missing_options(name)
            if not missing:
                return current["id"]
            body = {k: v for k, v in current.items() if k not in READ_ONLY}
            body["modifier_options"] = [{k: v for k, v in o.items() if k not in READ_ONLY}
                                        for o in live(current.get("modifier_options") or [])]
        start = len(body["modifier_options"])
        body["modifier_options"] += [
            {"name": o.name, "position": start + i,
             "price": to_decimal(o.price, self.account.currency, places=self.account.places)}
            for i, o in enumerate(missing)]
        saved = client.json_of(client.request("POST", "modifiers", json=to_json(body)), Decimal)
        self.by_name[key] = saved
        self.names[saved["id"]] = saved.get("name") or name
        return saved["id"]
