"""Widget benchmark (DESIGN §8): the checkout widget's gzipped size and its render time.

Size: static/hugo-pos/checkout.js and checkout.css, gzip -9, each and together (target: at most
12 KB together).

Render: the OMG Sushi example with its menu replaced by ``--items`` generated items (default 200;
every fifth has a modifier group, every seventh two variants), built by ``hugo_pos build`` and the
real ``hugo``, served from loopback and opened in headless Chromium. The time is the widget's own
performance marks (``hugo-pos:render-start`` after menu.json arrived, ``hugo-pos:render-end``
after the menus and the cart are painted); median of ``--runs`` fresh page loads (target < 50 ms).

Run: ``python bench/widget_bench.py`` (``--quick``: 3 runs).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import HUGO_POS, REPO, machine, median, table, verdict

STATIC = REPO / "static" / "hugo-pos"
EXAMPLE = REPO / "examples" / "omgsushi"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
GENERATED = ("themes/hugo-pos", "data/hugo_pos", "static/hugo-pos/menu.json",
             "static/hugo-pos/config.js", ".hugo_pos", "public")


def sizes() -> list[list]:
    """Rows: file, bytes, gzip -9 bytes."""
    rows, together = [], b""
    for name in ("checkout.js", "checkout.css"):
        data = (STATIC / name).read_bytes()
        together += data
        rows.append([name, len(data), len(gzip.compress(data, 9))])
    rows.append(["js + css", len(together), len(gzip.compress(together, 9))])
    return rows


def write_menu(site: Path, n_items: int) -> None:
    """Replace the example's menu with ``n_items`` generated items in 10 categories."""
    menu = site / "content" / "menu"
    for child in menu.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
    for c in range(10):
        folder = menu / f"category-{c}"
        folder.mkdir()
        (folder / "_index.md").write_text(f"---\ntitle: Category {c}\nweight: {c}\n---\n")
    for i in range(n_items):
        extra = ""
        if i % 5 == 0:
            extra += ("modifiers:\n  - name: Extras\n    max: 2\n    options:\n"
                      "      - {name: Spicy mayo, price: 4}\n      - {name: Avocado, price: 6.5}\n")
        if i % 7 == 0:
            extra += (f"variants:\n  - {{name: 4 pc, sku: GEN-{i:04d}-4, price: 30}}\n"
                      f"  - {{name: 8 pc, sku: GEN-{i:04d}-8, price: 55}}\n")
        else:
            extra += f"price: {20 + i % 40}\n"
        (menu / f"category-{i % 10}" / f"item-{i:04d}.md").write_text(
            f"---\ntitle: Generated dish {i}\nsku: GEN-{i:04d}\nweight: {i}\n"
            f"description: A generated dish with a short description, number {i}.\n"
            f"{extra}---\n")


def build_site(tmp: Path, n_items: int, relay_url: str) -> Path:
    """Copy the example, generate its menu, run hugo_pos build and hugo; return public/.

    ``relay_url`` empty gives a WhatsApp-only site (the widget computes opening hours itself).
    """
    site = tmp / "site"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns(*GENERATED))
    write_menu(site, n_items)
    # Always open, so that every run paints the same 200 add buttons whatever the time of day
    # (a closed location shows "Closed" instead, a little less work).
    env = dict(os.environ, POS_API_URL=relay_url, HUGO_POS_IGNORE_HOURS="1")
    for args in ([HUGO_POS, "build", "--site", str(site), "-q"],
                 [str(Path(sys.executable).parent / "hugo"), "--quiet", "--source", str(site),
                  "--baseURL", "/", "--destination", str(site / "public")]):
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(args[:2])} failed:\n{done.stderr}")
    return site / "public"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_dir(root: Path):
    """Serve a folder on a loopback port; yields its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def render_times(origin: str, runs: int) -> tuple[list[float], dict]:
    """Load /order/ ``runs`` times in fresh pages; return the render times (ms) and counts."""
    from playwright.sync_api import sync_playwright

    times, counts = [], {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs + 1):  # the first load warms the browser and the file cache
                context = browser.new_context()
                context.route("**/*", lambda route: route.continue_()
                              if route.request.url.startswith(origin) else route.abort())
                page = context.new_page()
                page.goto(f"{origin}/order/")
                page.wait_for_function("window.HugoPos && window.HugoPos.ready")
                page.evaluate("window.HugoPos.ready.catch(() => null)")
                page.wait_for_function(
                    "performance.getEntriesByName('hugo-pos:render-end').length > 0")
                times.append(page.evaluate(
                    "performance.measure('bench', 'hugo-pos:render-start', "
                    "'hugo-pos:render-end').duration"))
                counts = page.evaluate(
                    "({menus: document.querySelectorAll('[data-hugo-pos-menu]').length, "
                    "buttons: document.querySelectorAll('.hugo-pos-add-btn').length, "
                    "nodes: document.getElementsByTagName('*').length})")
                context.close()
        finally:
            browser.close()
    return times[1:], counts


def main() -> None:
    """Print the sizes, then the render times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}\n")
    rows = sizes()
    print(table(rows, ["file", "bytes", "gzip -9 bytes"]))
    total = rows[-1][2]
    print(f"js + css gzipped: {total / 1024:.1f} KB  (target <= 12 KB: "
          f"{verdict(total <= 12 * 1024)})\n")
    rows = []
    for label, relay_url in (("with a relay (requests to it aborted)", "https://relay.invalid"),
                             ("WhatsApp only (no relay_url)", "")):
        with tempfile.TemporaryDirectory() as tmp:
            public = build_site(Path(tmp), args.items, relay_url)
            with serve_dir(public) as origin:
                times, counts = render_times(origin, args.runs)
        rows.append([label, f"{median(times):.1f}", f"{min(times):.1f}", f"{max(times):.1f}",
                     verdict(median(times) < 50), " ".join(f"{t:.0f}" for t in times)])
    print(f"{args.items} items x 3 locations on /order/: {counts['menus']} menus, "
          f"{counts['buttons']} add buttons, {counts['nodes']} elements after render; "
          f"{args.runs} fresh page loads each (marks hugo-pos:render-start -> render-end)")
    print(table(rows, ["site", "median ms", "min", "max", "<50 ms", "each run"]))


if __name__ == "__main__":
    main()
