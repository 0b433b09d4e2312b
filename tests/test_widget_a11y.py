"""The checkout widget's accessibility, keyboard use, small screens and no-JavaScript menus,
in headless Chromium against the example shop (see shop_support.py).

Run: pytest -m browser   (needs Debian's chromium; skipped without it, failed under CI).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from shop_support import MENU, add, cart_lines, text

from hugo_pos.hours import is_open

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """Run axe-core in the page; return its serious and critical findings, readable."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})"
                          ".then(r => r.violations)")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["/order/", "/locations/ariapita/", "/menu/rolls/dragon-roll/"])
def test_axe_finds_no_serious_violations(visit, path: str):
    v = visit(path)
    assert serious_violations(v.page) == []


def test_axe_finds_no_serious_violations_with_a_cart_and_the_item_dialog_open(visit):
    v = visit()
    add(v.page, "ariapita", "POKE-TUNA", options=("POKE-TUNA~base~greens",))
    v.page.click(f"{MENU.format('ariapita')} [data-hugo-pos-add='ROLL-DRAGON'] button")
    assert serious_violations(v.page) == []


def test_axe_finds_no_serious_violations_in_a_closed_location_and_after_an_order(visit):
    v = visit(block_relay=True)  # the WhatsApp fallback's message and link
    add(v.page, "ariapita", "SIDE-MISO")
    v.page.fill("#hp-name", "Axe")
    v.page.fill("#hp-phone", "+1 868 555 0100")
    with v.context.expect_page():
        v.page.click("[data-hp-send]")
    assert v.page.locator("[data-hp-result] [data-hp-wa]").is_visible()
    assert serious_violations(v.page) == []
    v.page.select_option("#hugo-pos-menus-loc", "mucurapo")  # closed: reasons instead of buttons
    assert v.page.locator(".hugo-pos-open.is-closed").count() == 2
    assert serious_violations(v.page) == []


def test_everything_works_from_the_keyboard_and_changes_are_announced(visit):
    page = visit().page
    announced = "document.querySelector('.hugo-pos-vh[role=status]').textContent"
    add_button = f"{MENU.format('ariapita')} [data-hugo-pos-add='ROLL-DRAGON'] button"
    page.focus(add_button)
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    assert page.evaluate("document.activeElement.value") == "ROLL-DRAGON-4"
    page.keyboard.press("ArrowDown")  # radios: the arrow picks the 8 pc
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowUp")  # quantity 1 -> 2
    page.keyboard.press("Tab")
    page.keyboard.type("no wasabi")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]", state="detached")
    assert page.evaluate("s => document.activeElement === document.querySelector(s)",
                         add_button)
    assert cart_lines(page) == ["2 × Dragon Roll (8 pc) “no wasabi”"]
    page.wait_for_function(f"{announced}.startsWith('Added: 2 × Dragon Roll (8 pc).')")

    page.keyboard.press("Enter")  # the same button again, then Escape: nothing added
    page.wait_for_selector("dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    assert len(cart_lines(page)) == 1

    page.focus("[data-hp-lines] [data-a=inc]")
    page.keyboard.press("Enter")
    assert cart_lines(page) == ["3 × Dragon Roll (8 pc) “no wasabi”"]
    assert page.evaluate("document.activeElement.dataset.a") == "inc"  # focus kept
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.wait_for_function(f"{announced}.startsWith('3 × Dragon Roll (8 pc).')")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Remove
    assert cart_lines(page) == []
    page.wait_for_function(f"{announced}.startsWith('Removed: Dragon Roll (8 pc).')")


def test_usable_on_a_360_px_screen(visit):
    page = visit(width=360).page
    add(page, "ariapita", "POKE-SALMON", options=("POKE-SALMON~base~sushi-rice",))
    width = "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    assert page.evaluate(width) <= 360
    page.click(f"{MENU.format('ariapita')} [data-hugo-pos-add='POKE-SALMON'] button")
    box = page.locator("dialog[open]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate(width) <= 360
    for control in ("dialog[open] button[type=submit]", "dialog[open] input[type=checkbox]"):
        assert page.locator(control).first.bounding_box()["height"] >= 20
    page.keyboard.press("Escape")
    for control in ("[data-hp-send]", "[data-hp-lines] [data-a=inc]",
                    f"{MENU.format('ariapita')} [data-hugo-pos-add] button"):
        assert page.locator(control).first.bounding_box()["height"] >= 44, control


def test_without_javascript_the_menus_render_with_whatsapp_links(visit, shop):
    v = visit(path=None, javascript=False)
    v.page.goto(shop.origin + "/order/")
    for location, entry in shop.menu["locations"].items():
        menu = v.page.locator(MENU.format(location))
        assert menu.is_visible()
        shown = menu.locator("[data-hugo-pos-item]").evaluate_all(
            "items => items.map(i => i.dataset.hugoPosItem)")
        assert sorted(shown) == sorted(entry["items"])
        [link] = menu.locator("a[href^='https://wa.me/']").evaluate_all(
            "links => links.map(a => a.href)")
        url = urlsplit(link)
        digits = "".join(c for c in shop.relay.config.location(location).whatsapp if c.isdigit())
        assert (url.netloc, url.path) == ("wa.me", f"/{digits}")
    assert v.page.locator("[data-hugo-pos-add] button").count() == 0
    assert v.page.locator("dialog").count() == 0
    assert text(v.page.inner_text("[data-hugo-pos-cart]")) == (
        "Your order To order, use the WhatsApp link of a location's menu.")
    assert v.page.locator("[data-hugo-pos-locations] a").count() == 3

    v.page.goto(shop.origin + "/locations/mucurapo/")
    assert v.page.locator(f"{MENU.format('mucurapo')} [data-hugo-pos-item]").count() == len(
        shop.menu["locations"]["mucurapo"]["items"])
    assert v.page.locator("a[href^='https://wa.me/18685550102']").count() == 1


def test_menu_rendering_is_marked_for_the_benchmark(visit):
    page = visit("/locations/ariapita/", fixed_clock=False).page
    start, end = page.evaluate("['hugo-pos:render-start', 'hugo-pos:render-end']"
                               ".map(n => performance.getEntriesByName(n)[0].startTime)")
    assert 0 < start <= end


def test_opening_hours_in_the_browser_follow_hugo_pos_hours(visit, shop):
    page = visit("/locations/ariapita/").page
    cases = []
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
    for location in shop.relay.config.locations:
        hours = None if location.hours is None else {d: list(r) for d, r in
                                                      location.hours.items()}
        for step in range(0, 7 * 24 * 4, 7):  # every 105 minutes over a week
            when = start + timedelta(minutes=15 * step)
            cases.append((hours, location.timezone, when))
    for hours in (None, {}, {"sun": ["22:00-24:00"], "mon": ["00:00-01:30"]}):
        cases.append((hours, "UTC", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)))
        cases.append((hours, "UTC", datetime(2026, 11, 22, 23, 0, tzinfo=UTC)))
    browser = page.evaluate(
        "cases => cases.map(([h, tz, t]) => HugoPos.openAt(h, tz, new Date(t)))",
        [[h, tz, when.isoformat()] for h, tz, when in cases])
    expected = [is_open(h, tz, when) for h, tz, when in cases]
    assert browser == expected
    assert True in expected and False in expected
