"""The checkout widget end to end in headless Chromium (DESIGN §7).

The OMG Sushi example is built by `hugo_pos build` and the real `hugo`, served from loopback,
and orders go to the real relay on another loopback port (see shop_support.py). The browser's
clock and the relay's say Saturday 13:00 in Port of Spain: Ariapita and Diamond Vale are open,
the Mucurapo truck is closed.

Run: pytest -m browser   (needs Debian's chromium; skipped without it, failed under CI).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from shop_support import MENU, add, cart_lines, cart_total, fill_customer, go, text

from hugo_pos.money import format_money
from hugo_pos.relay.service import order_id_for

pytestmark = pytest.mark.browser


def money(amount: int) -> str:
    return format_money(amount, "TTD")


def price(shop, location: str, key: str, variant: str | None = None) -> int:
    item = shop.menu["locations"][location]["items"][key]
    return next(v["price"] for v in item["variants"] if v["id"] == (variant or key))


def option_id(shop, key: str, name: str, location: str = "ariapita") -> str:
    item = shop.menu["locations"][location]["items"][key]
    return next(o["id"] for g in item["modifier_groups"] for o in g["options"]
                if o["name"] == name)


def option_price(shop, location: str, key: str, option: str) -> int:
    item = shop.menu["locations"][location]["items"][key]
    return next(o["price"] for g in item["modifier_groups"] for o in g["options"]
                if o["id"] == option)


def test_cart_survives_a_reload_follows_the_location_and_the_order_reaches_the_relay(
        shop, visit):
    v = visit()
    page = v.page
    toppings = [option_id(shop, "ROLL-CALIFORNIA", name) for name in ("Spicy mayo",
                                                                       "Extra tobiko")]
    add(page, "ariapita", "ROLL-CALIFORNIA", variant="ROLL-CALIFORNIA-8", options=tuple(toppings),
        quantity=2)
    add(page, "ariapita", "POKE-SALMON", options=("POKE-SALMON~base~brown-rice",
                                                  "POKE-SALMON~extras~avocado"),
        note="no ginger")
    roll = 2 * (price(shop, "ariapita", "ROLL-CALIFORNIA", "ROLL-CALIFORNIA-8") + sum(
        option_price(shop, "ariapita", "ROLL-CALIFORNIA", o) for o in toppings))
    poke = price(shop, "ariapita", "POKE-SALMON") + sum(
        option_price(shop, "ariapita", "POKE-SALMON", o)
        for o in ("POKE-SALMON~base~brown-rice", "POKE-SALMON~extras~avocado"))
    assert roll == 2 * (6000 + 400 + 650)
    lines = ["2 × California Roll (8 pc) + Spicy mayo, Extra tobiko",
             "1 × Salmon Poke Bowl + Brown rice, Avocado “no ginger”"]
    assert cart_lines(page) == lines
    assert cart_total(page) == money(roll + poke)

    go(page, shop.origin + "/order/")
    assert cart_lines(page) == lines
    assert cart_total(page) == money(roll + poke)

    page.select_option("#hugo-pos-loc", "diamond-vale")
    assert page.is_hidden(MENU.format("ariapita"))
    assert page.is_visible(MENU.format("diamond-vale"))
    assert cart_lines(page) == []
    add(page, "diamond-vale", "SIDE-GYOZA", options=("SIDE-GYOZA~style~steamed",))
    assert cart_lines(page) == ["1 × Gyoza + Steamed"]

    go(page, shop.origin + "/order/")  # the picked location is remembered
    assert page.input_value("#hugo-pos-loc") == "diamond-vale"
    assert cart_lines(page) == ["1 × Gyoza + Steamed"]
    page.select_option("#hugo-pos-menus-loc", "ariapita")  # the picker above the menus
    assert page.input_value("#hugo-pos-loc") == "ariapita"
    assert cart_lines(page) == lines

    fill_customer(page, "Ana Lee")
    with v.context.expect_page() as whatsapp:
        page.click("[data-hp-send]")
    page.wait_for_selector("[data-hp-order]")
    order_id = page.inner_text("[data-hp-order]")
    assert text(page.inner_text("[data-hp-status]")) == "Received"

    [order] = shop.orders("Ana Lee")
    assert order["order_id"] == order_id
    assert order["location"] == "ariapita"
    assert order["total"] == {"amount": roll + poke, "currency": "TTD"}
    assert [(line["id"], line["quantity"], [m["id"] for m in line["modifiers"]], line["note"])
            for line in order["lines"]] == [
        ("ROLL-CALIFORNIA-8", 2, toppings, ""),
        ("POKE-SALMON", 1, ["POKE-SALMON~base~brown-rice", "POKE-SALMON~extras~avocado"],
         "no ginger")]
    sent = shop.relay.store.order(order_id)["data"]
    assert page.get_attribute("[data-hp-wa]", "href") == sent["whatsapp_url"]
    whatsapp.value.wait_for_load_state()
    assert whatsapp.value.url == sent["whatsapp_url"]
    assert cart_lines(page) == []

    shop.relay.store.set_order_status(order_id, "completed", shop.clock())
    page.wait_for_selector("[data-hp-status='completed']", timeout=15000)
    assert text(page.inner_text("[data-hp-status]")) == "Completed"
    page.wait_for_function("document.querySelector('.hugo-pos-vh[role=status]')"
                           ".textContent.includes('Completed')")
    assert cart_lines(page) == []


def test_a_double_click_sends_one_order(shop, visit):
    v = visit()
    add(v.page, "ariapita", "NIGIRI-SALMON")
    fill_customer(v.page, "Double Click")

    v.page.dblclick("[data-hp-send]")
    v.page.wait_for_selector("[data-hp-order]")

    assert len(v.posts) == 1
    assert len(shop.orders("Double Click")) == 1


def test_a_retry_after_a_lost_answer_reuses_the_idempotency_key(shop, visit):
    v = visit()
    add(v.page, "ariapita", "NIGIRI-TUNA")
    fill_customer(v.page, "Lost Answer")
    keys = []

    def lose_answer(route) -> None:  # the relay stores the order, the answer never arrives
        keys.append(route.request.headers["idempotency-key"])
        route.fetch()
        route.abort("connectionreset")

    v.page.route(f"{shop.relay_url}/v1/orders", lose_answer)
    v.page.click("[data-hp-send]")
    v.page.wait_for_selector("[data-hp-result] .hugo-pos-error")
    # The WhatsApp message names the order the relay kept: staff can tell it is one order.
    [order] = shop.orders("Lost Answer")
    assert v.page.inner_text("[data-hp-ref]") == order["order_id"] == order_id_for(keys[0])
    [message] = parse_qs(urlsplit(v.page.get_attribute("[data-hp-wa]", "href")).query)["text"]
    assert message.splitlines()[0] == f"Order {order['order_id']} · Ariapita Avenue, Port of Spain"
    v.page.unroute(f"{shop.relay_url}/v1/orders")
    v.page.route(f"{shop.relay_url}/v1/orders",
                 lambda route: (keys.append(route.request.headers["idempotency-key"]),
                                route.continue_()))
    v.page.click("[data-hp-send]")
    v.page.wait_for_selector("[data-hp-order]")

    assert len(keys) == 2 and keys[0] == keys[1]
    assert shop.orders("Lost Answer") == [order]
    assert v.page.inner_text("[data-hp-order]") == order["order_id"]


def test_a_sold_out_item_cannot_be_ordered(shop, visit):
    shop.set_sold_out("ariapita", ["ROLL-RAINBOW"])
    try:
        v = visit()
        add_area = v.page.locator(f"{MENU.format('ariapita')} [data-hugo-pos-add='ROLL-RAINBOW']")
        assert add_area.locator("button").count() == 0
        assert text(add_area.inner_text()) == "Sold out"

        # In the cart before it sold out: the relay refuses it and the cart says why.
        add(v.page, "ariapita", "ROLL-CARIBBEAN")
        fill_customer(v.page, "Too Late")
        shop.set_sold_out("ariapita", ["ROLL-CARIBBEAN"])
        v.page.click("[data-hp-send]")
        v.page.wait_for_selector(".hugo-pos-line.is-unavailable")
        assert cart_lines(v.page) == ["1 × Caribbean Roll Sold out"]
        assert v.page.is_disabled("[data-hp-send]")
        assert text(v.page.inner_text("[data-hp-err]")) == "Caribbean Roll: Sold out"
        assert shop.orders("Too Late") == []
    finally:
        shop.set_sold_out("ariapita", ["ROLL-RAINBOW", "ROLL-CARIBBEAN"], sold_out=False)


def test_a_closed_location_cannot_be_ordered_from(shop, visit):
    v = visit()
    page = v.page
    page.select_option("#hugo-pos-loc", "mucurapo")
    menu = page.locator(MENU.format("mucurapo"))
    closed = "Closed now: online ordering opens again during opening hours."
    assert text(menu.locator(".hugo-pos-open").inner_text()) == closed
    assert menu.locator("[data-hugo-pos-add] button").count() == 0
    assert set(menu.locator("[data-hugo-pos-add] strong").all_inner_texts()) == {"Closed"}
    assert text(page.inner_text("#hugo-pos-cart-open")) == closed
    assert page.is_disabled("[data-hp-send]")

    # A cart filled while it was open: still refused, by the widget and by the relay.
    page.evaluate("""localStorage.setItem('hugo-pos:cart:mucurapo',
        JSON.stringify({l: [{id: 'NIGIRI-SALMON', m: [], q: 1, n: ''}], f: '', p: {}}))""")
    go(page, shop.origin + "/order/")
    assert cart_lines(page) == ["1 × Salmon Nigiri"]
    assert page.is_disabled("[data-hp-send]")
    page.evaluate("document.querySelector('[data-hp-send]').disabled = false")
    fill_customer(page, "Night Owl")
    page.click("[data-hp-send]")
    page.wait_for_function("document.querySelector('[data-hp-err]').textContent !== ''")
    assert text(page.inner_text("[data-hp-err]")) == closed
    assert shop.orders("Night Owl") == []


def test_relay_down_still_sends_the_order_by_whatsapp(shop, visit):
    v = visit(block_relay=True)
    page = v.page
    page.select_option("#hugo-pos-loc", "mucurapo")  # opening hours from config.js instead
    assert page.locator(f"{MENU.format('mucurapo')} .hugo-pos-open.is-closed").is_visible()
    assert page.is_disabled("[data-hp-send]")
    page.select_option("#hugo-pos-loc", "ariapita")
    assert page.locator(f"{MENU.format('ariapita')} .hugo-pos-open.is-open").is_visible()
    add(page, "ariapita", "ROLL-DRAGON", variant="ROLL-DRAGON-4")
    add(page, "ariapita", "SIDE-EDAMAME", options=("SIDE-EDAMAME~seasoning~garlic-chili",),
        quantity=2, note="extra salt")
    fill_customer(page, "Offline Olivia", "+1 (868) 555-0142")
    page.check("input[name=f][value=delivery]")
    page.fill("#hp-address", "12 Ariapita Ave")
    keys = []
    page.on("request", lambda request: keys.append(request.headers.get("idempotency-key"))
            if request.method == "POST" else None)

    with v.context.expect_page() as whatsapp:
        page.click("[data-hp-send]")
    page.wait_for_selector("[data-hp-wa]")

    assert text(page.inner_text("[data-hp-result] .hugo-pos-error")) == (
        "We could not reach our ordering system. Your order still goes by WhatsApp.")
    href = page.get_attribute("[data-hp-wa]", "href")
    url = urlsplit(href)
    assert (url.scheme, url.netloc, url.path) == ("https", "wa.me", "/18685550101")
    assert "+" not in url.query and " " not in url.query
    dragon = price(shop, "ariapita", "ROLL-DRAGON", "ROLL-DRAGON-4")
    edamame = 2 * (price(shop, "ariapita", "SIDE-EDAMAME") + option_price(
        shop, "ariapita", "SIDE-EDAMAME", "SIDE-EDAMAME~seasoning~garlic-chili"))
    [message] = parse_qs(url.query)["text"]
    [key] = keys  # the id the relay would give the order: staff can look it up when it is back
    assert page.inner_text("[data-hp-ref]") == order_id_for(key)
    assert message.replace("\xa0", " ") == "\n".join([
        f"Order {order_id_for(key)} · Ariapita Avenue, Port of Spain",
        f"1 × Dragon Roll (4 pc) — {money(dragon)}",
        f"2 × Edamame + Garlic chili — {money(edamame)}",
        "   (extra salt)",
        f"Total: {money(dragon + edamame)}",
        "Delivery for Offline Olivia, +1 (868) 555-0142",
        "Address: 12 Ariapita Ave"])
    whatsapp.value.wait_for_load_state()
    assert whatsapp.value.url == href
    assert len(cart_lines(page)) == 2  # kept: nothing reached the kitchen's system


def test_changed_prices_are_shown_and_the_customer_asked_again(shop, visit):
    v = visit(path=None)
    real = price(shop, "ariapita", "ROLL-RAINBOW")

    def stale_menu(route) -> None:  # the browser holds an older menu.json than the relay
        menu = json.loads(route.fetch().text())
        menu["locations"]["ariapita"]["items"]["ROLL-RAINBOW"]["variants"][0]["price"] = real - 500
        route.fulfill(status=200, content_type="application/json", body=json.dumps(menu))

    v.page.route("**/hugo-pos/menu.json", stale_menu)
    go(v.page, shop.origin + "/order/")
    add(v.page, "ariapita", "ROLL-RAINBOW")
    fill_customer(v.page, "Price Check")
    assert cart_total(v.page) == money(real - 500)

    v.page.click("[data-hp-send]")
    v.page.wait_for_function("document.querySelector('[data-hp-err]').textContent !== ''")
    assert text(v.page.inner_text("[data-hp-err]")) == (
        "Some prices changed. Please check your order and send it again.")
    assert cart_total(v.page) == money(real)
    assert shop.orders("Price Check") == []

    v.page.click("[data-hp-send]")
    v.page.wait_for_selector("[data-hp-order]")
    [order] = shop.orders("Price Check")
    assert order["total"]["amount"] == real
    assert [p["expected_total"] for p in v.posts] == [real - 500, real]


def test_the_item_dialog_enforces_modifier_rules_and_prices_the_choice(shop, visit):
    page = visit().page
    page.click(f"{MENU.format('ariapita')} [data-hugo-pos-add='SIDE-EDAMAME'] button")
    dialog = page.locator("dialog[open]")
    salt, chili = (dialog.locator(f"input[value='SIDE-EDAMAME~seasoning~{o}']")
                   for o in ("sea-salt", "garlic-chili"))
    salt.check()  # "optional, up to 1": the other option is locked until this one is undone
    assert chili.is_disabled()
    salt.uncheck()
    chili.check()
    dialog.locator("#hp-q").fill("3")
    each = price(shop, "ariapita", "SIDE-EDAMAME") + option_price(
        shop, "ariapita", "SIDE-EDAMAME", "SIDE-EDAMAME~seasoning~garlic-chili")
    assert text(dialog.locator("[data-hp-dtotal]").inner_text()) == money(3 * each)
    dialog.locator("button[type=submit]").click()
    assert cart_lines(page) == ["3 × Edamame + Garlic chili"]

    page.click(f"{MENU.format('ariapita')} [data-hugo-pos-add='POKE-TOFU'] button")
    page.locator("dialog[open] button[type=submit]").click()  # no base chosen: "choose 1"
    assert page.locator("dialog[open]").is_visible()
    assert page.evaluate("document.querySelector('dialog[open] [name=g0]').validity.valid") is False
    page.locator("dialog[open] input[value='POKE-TOFU~base~greens']").check()
    page.locator("dialog[open] button[type=submit]").click()
    assert cart_lines(page) == ["3 × Edamame + Garlic chili", "1 × Tofu Poke Bowl + Greens"]


def test_without_a_relay_url_orders_go_by_whatsapp_only(shop, visit):
    v = visit(path=None)

    def no_relay(route) -> None:  # as built from a locations.yaml with relay_url empty
        body = re.sub(r'"relayUrl": "[^"]*"', '"relayUrl": ""', route.fetch().text())
        route.fulfill(status=200, content_type="text/javascript", body=body)

    v.page.route(re.compile(r"/hugo-pos/config\.js"), no_relay)
    go(v.page, shop.origin + "/order/")
    add(v.page, "ariapita", "SIDE-MISO")
    fill_customer(v.page, "No Relay")
    assert text(v.page.inner_text("[data-hp-send]")) == "Send on WhatsApp"

    with v.context.expect_page() as whatsapp:
        v.page.click("[data-hp-send]")
    v.page.wait_for_selector("[data-hp-wa]")

    assert text(v.page.inner_text("[data-hp-result] .hugo-pos-note")) == (
        "Send your order on WhatsApp:")
    miso = price(shop, "ariapita", "SIDE-MISO")
    [message] = parse_qs(urlsplit(v.page.get_attribute("[data-hp-wa]", "href")).query)["text"]
    assert message.replace("\xa0", " ").splitlines() == [
        "Order · Ariapita Avenue, Port of Spain", f"1 × Miso Soup — {money(miso)}",
        f"Total: {money(miso)}", "Pickup for No Relay, +1 868 555 0199"]
    whatsapp.value.wait_for_load_state()
    assert whatsapp.value.url.startswith("https://wa.me/18685550101?text=")
    assert v.posts == [] and shop.orders("No Relay") == []


def test_a_long_order_still_fits_in_a_whatsapp_link(shop, visit):
    v = visit(block_relay=True)
    keys = [k for k, item in shop.menu["locations"]["ariapita"]["items"].items()
            if item["variants"][0]["available"] and not item["modifier_groups"]]
    lines = [{"id": shop.menu["locations"]["ariapita"]["items"][k]["variants"][0]["id"],
              "m": [], "q": 2, "n": f"note {i} " + "x" * 150} for i, k in enumerate(keys)]
    v.page.evaluate("lines => localStorage.setItem('hugo-pos:cart:ariapita', "
                    "JSON.stringify({l: lines, f: 'pickup', p: {}}))", lines)
    go(v.page, shop.origin + "/order/")
    fill_customer(v.page, "Big Party")

    with v.context.expect_page():
        v.page.click("[data-hp-send]")
    href = v.page.get_attribute("[data-hp-wa]", "href")

    assert len(keys) > 15 and len(href) < 2000
    [message] = parse_qs(urlsplit(href).query)["text"]
    shown = message.replace("\xa0", " ").splitlines()
    assert re.fullmatch(r"Order [2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4} · Ariapita Avenue, Port of "
                        r"Spain", shown[0])
    assert "note 0" not in message  # the notes are left out first, the lines kept
    assert len(shown) == 1 + len(keys) + 2
    total = sum(2 * price(shop, "ariapita", key, line["id"])
                for key, line in zip(keys, lines, strict=True))
    assert shown[-2:] == [f"Total: {money(total)}", "Pickup for Big Party, +1 868 555 0199"]
