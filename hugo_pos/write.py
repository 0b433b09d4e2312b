"""WRITE: the build's output files (DESIGN §4), atomically and byte-stable.

* ``data/hugo_pos/menu.json``   for templates (``hugo.Data.hugo_pos.menu``)
* ``static/hugo-pos/menu.json`` the same, for the widget and the relay
* ``static/hugo-pos/config.js`` public settings for the widget (jinja2 template)

Only public fields are written: no POS setting ever reaches an output.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hugo_pos.catalog import Menu
from hugo_pos.config import SiteConfig

MENU_DATA = Path("data/hugo_pos/menu.json")
MENU_STATIC = Path("static/hugo-pos/menu.json")
CONFIG_JS = Path("static/hugo-pos/config.js")

# Every text of the checkout widget (static/hugo-pos/checkout.js); `strings:` in
# locations.yaml overrides any of them. "{name}" marks a value the widget fills in.
DEFAULT_STRINGS = {
    "add_to_cart": "Add to order",
    "cart": "Your order",
    "checkout": "Send order",
    "closed": "Closed now: online ordering opens again during opening hours.",
    "closed_short": "Closed",
    "open": "Open now: order online.",
    "sold_out": "Sold out",
    "not_available": "Not available here",
    "not_online": "Not available online",
    "variable_price": "Price on request: order by WhatsApp",
    "relay_down": "We could not reach our ordering system. Your order still goes by WhatsApp.",
    "price_changed": "Some prices changed. Please check your order and send it again.",
    "rate_limited": "Too many orders from here; please try again in {n} s.",
    "whatsapp_only": "Send your order on WhatsApp:",
    "order_sent": "Order received",
    "order_number": "Order number",
    "status": "Status",
    "status_received": "Received",
    "status_in_pos": "Sent to the kitchen",
    "status_attention": "The restaurant is checking your order",
    "status_completed": "Completed",
    "status_cancelled": "Cancelled",
    "sending": "Sending…",
    "whatsapp": "Send on WhatsApp",
    "empty_cart": "Your order is empty.",
    "total": "Total",
    "order_from": "Order from",
    "choose": "Choose",
    "choose_exactly": "choose {n}",
    "choose_up_to": "optional, up to {n}",
    "choose_between": "choose {min} to {max}",
    "need": "{group}: {rule}.",
    "quantity": "Quantity",
    "note": "Note (optional)",
    "order_note": "Note for the restaurant (optional)",
    "name": "Your name",
    "phone": "Phone",
    "address": "Delivery address",
    "how": "How would you like it?",
    "pickup": "Pickup",
    "delivery": "Delivery",
    "dine_in": "Dine in",
    "cancel": "Cancel",
    "more": "One more",
    "less": "One less",
    "remove": "Remove",
    "added": "Added: {what}.",
    "removed": "Removed: {what}.",
    "now": "Your order: {n} item(s), {total}.",
}


def render_menu_json(menu: Menu) -> str:
    """Return menu.json's text: compact, stable key order, UTF-8, newline-terminated."""
    return menu.json_text


def render_config_js(menu: Menu, config: SiteConfig) -> str:
    """Return config.js: the relay URL, the public facts of each location, the strings."""
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("hugo_pos", "templates"), autoescape=False,
                      keep_trailing_newline=True)
    public = {
        "relayUrl": config.relay_url,
        "currency": config.currency,
        "minorUnits": config.minor_units,
        "menuVersion": menu.version,
        "menuUrl": "/" + MENU_STATIC.relative_to("static").as_posix(),
        "locations": [
            {"id": loc.id, "name": loc.name, "kind": loc.kind, "whatsapp": loc.whatsapp,
             "timezone": loc.timezone, "fulfilment": list(loc.fulfilment),
             "hours": {d: list(r) for d, r in loc.hours.items()} if loc.hours is not None
             else None}
            for loc in config.locations],
        "strings": {**DEFAULT_STRINGS, **config.strings},
    }
    return env.get_template("config.js.j2").render(config=public)


def write_outputs(root: Path, menu: Menu, config: SiteConfig) -> list[Path]:
    """Write every output under the site ``root``; return the paths that changed.

    A file whose content is already identical is left alone (no needless `hugo server` reload).
    """
    menu_text = render_menu_json(menu)
    outputs = {MENU_DATA: menu_text, MENU_STATIC: menu_text,
               CONFIG_JS: render_config_js(menu, config)}
    return [path for path, text in outputs.items() if write_atomic(root / path, text)]


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` through a temporary file and a rename; False if unchanged."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
