"""The hugo-pos partials and shortcode, rendered by the real Hugo in small throwaway sites.

Each site gets the module the way `hugo_pos build` gives it (install_module), a hand-written
menu.json where the case needs one (e.g. a sold-out variant, which the local provider of the
example never produces), and one template or page that calls the partial under test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from menu_html import read_menu_html
from site_support import hugo_bin

from hugo_pos.module import install_module
from hugo_pos.money import format_money

AMOUNTS = (0, 1, 5, 9, 10, 29, 99, 100, 101, 999, 1000, 1001, 1234, 9999, 99999, 100000,
           123456, 1000000, 123456789, 2**53 - 1, -1, -29, -100, -123456)

MENU = {
    "version": "test", "currency": "TTD", "minor_units": 2,
    "locations": {"main": {
        "name": "Main Street", "kind": "restaurant", "whatsapp": "+1 (868) 555-0199",
        "timezone": "America/Port_of_Spain", "hours": None,
        "ordering": {"online": True, "fulfilment": ["pickup"],
                     "whatsapp_url": "https://wa.me/18685550199"},
        "categories": [{"id": "rolls", "name": "Rolls", "items": ["ROLL-A", "menu/rolls/b"]}],
        "items": {
            "ROLL-A": {
                "name": "Roll A & Co", "description": "Eel <b>and</b> rice", "image": "/img/a.jpg",
                "category": "Rolls",
                "variants": [
                    {"id": "ROLL-A-4", "name": "4 pc", "price": 5500, "available": False,
                     "reason": "sold_out", "pos": {}},
                    {"id": "ROLL-A-8", "name": "8 pc", "price": 123456, "available": True,
                     "reason": None, "pos": {}}],
                "modifier_groups": [{"id": "ROLL-A~sauce", "name": "Sauce", "min": 1, "max": 2,
                                     "options": [
                                         {"id": "o1", "name": "Eel sauce", "price": 0,
                                          "available": True, "pos": {}},
                                         {"id": "o2", "name": "Truffle", "price": 1250,
                                          "available": False, "pos": {}}]}]},
            "menu/rolls/b": {
                "name": "Roll B", "description": "", "image": "b.svg", "category": "Rolls",
                "variants": [{"id": "menu/rolls/b", "name": "Roll B", "price": 4000,
                              "available": False, "reason": "not_in_pos", "pos": {}}],
                "modifier_groups": []}}}}}


def make_site(root: Path, menu: dict | None, pages: dict[str, str],
              layouts: dict[str, str] | None = None, data: dict | None = None,
              config: str = "") -> Path:
    """Write a Hugo site using the hugo-pos module, with the given content and layouts."""
    root.mkdir(parents=True)
    (root / "hugo.toml").write_text(
        'baseURL = "https://shop.example/"\ntitle = "Test Shop"\ntheme = ["hugo-pos"]\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n' + config, encoding="utf-8")
    install_module(root)
    files = {f"content/{name}": text for name, text in pages.items()}
    files.update({f"layouts/{name}": text for name, text in (layouts or {}).items()})
    files.setdefault("layouts/page.html", "{{ .Content }}")
    files.setdefault("layouts/home.html", "{{ .Content }}")
    if menu is not None:
        files["data/hugo_pos/menu.json"] = json.dumps(menu)
    for name, value in (data or {}).items():
        files[f"data/{name}.json"] = json.dumps(value)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def hugo(site: Path) -> subprocess.CompletedProcess:
    """Run the real Hugo on ``site`` (output in site/public)."""
    return subprocess.run([hugo_bin(), "--source", str(site), "--destination",
                           str(site / "public")], capture_output=True, text=True, timeout=60)


MENU_PAGE = '---\ntitle: Menu\n---\n{{< hugo-pos-menu location="main" >}}\n'


@pytest.mark.parametrize(("currency", "digits"), [("TTD", 2), ("JPY", 0), ("KWD", 3)])
def test_money_matches_python_format_money(tmp_path: Path, currency: str, digits: int):
    amounts = [{"amount": a, "currency": currency, "minor_units": digits} for a in AMOUNTS]
    site = make_site(
        tmp_path / "site", None, {"_index.md": "---\ntitle: Home\n---\n"},
        layouts={"home.html": '{{ range (partial "hugo-pos/site-data.html" .).amounts -}}\n'
                              '{{ partial "hugo-pos/money.html" . }}|\n{{ end }}'},
        data={"amounts": amounts})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    shown = (site / "public/index.html").read_text("utf-8").split("|\n")[:-1]
    assert shown == [format_money(a, currency) for a in AMOUNTS]
    assert shown[:2] == ([f"{currency} 0", f"{currency} 1"] if digits == 0 else
                         [f"{currency} 0.{'0' * digits}", f"{currency} 0.{'0' * (digits - 1)}1"])


def test_money_takes_currency_from_the_menu_when_given_a_bare_amount(tmp_path: Path):
    site = make_site(tmp_path / "site", dict(MENU, currency="BHD", minor_units=3),
                     {"_index.md": "---\ntitle: Home\n---\n"},
                     layouts={"home.html": '[{{ partial "hugo-pos/money.html" 1234567 }}]'})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    assert "[BHD 1,234.567]" in (site / "public/index.html").read_text("utf-8")


def test_shortcode_renders_sold_out_and_unavailable_with_their_reasons(tmp_path: Path):
    site = make_site(tmp_path / "site", MENU, {"order.md": MENU_PAGE})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    html = (site / "public/order/index.html").read_text("utf-8")
    page = read_menu_html(html)
    assert list(page.items) == ["ROLL-A", "menu/rolls/b"]
    roll = page.items["ROLL-A"]
    assert roll.get("name") == "Roll A & Co"
    assert roll.get("description") == "Eel <b>and</b> rice"  # escaped, shown as text
    four, eight = roll.variants.values()
    assert (four.get("price"), four.get("unavailable")) == ("TTD 55.00", "Sold out")
    assert (four.attrs["data-available"], four.attrs["data-reason"]) == ("false", "sold_out")
    assert (eight.get("price"), eight.get("unavailable")) == ("TTD 1,234.56", "")
    truffle = roll.options["o2"]
    assert (truffle.get("price"), truffle.get("unavailable")) == ("+ TTD 12.50", "Sold out")
    assert "(choose 1 to 2)" in page.text
    assert 'data-min="1" data-max="2"' in html
    b = page.items["menu/rolls/b"].variants["menu/rolls/b"]
    assert b.get("unavailable") == "Not available online"
    assert b.get("name") == ""  # a single variant named like its item is not repeated
    assert '<img class="hugo-pos-item-image" src="/img/a.jpg" alt=""' in html
    assert '<img class="hugo-pos-item-image" src="b.svg" alt=""' in html  # no page to resolve it
    assert "https://wa.me/18685550199?text=Hi%20Test%20Shop%2C%20I%27d%20like%20to%20order%3A%20" \
        in page.links
    assert 'data-location="main" data-currency="TTD" data-minor-units="2"' in html


def test_items_link_to_their_pages_and_bundle_images_resolve(tmp_path: Path):
    site = make_site(tmp_path / "site", MENU, {
        "order.md": MENU_PAGE,
        "menu/rolls/a.md": "---\ntitle: Roll A\nsku: ROLL-A\n---\n",
        "menu/rolls/b/index.md": "---\ntitle: Roll B\n---\n",  # no sku: key is the path
        "menu/rolls/b/b.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>'})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    html = (site / "public/order/index.html").read_text("utf-8")
    assert 'href="/menu/rolls/a/">Roll A &amp; Co</a>' in html
    assert 'href="/menu/rolls/b/">Roll B</a>' in html
    assert '<img class="hugo-pos-item-image" src="/menu/rolls/b/b.svg" alt=""' in html
    assert (site / "public/menu/rolls/b/b.svg").is_file()
    assert read_menu_html(html).items["ROLL-A"].get("name") == "Roll A & Co"


def test_unknown_location_fails_the_build_naming_the_known_ones(tmp_path: Path):
    site = make_site(tmp_path / "site", MENU, {
        "order.md": '---\ntitle: Menu\n---\n{{< hugo-pos-menu location="nowhere" >}}\n'})

    done = hugo(site)

    assert done.returncode != 0
    assert 'hugo-pos menu: unknown location "nowhere"; menu.json has: main' in done.stderr


def test_site_not_built_yet_renders_a_notice_and_warns(tmp_path: Path):
    site = make_site(tmp_path / "site", None, {"order.md": MENU_PAGE})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    assert "hugo-pos: no menu data (data/hugo_pos/menu.json)" in done.stdout + done.stderr
    html = (site / "public/order/index.html").read_text("utf-8")
    assert "The menu is not built yet." in html and "data-hugo-pos-item" not in html


def test_shortcode_without_location_uses_the_page_location(tmp_path: Path):
    site = make_site(tmp_path / "site", MENU, {
        "here.md": "---\ntitle: Here\nlocation: main\n---\n{{< hugo-pos-menu >}}\n"})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    assert set(read_menu_html((site / "public/here/index.html").read_text("utf-8")).items) == {
        "ROLL-A", "menu/rolls/b"}


def test_a_language_without_hugo_pos_strings_falls_back_to_english(tmp_path: Path):
    site = make_site(tmp_path / "site", MENU, {"order.md": MENU_PAGE},
                     config='defaultContentLanguage = "fr"\n')

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    page = read_menu_html((site / "public/order/index.html").read_text("utf-8"))
    for text in ("Order on WhatsApp", "Prices in TTD, taxes included.", "(choose 1 to 2)",
                 "Sold out", "Not available online"):
        assert text in page.text
    assert "https://wa.me/18685550199?text=Hi%20Test%20Shop%2C%20I%27d%20like%20to%20order%3A%20" \
        in page.links


def test_the_menu_partials_also_take_the_page(tmp_path: Path):
    # As cart.html and assets.html do: `partial "hugo-pos/menus.html" .` in a layout.
    site = make_site(tmp_path / "site", MENU, {
        "all.md": "---\ntitle: All\n---\n", "here.md": "---\ntitle: Here\nlocation: main\n---\n"},
        layouts={"page.html": '{{ if .Params.location }}{{ partial "hugo-pos/menu.html" . }}'
                              '{{ else }}{{ partial "hugo-pos/menus.html" . }}{{ end }}'})

    done = hugo(site)

    assert done.returncode == 0, done.stderr
    for page in ("all", "here"):
        html = (site / "public" / page / "index.html").read_text("utf-8")
        assert set(read_menu_html(html).items) == {"ROLL-A", "menu/rolls/b"}, page
    assert "<h2" in (site / "public/all/index.html").read_text("utf-8")
