"""Helpers for the relay tests: a small site with a hand-made menu.json, a fake clock, an app."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import yaml

from hugo_pos.relay.app import create_app
from hugo_pos.relay.service import Relay
from hugo_pos.relay.settings import RelaySettings

# Tuesday 2026-11-24 15:00 in Port of Spain (UTC-4).
TUESDAY_3PM = 1795546800.0


class FakeClock:
    """A settable clock (epoch seconds) for the relay."""

    def __init__(self, now: float = TUESDAY_3PM) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def _option(oid: str, name: str, price: int, available: bool = True) -> dict:
    return {"id": oid, "name": name, "price": price, "available": available,
            "pos": {"local": {}, "fakepos": {"option_id": f"opt-{oid}"}}}


def _variant(vid: str, name: str, price: int | None, available: bool = True,
             reason: str | None = None) -> dict:
    return {"id": vid, "name": name, "price": price, "available": available, "reason": reason,
            "pos": {"local": {}, "fakepos": {"variant_id": f"pos-{vid}"},
                    "loyverse": {"item_id": f"item-{vid}", "variant_id": f"lv-{vid}"}}}


def _item(name: str, variants: list[dict], groups: list[dict] | None = None) -> dict:
    return {"name": name, "description": "", "image": "", "category": "Rolls",
            "variants": variants, "modifier_groups": groups or []}


def menu_json() -> dict:
    """menu.json of two locations (DESIGN §4 shape), prices in TTD cents."""
    items = {
        "ROLL-DRAGON": _item("Dragon Roll", [_variant("DRAGON-4", "4 pc", 5500),
                                             _variant("DRAGON-8", "8 pc", 9500)], [
            {"id": "DRAGON~extras", "name": "Extras", "min": 0, "max": 2, "options": [
                _option("DRAGON~extras~mayo", "Spicy mayo", 400),
                _option("DRAGON~extras~tobiko", "Tobiko", 1050),
                _option("DRAGON~extras~eel", "Eel sauce", 300)]}]),
        "ROLL-CALI": _item("California Roll", [_variant("CALI", "California Roll", 4850)]),
        "RAMEN": _item("Ramen", [_variant("RAMEN", "Ramen", 6000)], [
            {"id": "RAMEN~broth", "name": "Broth", "min": 1, "max": 1, "options": [
                _option("RAMEN~broth~shoyu", "Shoyu", 0),
                _option("RAMEN~broth~tonkotsu", "Tonkotsu", 500, available=False)]}]),
        "UNI": _item("Uni", [_variant("UNI", "Uni", 9000, False, "sold_out")]),
        "MARKET": _item("Market fish", [_variant("MARKET", "Market fish", None, False,
                                                 "variable_price")]),
    }
    location = {"kind": "restaurant", "timezone": "America/Port_of_Spain",
                "ordering": {"online": True, "fulfilment": ["pickup", "delivery"]},
                "categories": [{"id": "rolls", "name": "Rolls", "items": list(items)}],
                "items": items}
    return {"version": "v1", "currency": "TTD", "minor_units": 2, "locations": {
        "town": dict(location, name="Town", whatsapp="+1 868 555 0101",
                     hours={"tue": ["11:00-22:00"]}),
        "truck": dict(location, name="Truck", whatsapp="+1 868 555 0102", hours=None),
    }}


def write_site(root: Path, *, pos: dict | None = None, menu: dict | None = None,
               truck_pos: dict | None = None) -> Path:
    """Write a site with locations town (hours) and truck (always open) and its menu.json.

    ``pos`` is the ``pos:`` mapping of both locations (default: none, i.e. the local provider);
    ``truck_pos`` overrides it for the truck.
    """
    town = {"id": "town", "name": "Town", "kind": "restaurant", "whatsapp": "+1 868 555 0101",
            "timezone": "America/Port_of_Spain", "hours": {"tue": ["11:00-22:00"]},
            "fulfilment": ["pickup", "delivery"]}
    truck = {"id": "truck", "name": "Truck", "kind": "food-truck",
             "whatsapp": "+1 868 555 0102", "timezone": "America/Port_of_Spain"}
    if pos:
        town["pos"] = truck["pos"] = pos
    if truck_pos:
        truck["pos"] = truck_pos
    config = {"currency": "TTD", "relay_url": "https://relay.example.com",
              "site_origins": ["https://shop.example.com"], "locations": [town, truck]}
    (root / "data" / "hugo_pos").mkdir(parents=True, exist_ok=True)
    (root / "data" / "locations.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "data" / "hugo_pos" / "menu.json").write_text(json.dumps(menu or menu_json()))
    return root


def make_relay(site: Path, database_url: str, clock=None, **overrides) -> Relay:
    """A relay on ``site`` with no worker thread and no rate limit unless asked."""
    settings = RelaySettings.from_env({}, site=site, database_url=database_url,
                                      worker="off", rate_limit=0, board_token="board-secret",
                                      webhook_token="hook-token-0123456789")
    settings = replace(settings, clock=clock or FakeClock(), **overrides)
    return Relay(settings)


def make_app(relay: Relay):
    """The Flask app of ``relay``, in testing mode."""
    app = create_app(relay=relay)
    app.testing = True
    return app


def order_body(location: str = "town", **changes) -> dict:
    """A valid order: 2 x Dragon 8 pc + Spicy mayo, 1 x California; total 2 x 9900 + 4850."""
    body = {"location": location,
            "items": [{"id": "DRAGON-8", "quantity": 2, "modifiers": ["DRAGON~extras~mayo"],
                       "note": "no wasabi"},
                      {"id": "CALI", "quantity": 1}],
            "customer": {"name": "Ana", "phone": "+1 868 555 0199"},
            "fulfilment": "pickup", "expected_total": 24650}
    body.update(changes)
    return body


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid``: children of any of its threads (gunicorn's master
    starts the delivery process from a thread), recursively. Linux /proc only."""
    found = []
    for children in Path(f"/proc/{pid}").glob("task/*/children"):
        try:
            pids = [int(p) for p in children.read_text().split()]
        except FileNotFoundError:
            continue
        for child in pids:
            found += [child, *descendants(child)]
    return [p for p in found if alive(p)]


def is_delivery(pid: int) -> bool:
    """Whether ``pid`` is a delivery process (``python -m hugo_pos.relay.supervise``)."""
    try:
        return b"hugo_pos.relay.supervise" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
