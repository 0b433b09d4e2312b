"""The checkout widget outside the menu: add-to-cart on an item's own page, and money formats
(headless Chromium against the example shop, see shop_support.py).

Run: pytest -m browser   (needs Debian's chromium; skipped without it, failed under CI).
"""

from __future__ import annotations

import json
import re

import pytest
from shop_support import cart_lines, go, text

pytestmark = pytest.mark.browser


def test_an_item_page_adds_to_the_cart_of_the_row_s_location(visit):
    page = visit("/menu/rolls/dragon-roll/").page
    rows = {loc: page.locator(f"tr[data-location='{loc}'] [data-hugo-pos-add]")
            for loc in ("ariapita", "mucurapo", "diamond-vale")}
    assert text(rows["mucurapo"].inner_text()) == "Closed"  # Saturday 13:00: the truck is shut
    assert page.locator("[data-hugo-pos-cart]").count() == 1  # added after the page's content

    rows["diamond-vale"].locator("button").click()
    page.locator("dialog[open] input[value='ROLL-DRAGON-8']").check()
    page.locator("dialog[open] button[type=submit]").click()

    assert page.input_value("#hugo-pos-loc") == "diamond-vale"
    assert cart_lines(page) == ["1 × Dragon Roll (8 pc)"]
    go(page, page.url)
    assert page.input_value("#hugo-pos-loc") == "diamond-vale"
    assert cart_lines(page) == ["1 × Dragon Roll (8 pc)"]


@pytest.mark.parametrize(("currency", "digits", "amounts", "shown"), [
    ("TTD", 2, [0, 5, 123405, -2999, 2**53 - 1],
     ["TTD 0.00", "TTD 0.05", "TTD 1,234.05", "-TTD 29.99", "TTD 90,071,992,547,409.91"]),
    ("JPY", 0, [0, 1200, 1234567], ["¥0", "¥1,200", "¥1,234,567"]),
    ("KWD", 3, [1005, 1], ["KWD 1.005", "KWD 0.001"]),
])
def test_money_is_exact_and_formatted_for_the_currency(visit, shop, currency, digits, amounts,
                                                        shown):
    v = visit(path=None)

    def other_currency(route) -> None:
        body = route.fetch().text()
        body = re.sub(r'"currency": "[A-Z]+"', f'"currency": {json.dumps(currency)}', body)
        body = re.sub(r'"minorUnits": \d', f'"minorUnits": {digits}', body)
        route.fulfill(status=200, content_type="text/javascript", body=body)

    v.page.route(re.compile(r"/hugo-pos/config\.js"), other_currency)
    go(v.page, shop.origin + "/order/")
    formatted = v.page.evaluate("amounts => amounts.map(HugoPos.money)", amounts)
    assert [text(f) for f in formatted] == shown


def test_a_detail_the_relay_refuses_is_explained_and_focused(visit, shop):
    page = visit().page
    page.click("[data-hugo-pos-menu][data-location='ariapita'] "
               "[data-hugo-pos-add='NIGIRI-EBI'] button")
    page.locator("dialog[open] button[type=submit]").click()
    page.fill("#hp-name", "Bad Phone")
    page.fill("#hp-phone", "(((( ))))")  # fits the field's pattern, has no digits

    page.click("[data-hp-send]")
    page.wait_for_function("document.querySelector('[data-hp-err]').textContent !== ''")

    assert text(page.inner_text("[data-hp-err]")) == (
        "customer.phone must be a phone number (7-15 digits)")
    assert page.evaluate("document.activeElement.id") == "hp-phone"
    assert shop.orders("Bad Phone") == []
