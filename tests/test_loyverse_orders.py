"""Loyverse orders: the POST /receipts body, and never resending a POST blindly.

Receipt shapes: the official document's ``POST /receipts`` request/response examples (notes §5).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from loyverse_payloads import API, PAYMENT_TYPE, STORE, VAT, errors, order, provider, receipt
from responses import matchers

from hugo_pos.errors import PosUnavailable, ProviderError
from hugo_pos.providers.base import WebhookEvent
from hugo_pos.providers.loyverse_catalog import add_taxes, remove_taxes


def test_the_receipt_body_prices_lines_before_added_taxes():
    body = provider().receipt_body(order())
    assert body == {
        "store_id": STORE, "order": "7K3M-9QXP", "source": "hugo-pos",
        "receipt_date": "2026-11-25T01:02:03Z",
        "note": "Online order 7K3M-9QXP (pickup)\nCustomer: Kim Baptiste +1 868 555 0199\n"
                "Note: Ring the bell",
        "line_items": [
            {"variant_id": "706e2626-3329-45f8-98d7-0e1dbcbcb9d9", "quantity": 2,
             "price": 96,
             "line_note": "no sesame", "line_taxes": [{"id": VAT}],
             "line_modifiers": [{"modifier_option_id": "0a7cdf41", "price": 4},  # 4.50 incl.
                                {"modifier_option_id": "0a7cdf42", "price": 0}]},
            {"variant_id": "06929667-cc44-4bbb-b226-6758285d7033", "quantity": 1,
             "price": 18}],
        "payments": [{"payment_type_id": PAYMENT_TYPE, "paid_at": "2026-11-25T01:02:03Z"}],
    }


def test_untaxable_prices_go_as_the_relay_priced_them():
    plain = order(lines=(order().lines[1],))
    assert provider().receipt_body(plain)["line_items"][0]["price"] == 18


@responses.activate
def test_submit_posts_once_and_returns_the_receipt_number_and_total():
    responses.post(f"{API}/receipts", json=receipt(total_money=242.0))
    ref = provider().submit_order(order())
    assert (ref.provider, ref.ref, ref.total, ref.status) == ("loyverse", "2-1009", 24200,
                                                              "in_pos")
    sent = json.loads(responses.calls[0].request.body)
    assert sent["order"] == "7K3M-9QXP" and sent["store_id"] == STORE
    assert responses.calls[0].request.headers["Authorization"].startswith("Bearer tok-")


@responses.activate
def test_a_timed_out_post_is_looked_up_not_resent():
    responses.post(f"{API}/receipts", body=requests.ReadTimeout("read timed out"))
    responses.get(f"{API}/receipts", json={"receipts": [receipt()]}, match=[
        matchers.query_param_matcher({"order": "7K3M-9QXP", "store_id": STORE,
                                      "limit": "250"})])
    ref = provider().submit_order(order())
    assert ref.ref == "2-1009"
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert len(posts) == 1  # one receipt: found by its order id, never created twice


@responses.activate
def test_a_5xx_on_post_with_nothing_found_is_ambiguous_and_not_resent():
    responses.post(f"{API}/receipts", status=502, json=errors("INTERNAL_SERVER_ERROR", "oops"))
    responses.get(f"{API}/receipts", json={"receipts": []})
    with pytest.raises(PosUnavailable) as caught:
        provider().submit_order(order())
    assert caught.value.ambiguous is True
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_a_5xx_on_post_stays_ambiguous_when_the_lookup_is_refused():
    # A token without RECEIPTS_READ (notes §1.2): the receipt may exist all the same, so the
    # delivery must stay retryable (looked up again), not fail for good.
    responses.post(f"{API}/receipts", status=502, json=errors("INTERNAL_SERVER_ERROR", "oops"))
    responses.get(f"{API}/receipts", status=403,
                  json=errors("FORBIDDEN", "Access token has insufficient scope"))
    with pytest.raises(PosUnavailable) as caught:
        provider().submit_order(order())
    assert caught.value.ambiguous is True and "HTTP 502" in caught.value.message


@responses.activate
def test_a_429_on_post_is_not_ambiguous_and_needs_no_lookup():
    responses.post(f"{API}/receipts", status=429, json=errors("RATE_LIMITED", "slow down"))
    with pytest.raises(PosUnavailable) as caught:
        provider().submit_order(order())
    assert caught.value.ambiguous is False
    assert len(responses.calls) == 1


@responses.activate
def test_a_400_is_permanent_with_the_vendor_details():
    responses.post(f"{API}/receipts", status=400, json=errors(
        "INVALID_VALUE", "Only one payment can be applied to receipt", "payments"))
    with pytest.raises(ProviderError) as caught:
        provider().submit_order(order())
    assert not isinstance(caught.value, PosUnavailable)
    assert caught.value.message.endswith(
        "(HTTP 400): INVALID_VALUE: Only one payment can be applied to receipt (field payments)")


@responses.activate
def test_find_order_skips_refunds_and_reports_a_cancelled_sale():
    responses.get(f"{API}/receipts", json={"receipts": [
        receipt(number="2-1011", receipt_type="REFUND", refund_for="2-1009"),
        receipt(number="2-1009", cancelled_at="2026-11-25T02:00:00Z"),
        receipt(order_id="OTHER", number="2-1010")]})
    ref = provider().find_order("7K3M-9QXP")
    assert (ref.ref, ref.status) == ("2-1009", "cancelled")


@responses.activate
def test_a_refunded_order_confirms_as_cancelled_from_any_store():
    responses.get(f"{API}/receipts", json={"receipts": [
        receipt(number="2-1011", receipt_type="REFUND", refund_for="2-1009"),
        receipt(number="2-1009")]}, match=[matchers.query_param_matcher(
            {"order": "7K3M-9QXP", "limit": "250"})])
    hint = WebhookEvent(kind="order_status", event_id="e", order_id="7K3M-9QXP",
                        status="cancelled")
    assert provider().confirm_event(hint).status == "cancelled"


@responses.activate
def test_find_order_returns_none_when_absent():
    responses.get(f"{API}/receipts", json={"receipts": []})
    assert provider().find_order("NOPE-0000") is None


def test_orders_need_a_payment_type():
    with pytest.raises(ProviderError) as caught:
        provider(payment_type_id=None).receipt_body(order())
    assert caught.value.hint.startswith("create a payment type (e.g. \"Online\", type Other) in "
                                        "the Loyverse back office and set "
                                        "LOYVERSE_PAYMENT_TYPE_ARIAPITA")


@given(st.integers(0, 10**7), st.sampled_from(["12.5", "5.255", "10", "0.5"]))
def test_removing_added_taxes_gives_back_a_price_with_the_same_total(base, rate):
    rates = [Decimal(rate)]
    total = add_taxes(base, rates)
    assert add_taxes(remove_taxes(total, rates), rates) == total


def test_a_total_no_price_reaches_gives_the_nearest_price():
    assert remove_taxes(10750, [Decimal("12.5")]) == 9556  # 107.51 in Loyverse: flagged
    assert add_taxes(9556, [Decimal("12.5")]) == 10751
