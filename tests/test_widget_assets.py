"""The checkout widget's files: size budget, texts, and how the Hugo module carries them."""

from __future__ import annotations

import gzip
import re

from site_support import REPO

from hugo_pos.config import FULFILMENTS
from hugo_pos.module import install_module
from hugo_pos.write import DEFAULT_STRINGS

WIDGET = REPO / "static" / "hugo-pos"
ORDER_STATUSES = ("received", "in_pos", "attention", "completed", "cancelled")


def test_checkout_js_and_css_gzipped_fit_in_12_kb():
    sizes = {name: len(gzip.compress((WIDGET / name).read_bytes(), compresslevel=9, mtime=0))
             for name in ("checkout.js", "checkout.css")}
    assert sum(sizes.values()) <= 12 * 1024, sizes


def test_the_widget_has_no_dependencies_and_reaches_only_the_relay_and_whatsapp():
    js = (WIDGET / "checkout.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*import\b|\brequire\(|\bimport\(", js, re.M)
    assert re.findall(r"https?://[^\s'\"`$]*", js) == ["https://wa.me/"]


def test_every_text_the_widget_shows_comes_from_config_js():
    js = (WIDGET / "checkout.js").read_text(encoding="utf-8")
    literal = set(re.findall(r"\bS\('([a-z_]+)'[,)]", js))
    built = {*FULFILMENTS, *(f"status_{s}" for s in ORDER_STATUSES),
             "name", "phone", "address", "order_note", "relay_down", "whatsapp_only"}
    assert literal  # the pattern still finds the widget's texts
    assert sorted((literal | built) - set(DEFAULT_STRINGS)) == []


def test_the_module_copied_into_a_site_carries_the_widget(tmp_path):
    site = tmp_path / "site"
    site.mkdir()

    theme = install_module(site)

    for name in ("checkout.js", "checkout.css"):
        assert (theme / "static/hugo-pos" / name).read_bytes() == (WIDGET / name).read_bytes()
    for partial in ("assets", "add-to-cart", "cart", "menus", "menu", "item"):
        assert (theme / f"layouts/_partials/hugo-pos/{partial}.html").is_file()
    assert (theme / "layouts/_shortcodes/hugo-pos-cart.html").is_file()


def test_the_repository_root_works_as_a_hugo_module(tmp_path):
    """A site importing this repository in [module.imports] (resolved locally here through
    HUGO_MODULE_REPLACEMENTS; from git, `hugo mod get` fetches it) gets partials and widget."""
    import json
    import os
    import subprocess

    from site_support import hugo_bin

    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "layouts").mkdir()
    (site / "data" / "hugo_pos").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "https://shop.example/"\ntitle = "Module Shop"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
        '[[module.imports]]\npath = "example.org/acme/hugo-pos"\n', encoding="utf-8")
    (site / "layouts" / "home.html").write_text("{{ .Content }}", encoding="utf-8")
    (site / "content" / "_index.md").write_text(
        '---\ntitle: Home\n---\n{{< hugo-pos-menu location="main" >}}\n{{< hugo-pos-cart >}}\n',
        encoding="utf-8")
    item = {"name": "Miso Soup", "description": "", "image": "", "category": "Sides",
            "variants": [{"id": "MISO", "name": "Miso Soup", "price": 1500, "available": True,
                          "reason": None, "pos": {}}], "modifier_groups": []}
    menu = {"version": "v1", "currency": "TTD", "minor_units": 2, "locations": {"main": {
        "name": "Main", "kind": "restaurant", "whatsapp": "+1 868 555 0100",
        "timezone": "UTC", "hours": None,
        "ordering": {"online": False, "fulfilment": ["pickup"], "whatsapp_url": ""},
        "categories": [{"id": "sides", "name": "Sides", "items": ["MISO"]}],
        "items": {"MISO": item}}}}
    (site / "data" / "hugo_pos" / "menu.json").write_text(json.dumps(menu), encoding="utf-8")

    done = subprocess.run(
        [hugo_bin(), "--source", str(site), "--destination", str(site / "public")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "HUGO_MODULE_REPLACEMENTS": f"example.org/acme/hugo-pos -> {REPO}"})

    assert done.returncode == 0, done.stderr
    html = (site / "public" / "index.html").read_text(encoding="utf-8")
    assert 'data-hugo-pos-add="MISO" data-location="main"' in html
    assert 'id="hugo-pos-cart" data-hugo-pos-cart' in html
    assert '<script src="/hugo-pos/checkout.js" defer></script>' in html
    for name in ("checkout.js", "checkout.css"):
        assert (site / "public/hugo-pos" / name).read_bytes() == (WIDGET / name).read_bytes()
