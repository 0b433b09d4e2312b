"""The kitchen board, health, readiness, metrics and logs of the relay."""

from __future__ import annotations

import io
import json
import logging

import pytest
from relay_support import make_app, make_relay, order_body

from hugo_pos.relay.app import redact_path
from hugo_pos.relay.deliver import Worker
from hugo_pos.relay.logs import JsonFormatter


def place(client, key="k", **changes) -> str:
    response = client.post("/v1/orders", data=json.dumps(order_body(**changes)),
                           content_type="application/json", headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.json
    return response.json["order_id"]


def test_the_board_needs_its_token_then_keeps_the_tablet_signed_in(client):
    assert client.get("/board?location=town").status_code == 401
    assert client.get("/board?location=town&token=wrong").status_code == 401
    signin = client.get("/board?location=town&token=board-secret")
    assert signin.status_code == 200 and "<title>Orders · Town</title>" in signin.text
    # the page takes the token out of its address before its refresh reads it
    assert signin.text.index('history.replaceState(null, "", "/board?location=town")') < \
        signin.text.index('http-equiv="refresh"')
    cookie = signin.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "board-secret" not in cookie
    assert client.get("/board?location=town").status_code == 200
    assert "replaceState" not in client.get("/board?location=town").text
    assert "Secure" not in cookie  # plain http (the demo on a laptop)
    proxied = client.get("/board?token=board-secret", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["Set-Cookie"]  # https ended at the ingress


def test_the_bearer_scheme_is_case_insensitive(client):
    for header in ("Bearer board-secret", "bearer board-secret", "BEARER  board-secret"):
        assert client.get("/board", headers={"Authorization": header}).status_code == 200
    assert client.get("/board", headers={"Authorization": "Basic board-secret"}).status_code \
        == 401


def test_the_board_lists_todays_orders_and_staff_move_them_along(client, relay):
    order_id = place(client, note="extra ginger")
    Worker(relay, threads=1).deliver_due()
    bearer = {"Authorization": "Bearer board-secret"}
    page = client.get("/board?location=town", headers=bearer)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.text
    assert order_id in html and "Dragon Roll (8 pc)" in html and "Spicy mayo" in html
    assert "no wasabi" in html and "extra ginger" in html and "local: delivered" in html
    assert 'http-equiv="refresh"' in html
    moved = client.post(f"/board/orders/{order_id}/status", headers=bearer,
                        data={"status": "accepted", "location": "town"})
    assert moved.status_code == 303
    assert client.get(f"/v1/orders/{order_id}").json["status"] == "accepted"
    client.post(f"/board/orders/{order_id}/status", headers=bearer, data={"status": "ready"})
    assert client.get(f"/v1/orders/{order_id}").json["status"] == "ready"
    assert client.post(f"/board/orders/{order_id}/status",
                       data={"status": "completed"}).status_code == 401
    assert client.get("/board?location=truck", headers=bearer).text.count(order_id) == 0


def test_every_board_view_shows_the_locations_own_time(client, relay, clock):
    order_id = place(client)  # Tuesday 15:00 in Port of Spain, 19:00 UTC
    bearer = {"Authorization": "Bearer board-secret"}
    for path in ("/board?location=town", "/board"):
        html = client.get(path, headers=bearer).text
        assert f"<strong>{order_id}</strong> · 15:00" in html and "19:00" not in html, path
        assert "Tuesday" in html
    clock.advance(6 * 3600)  # 21:00 there, 01:00 on Wednesday in UTC: still today there
    assert order_id in client.get("/board", headers=bearer).text


def test_an_open_order_stays_on_the_board_past_midnight(client, relay, clock):
    bearer = {"Authorization": "Bearer board-secret"}
    clock.advance(8 * 3600 + 55 * 60)  # Tuesday 23:55 in Port of Spain (the truck is open)
    late = place(client, "late", **{"location": "truck"})
    done = place(client, "done", **{"location": "truck"})
    relay.store.set_order_status(done, "completed", clock())
    clock.advance(10 * 60)  # 00:05 on Wednesday
    html = client.get("/board?location=truck", headers=bearer).text
    assert late in html and done not in html  # still to make; done yesterday
    clock.advance(24 * 3600)
    assert late not in client.get("/board?location=truck", headers=bearer).text


def test_a_full_board_says_how_many_orders_it_leaves_out(client, relay, monkeypatch):
    monkeypatch.setattr("hugo_pos.relay.board.BOARD_LIMIT", 2)
    first = place(client, "a")
    done = place(client, "b")
    relay.store.set_order_status(done, "completed", relay.now())
    place(client, "c")
    html = client.get("/board?location=town", headers={"Authorization": "Bearer board-secret"})
    assert first in html.text and done not in html.text  # open orders first
    assert "1 more order(s) not shown: mark orders done to make room." in html.text


def test_the_board_is_off_without_a_token(site, sqlite_url, clock):
    relay = make_relay(site, sqlite_url, clock, board_token="")
    response = make_app(relay).test_client().get("/board?token=")
    assert response.status_code == 401 and "HUGO_POS_BOARD_TOKEN" in response.text


def test_health_readiness_and_metrics(client, relay, site):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready", "store": True, "menu": "v1"}
    place(client)
    Worker(relay, threads=1).deliver_due()
    metrics = client.get("/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert 'hugo_pos_orders{status="in_pos"} 1' in text
    assert 'hugo_pos_deliveries{provider="local",status="delivered"} 1' in text
    assert "hugo_pos_delivery_latency_seconds_count 1" in text
    assert "# TYPE hugo_pos_delivery_latency_seconds histogram" in text


def test_not_ready_without_a_menu(site, sqlite_url, clock):
    (site / "data" / "hugo_pos" / "menu.json").unlink()
    relay = make_relay(site, sqlite_url, clock)
    client = make_app(relay).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "hugo_pos build" in ready.json["menu_error"]
    order = client.post("/v1/orders", data=json.dumps(order_body()),
                        content_type="application/json", headers={"Idempotency-Key": "k"})
    assert order.status_code == 503 and order.json["error"]["code"] == "menu_unavailable"


def test_the_menu_is_reloaded_when_its_file_changes(site, sqlite_url, clock):
    relay = make_relay(site, sqlite_url, clock, menu_check_interval=0.0)
    client = make_app(relay).test_client()
    assert client.get("/readyz").json["menu"] == "v1"
    path = site / "data" / "hugo_pos" / "menu.json"
    menu = json.loads(path.read_text())
    menu["version"] = "v2"
    menu["locations"]["town"]["items"]["ROLL-CALI"]["variants"][0]["price"] = 5000
    path.write_text(json.dumps(menu) + " ")
    assert client.get("/readyz").json["menu"] == "v2"
    changed = client.post("/v1/orders", data=json.dumps(order_body()),
                          content_type="application/json", headers={"Idempotency-Key": "k"})
    assert changed.status_code == 409 and changed.json["error"]["total"]["amount"] == 24800


def test_logs_are_json_with_order_ids_and_no_phone_numbers(client, caplog):
    with caplog.at_level(logging.INFO):
        order_id = place(client)
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any(json.loads(line).get("order_id") == order_id for line in lines)
    assert not any("555 0199" in line or "5550199" in line for line in lines)


@pytest.mark.parametrize("created", [0.0, 1795546800.0, 1795546800.0004999, 1795546800.0005,
                                     1795546800.9994999, 1795546800.9999995, 1795546800.9999996,
                                     1337368872.3079996, 1795546859.123456])
def test_log_timestamps_are_datetimes_iso_format_to_the_millisecond(created):
    from datetime import UTC, datetime

    assert JsonFormatter.timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(
        timespec="milliseconds")


def test_access_logs_redact_url_tokens():
    assert redact_path("/webhooks/loyverse/s3cret") == "/webhooks/loyverse/***"
    assert redact_path("/v1/webhooks/odoo/s3cret") == "/v1/webhooks/odoo/***"
    assert redact_path("/v1/orders/ABCD-EFGH") == "/v1/orders/ABCD-EFGH"
    assert redact_path("/WebHooks/ODOO/s3cret") == "/WebHooks/ODOO/***"


def test_every_part_of_the_rebuild_hook_url_is_a_secret(site, sqlite_url):
    # Render's deploy hooks carry their key in the query; urllib3's debug lines show the
    # path and query of each request it sends.
    hook = "https://api.render.com/deploy/srv-d1abc?key=RENDERKEY0123456&ref=main"
    secrets = make_relay(site, sqlite_url, rebuild_hook_url=hook).secrets
    assert {hook, "/deploy/srv-d1abc", "key=RENDERKEY0123456&ref=main",
            "RENDERKEY0123456"} <= secrets
    assert "main" not in secrets  # a word that short would be starred everywhere in the logs


def test_no_field_of_a_json_log_line_shows_a_secret(relay):
    from hugo_pos.cli import REDACT

    token = relay.settings.webhook_token
    REDACT.secrets.add(token)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(REDACT)
    logging.getLogger().addHandler(handler)
    loggers = [logging.getLogger(name) for name in ("hugo_pos.relay", "hugo_pos.test")]
    levels = [(logger, logger.level) for logger in loggers]
    try:
        for logger in loggers:  # whatever level an earlier test left on the root logger
            logger.setLevel(logging.INFO)
        client = make_app(relay).test_client()
        client.post(f"/webhooks/ODOO/{token}", data=b"{}")
        client.get(f"/nowhere/{token}")
        loggers[1].warning("odd", extra={"url": f"https://x/{token}"})
    finally:
        logging.getLogger().removeHandler(handler)
        REDACT.secrets.discard(token)
        for logger, level in levels:
            logger.setLevel(level)
    logged = lines.getvalue()
    assert logged.count("\n") >= 3 and token not in logged
    assert '"url": "https://x/***"' in logged


def test_the_board_escapes_what_customers_type(client):
    place(client, customer={"name": "<script>alert(1)</script>", "phone": "+1 868 555 0199"},
          note="<img src=x onerror=alert(2)>")
    html = client.get("/board", headers={"Authorization": "Bearer board-secret"}).text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html
