"""The OMG Sushi example as a running shop on loopback, for the checkout widget's browser tests.

``running_shop(tmp)`` copies the example, starts the real relay (``create_app``) on a free
loopback port with an injected clock, runs ``hugo_pos build`` with ``POS_API_URL`` pointing at
it and the real ``hugo``, and serves ``public/`` from a second loopback port (another origin,
allowed in the copy's ``site_origins``). ``new_page(browser, shop)`` opens a Chromium page
whose clock says the same time as the relay's and that can reach nothing but loopback.
"""

from __future__ import annotations

import contextlib
import functools
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from site_support import EXAMPLE, copy_site, hugo_bin

# Flags that work for the Debian chromium in containers and CI; no first-run or update traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
# Saturday 13:00 in Port of Spain (UTC-4 all year): Ariapita (12:00-24:00) and Diamond Vale
# (11:00-20:00) are open, the Mucurapo truck (Sat 18:00-02:00) is closed.
SATURDAY_1PM = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
WHATSAPP_STUB = "<!doctype html><title>WhatsApp</title><p>stub</p>"


class Clock:
    """The relay's clock: fixed unless a test moves it."""

    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


@dataclass
class Shop:
    """A running example shop: the site's origin, the relay's URL and the relay itself."""

    site: Path
    origin: str
    relay_url: str
    relay: object
    clock: Clock
    menu: dict = field(default_factory=dict)

    def orders(self, customer: str) -> list[dict]:
        """Orders the relay stored for a customer name, each as ``GET /v1/orders/{id}``."""
        rows = self.relay.store.orders()
        return [self.relay.order_view(row["id"]) for row in rows
                if row["data"]["customer"]["name"] == customer]

    def set_sold_out(self, location: str, variant_ids: list[str], sold_out: bool = True) -> None:
        """Report live stock as a POS webhook would."""
        self.relay.store.set_availability(location, variant_ids, not sold_out, self.clock())
        self.relay.forget_live()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _serve(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    import os

    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


# The example has no item with both variants and modifiers; the copy's California Roll gets some.
TOPPINGS = """modifiers:
  - name: Toppings
    min: 0
    max: 2
    options:
      - {name: Spicy mayo, price: 4}
      - {name: Extra tobiko, price: "6.50"}
"""


def _add_toppings(page: Path) -> None:
    _, front, body = page.read_text(encoding="utf-8").split("---\n", 2)
    page.write_text(f"---\n{front}{TOPPINGS}---\n{body}", encoding="utf-8")


@contextlib.contextmanager
def running_shop(tmp: Path) -> Iterator[Shop]:
    """Build and serve the example shop with its relay; stop both on exit."""
    import json

    from werkzeug.serving import WSGIRequestHandler, make_server

    from hugo_pos.relay.app import create_app
    from hugo_pos.relay.service import Relay
    from hugo_pos.relay.settings import RelaySettings

    site = copy_site(EXAMPLE, tmp / "omgsushi")
    _add_toppings(site / "content/menu/rolls/california.md")
    public = site / "public"
    web = ThreadingHTTPServer(("127.0.0.1", 0),
                              functools.partial(_Quiet, directory=str(public)))
    origin = f"http://127.0.0.1:{web.server_port}"
    locations = site / "data" / "locations.yaml"
    config = yaml.safe_load(locations.read_text(encoding="utf-8"))
    config["site_origins"] = [*config.get("site_origins", []), origin]
    locations.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    clock = Clock(SATURDAY_1PM)
    settings = RelaySettings(site=site, database_url=f"sqlite:///{tmp / 'relay.sqlite'}",
                             rate_limit=0, worker="off", clock=clock)
    relay = Relay(settings)
    class QuietRelay(WSGIRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:  # the app logs its own
            pass

    api = make_server("127.0.0.1", 0, create_app(relay=relay), threaded=True,
                      request_handler=QuietRelay)
    relay_url = f"http://127.0.0.1:{api.server_port}"
    _run([sys.executable, "-m", "hugo_pos", "build", "--site", str(site), "--quiet"],
         env={"POS_API_URL": relay_url})
    _run([hugo_bin(), "--source", str(site), "--destination", str(public),
          "--baseURL", origin + "/"])
    menu = json.loads((public / "hugo-pos" / "menu.json").read_text(encoding="utf-8"))
    threads = [_serve(web), _serve(api)]
    try:
        yield Shop(site, origin, relay_url, relay, clock, menu)
    finally:
        web.shutdown()
        api.shutdown()
        for thread in threads:
            thread.join(5)
        web.server_close()
        api.server_close()


@dataclass
class Visit:
    """A browser page on the shop: its context, the order POSTs it made, its script errors."""

    context: object
    page: object
    posts: list[dict]
    errors: list[str]


def new_page(browser, shop: Shop, *, javascript: bool = True, block_relay: bool = False,
             width: int = 360, fixed_clock: bool = True) -> Visit:
    """A page in a fresh browser context (empty localStorage) that reaches loopback only.

    WhatsApp links load a local stub; with ``block_relay`` the relay cannot be reached.
    ``posts`` collects the bodies of POST /v1/orders, ``errors`` uncaught script errors.
    ``fixed_clock`` False keeps the real clock (Playwright's fake one also fakes
    ``performance``, hiding the widget's performance marks).
    """
    # Reduced motion: no smooth scrolling, which Playwright would wait out before each click.
    context = browser.new_context(viewport={"width": width, "height": 740},
                                  java_script_enabled=javascript, locale="en-US",
                                  reduced_motion="reduce")
    if fixed_clock:
        context.clock.set_fixed_time(SATURDAY_1PM)
    posts: list[dict] = []

    def outside(route) -> None:
        if route.request.url.startswith("https://wa.me/"):
            route.fulfill(status=200, content_type="text/html", body=WHATSAPP_STUB)
        else:
            route.abort("blockedbyclient")

    # Regex and glob routes are matched inside the driver: loopback requests pay no round trip.
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:|data:)"), outside)
    if block_relay:
        context.route(shop.relay_url + "/**", lambda route: route.abort("connectionrefused"))
    context.on("request", lambda request: posts.append(request.post_data_json)
               if request.method == "POST" and request.url == shop.relay_url + "/v1/orders"
               else None)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return Visit(context, page, posts, errors)


MENU = "[data-hugo-pos-menu][data-location='{}']"


def go(page, url: str) -> None:
    """Load a page and wait until the widget has drawn it with live availability."""
    page.goto(url)
    page.wait_for_selector("html[data-hugo-pos=ready]", state="attached")


def text(value: str) -> str:
    """Page text with the non-breaking spaces of Intl's currency format made plain."""
    return " ".join(value.replace("\xa0", " ").split())


def add(page, location: str, key: str, *, variant: str | None = None,
        options: tuple[str, ...] = (), quantity: int = 1, note: str = "") -> None:
    """Add an item to the cart through its dialog, as a customer would."""
    page.click(f"{MENU.format(location)} [data-hugo-pos-add='{key}'] button")
    dialog = page.locator("dialog.hugo-pos-dialog[open]")
    if variant:
        dialog.locator(f"input[value='{variant}']").check()
    for option in options:
        dialog.locator(f"input[value='{option}']").check()
    if quantity != 1:
        dialog.locator("#hp-q").fill(str(quantity))
    if note:
        dialog.locator("#hp-n").fill(note)
    dialog.locator("button[type=submit]").click()
    page.wait_for_selector("dialog.hugo-pos-dialog[open]", state="detached")


def cart_lines(page) -> list[str]:
    """The cart's lines as shown: quantity, name, options, note, reason."""
    return [text(t) for t in page.locator("[data-hugo-pos-cart] .hugo-pos-line-name")
            .all_inner_texts()]


def cart_total(page) -> str:
    """The cart's total as shown."""
    return text(page.inner_text("[data-hp-total]"))


def fill_customer(page, name: str, phone: str = "+1 868 555 0199") -> None:
    """Type the customer's name and phone into the cart's form."""
    page.fill("#hp-name", name)
    page.fill("#hp-phone", phone)
