"""The kitchen board (``GET /board?location=ID``): today's orders and open ones, live, for staff.

Protected by ``HUGO_POS_BOARD_TOKEN``, given as ``Authorization: Bearer ...`` or once as
``?token=...`` (a tablet bookmark), after which an HttpOnly cookie keeps the tablet signed in
(the page then drops the token from its address).
The page refreshes itself; staff mark orders accepted, ready or done, which the customer's
``GET /v1/orders/{id}`` shows. For a location that runs only the local provider, this page is
how orders reach the kitchen.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, redirect, render_template, request

from hugo_pos.errors import HugoPosError
from hugo_pos.money import format_money

board = Blueprint("board", __name__, template_folder="templates")
COOKIE = "hugo_pos_board"
STAFF_STATUSES = {"accepted": "Accept", "ready": "Ready", "completed": "Done"}
REFRESH_SECONDS = 10
BOARD_LIMIT = 500  # orders on one page: the open ones first, then today's finished ones
# An order not done yet stays on the board this long, past midnight (a truck open until 2 am)
OPEN_HOURS = 24


def _relay():
    return current_app.extensions["hugo_pos_relay"]


def _cookie_value(token: str) -> str:
    # The cookie holds a digest, so the token itself never sits in the browser's cookie jar.
    return hmac.new(token.encode(), b"hugo-pos-board", hashlib.sha256).hexdigest()


def _authorized(token: str) -> bool:
    if not token:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(cookie.encode(), _cookie_value(token).encode())


def _unauthorized(token_set: bool) -> Response:
    text = ("Sign in with the board link (…/board?token=…) or an Authorization: Bearer header."
            if token_set else "The kitchen board is off: set HUGO_POS_BOARD_TOKEN on the relay.")
    return Response(text + "\n", status=401, mimetype="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="hugo-pos board"'})


@board.get("/board")
def show() -> Response:
    """The board page: the orders of a location (or of every location) placed today, and those
    of the last OPEN_HOURS not done yet."""
    relay = _relay()
    token = relay.settings.board_token
    given = request.args.get("token")
    if given is not None:
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            return _unauthorized(bool(token))
    elif not _authorized(token):
        return _unauthorized(bool(token))
    location_id = request.args.get("location") or None
    try:
        location = relay.config.location(location_id) if location_id else None
    except HugoPosError:
        return Response(f"Unknown location {location_id!r}.\n", status=404, mimetype="text/plain")
    # Every time in the location's own zone; the all-locations view starts at the earliest
    # of their midnights, so each location's whole day is on it.
    zones = {loc.id: ZoneInfo(loc.timezone) for loc in relay.config.locations}
    shown = [location.id] if location else list(zones)
    now = datetime.fromtimestamp(relay.now(), UTC)
    since = min(now.astimezone(zones[lid]).replace(hour=0, minute=0, second=0, microsecond=0)
                for lid in shown)
    orders, hidden = relay.store.board_orders(
        location=location_id, since=since.timestamp(), limit=BOARD_LIMIT,
        open_since=now.timestamp() - OPEN_HOURS * 3600)
    html = render_template(
        "board.html", orders=[_view(o, zones.get(o["location"], UTC)) for o in orders],
        hidden=hidden,
        location=location, locations=relay.config.locations, refresh=REFRESH_SECONDS,
        statuses=STAFF_STATUSES, today=now.astimezone(zones[shown[0]]).strftime("%A %d %B"),
        address=_address_without_token() if given else None)
    response = Response(html, mimetype="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    if given:  # signed in by the link: the cookie keeps the tablet signed in from now on
        response.set_cookie(COOKIE, _cookie_value(token), max_age=365 * 86400, httponly=True,
                            samesite="Strict", path="/board",
                            # behind a TLS-terminating proxy (the ingress) the request is http
                            secure=request.is_secure or request.headers.get(
                                "X-Forwarded-Proto", "").lower() == "https")
    return response


def _address_without_token() -> str:
    """This page's address without ``token``: the page shows it in the address bar instead,
    so the token stays out of the tablet's history and the page's own refreshes."""
    query = {k: v for k, v in request.args.items() if k != "token"}
    return f"{request.path}?{urlencode(query)}" if query else request.path


@board.post("/board/orders/<order_id>/status")
def set_status(order_id: str) -> Response:
    """Staff mark an order accepted, ready or done; back to the board."""
    relay = _relay()
    if not _authorized(relay.settings.board_token):
        return _unauthorized(bool(relay.settings.board_token))
    status = request.form.get("status", "")
    if status not in STAFF_STATUSES:
        return Response("Unknown status.\n", status=400, mimetype="text/plain")
    if not relay.store.set_order_status(order_id, status, relay.now()):
        return Response("Unknown order.\n", status=404, mimetype="text/plain")
    location = request.form.get("location")
    return redirect(f"/board?{urlencode({'location': location})}" if location else "/board", 303)


def _view(order: dict, zone: tzinfo) -> dict:
    data = order["data"]
    return {
        "id": order["id"], "status": order["status"], "location": order["location"],
        "time": datetime.fromtimestamp(order["created_at"], UTC).astimezone(zone)
        .strftime("%H:%M"),
        "total": format_money(order["total"], order["currency"]),
        "customer": data["customer"]["name"], "phone": data["customer"]["phone"],
        "address": data["customer"]["address"], "fulfilment": data["fulfilment"],
        "note": data["note"], "lines": data["lines"],
        "deliveries": order["deliveries"],
        "attention": any(d["status"] == "failed" for d in order["deliveries"]),
    }
