"""``POST /v1/orders``, the relay's hot path, as a thin WSGI layer in front of Flask.

``OrderIntake`` wraps the Flask app's ``wsgi_app`` (Flask's documented place for middleware):
an order with a ``Content-Length`` within the 32 KB limit is taken here, without Flask's request
context, routing and response objects, which cost as much CPU as pricing the order did
(bench/RESULTS.md). Every other request, and an order Flask must refuse for its framing
(chunked, too large, a body shorter than announced), goes to Flask unchanged, whose route calls
the same ``take``. Both give the same status, headers, body, CORS headers and access log line
(tests/relay/test_relay_intake.py compares them).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_current_url

from hugo_pos.errors import OrderRejected

if TYPE_CHECKING:
    from flask import Flask

    from hugo_pos.relay.service import Relay

log = logging.getLogger("hugo_pos.relay.app")
access_log = logging.getLogger("hugo_pos.relay.access")

MAX_BODY = 32 * 1024
ORDERS_PATH = "/v1/orders"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_TOKEN_PATH = re.compile(r"^(/(?:v1/)?webhooks/[^/]+/)[^/?]+", re.IGNORECASE)
_CORS = (("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
         ("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key"),
         ("Access-Control-Expose-Headers", "Retry-After"),
         ("Access-Control-Max-Age", "600"))

Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes, "str | None"]  # status, headers, body, order id


def redact_path(path: str) -> str:
    """A request path fit for logs: URL tokens of webhook routes replaced by ``***``."""
    return _TOKEN_PATH.sub(r"\1***", path)


def cors_headers(origins: set[str], origin: str | None, path: str) -> Headers:
    """The CORS headers for a response to ``origin`` (none for an origin not allowed, or
    outside ``/v1/``); ``Vary: Origin`` is the caller's to add."""
    if origin and origin in origins and path.startswith("/v1/"):
        return [("Access-Control-Allow-Origin", origin), *_CORS]
    return []


def log_access(method: str, path: str, status: int, started: float,
               order_id: str | None) -> None:
    """The relay's access log line for one request (INFO, JSON fields)."""
    if access_log.isEnabledFor(logging.INFO):
        if "/webhooks/" in path.lower():
            path = redact_path(path)
        # handle(makeRecord()) is info() without looking up the caller's file and line, which
        # no access line shows: a tenth of the line's cost.
        access_log.handle(access_log.makeRecord(
            access_log.name, logging.INFO, "", 0, "%s %s %s", (method, path, status), None,
            extra={"method": method, "path": path, "status": status,
                   "ms": round((time.perf_counter() - started) * 1000, 2),
                   "order_id": order_id}))


class OrderIntake:
    """The WSGI app in front of the Flask app: takes ``POST /v1/orders`` itself (see the module
    docstring) and hands every other request to ``flask_wsgi``."""

    def __init__(self, app: Flask, relay: Relay, origins: set[str],
                 ensure_worker: Callable[[], None]) -> None:
        self.app, self.relay, self.origins = app, relay, origins
        self.flask_wsgi = app.wsgi_app
        self.ensure_worker = ensure_worker

    def __call__(self, wsgi_env: dict, start_response: Callable) -> Iterable[bytes]:
        """Take an order, or pass the request on to Flask."""
        length = _plain_length(wsgi_env)
        if length is None:
            return self.flask_wsgi(wsgi_env, start_response)
        started = time.perf_counter()
        try:
            body = wsgi_env["wsgi.input"].read(length) if length else b""
        except (OSError, ValueError):  # a reset or timed-out connection: nothing was read
            body = b""
        if len(body) < length:  # the client went away: Flask answers as it always did
            wsgi_env["wsgi.input"] = io.BytesIO(body)
            return self.flask_wsgi(wsgi_env, start_response)
        self.ensure_worker()
        status, headers, data, order_id = self.take(wsgi_env, lambda: body)
        allowed = cors_headers(self.origins, wsgi_env.get("HTTP_ORIGIN"), ORDERS_PATH)
        if allowed:
            headers += [*allowed, ("Vary", "Origin")]
        log_access("POST", ORDERS_PATH, status, started, order_id)
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}", headers)
        return [data]

    def take(self, wsgi_env: dict, read_body: Callable[[], bytes]) -> Answer:
        """Rate-limit, check the Idempotency-Key, decode and place the order in ``wsgi_env``
        (its body from ``read_body``); return ``(status, headers, body, order id)``. An
        ``HTTPException`` from ``read_body`` (Flask's size limit) is left to Flask."""
        relay = self.relay
        try:
            client = relay.clients.of(wsgi_env.get("REMOTE_ADDR"),
                                      wsgi_env.get("HTTP_X_FORWARDED_FOR"))
            wait = relay.limiter.check(client)
            key = wsgi_env.get("HTTP_IDEMPOTENCY_KEY", "")
            # A retry of an order already taken gets its answer (DESIGN §6), limited or not.
            if wait and not (_KEY.match(key) and relay.store.idempotency(key)):
                status, headers, data, _ = self.error(
                    "rate_limited", f"too many orders; retry in {wait} s", None, 429)
                return status, [*headers, ("Retry-After", str(wait))], data, None
            if not _KEY.match(key):
                return self.error("idempotency_key_required", "send an Idempotency-Key header "
                                  "(a random string, e.g. a UUID) with every order",
                                  "Idempotency-Key", 400)
            try:
                data = json.loads(read_body())
            except (ValueError, UnicodeDecodeError, RecursionError):  # (nested thousands deep)
                return self.error("invalid_json", "the body is not valid JSON", "body", 400)
            # The host URL costs a URL decode per request; it only matters without a relay_url.
            base_url = "" if relay.config.relay_url else get_current_url(wsgi_env,
                                                                          host_only=True)
            status, text, order_id = relay.place_order(data, key, base_url)
        except OrderRejected as exc:
            return self.error(exc.code, exc.message, exc.field, exc.status, **exc.extra)
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001 - the same answer as Flask's handler gives
            log.exception("unhandled error on POST %s", ORDERS_PATH)
            return self.error("internal", "internal error; the order was not taken", None, 500)
        encoded = text.encode()
        return status, [("Content-Type", "application/json"),
                        ("Content-Length", str(len(encoded)))], encoded, order_id

    def error(self, code: str, message: str, field: str | None, status: int, **extra) -> Answer:
        """The relay's error response (``{"error": {...}}``, as Flask's ``jsonify`` writes it)."""
        response = self.app.json.response(
            {"error": {"code": code, "message": message, "field": field, **extra}})
        return status, response.headers.to_wsgi_list(), response.get_data(), None


def _plain_length(wsgi_env: dict) -> int | None:
    """The body length of a ``POST /v1/orders`` this layer takes, or None (Flask's then)."""
    if wsgi_env.get("PATH_INFO") != ORDERS_PATH or wsgi_env.get("REQUEST_METHOD") != "POST" \
            or "HTTP_TRANSFER_ENCODING" in wsgi_env:
        return None
    length = wsgi_env.get("CONTENT_LENGTH", "")
    if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
        return None
    return int(length)
