"""The relay's WSGI app (Flask's app factory): ``create_app(settings)`` (DESIGN §6).

Served by gunicorn (``gunicorn 'hugo_pos.relay.app:create_app()'``, see gunicorn.conf.py) or by
``hugo_pos relay serve``. With no argument, the settings come from the environment
(``HUGO_POS_SITE`` or ``HUGO_POS_CONFIG``, ``HUGO_POS_MENU_URL``, ``HUGO_POS_DATABASE_URL``...).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from importlib.resources import files

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hugo_pos.errors import OrderRejected
from hugo_pos.relay.intake import MAX_BODY, OrderIntake, cors_headers, log_access, redact_path
from hugo_pos.relay.metrics import render_metrics
from hugo_pos.relay.service import Relay
from hugo_pos.relay.settings import RelaySettings

log = logging.getLogger(__name__)

__all__ = ["MAX_BODY", "MAX_WEBHOOK_BODY", "create_app", "error", "redact_path"]
# A Loyverse webhook carries up to 100 full receipts or items (pos-api-notes/loyverse.md §6.2):
# a few hundred KB. An order's limit stays 32 KB (DESIGN §6).
MAX_WEBHOOK_BODY = 2 * 1024 * 1024
_CODES = {400: "invalid", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
          413: "too_large", 415: "unsupported_media_type", 429: "rate_limited",
          500: "internal", 503: "unavailable"}


def error(code: str, message: str, field: str | None, status: int, **extra) -> Response:
    """The relay's error response: ``{"error": {code, message, field, ...}}``."""
    response = jsonify({"error": {"code": code, "message": message, "field": field, **extra}})
    response.status_code = status
    return response


class BodyTooLarge(RequestEntityTooLarge):
    """413 for a body over its route's limit, saying the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit // 1024} KB")


def request_body(limit: int = MAX_BODY) -> bytes:
    """The request's body, at most ``limit`` bytes, else 413: announced by Content-Length or
    streamed (chunked), which Werkzeug's app-wide limit alone would cut short without a word."""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge(limit)
    data = request.get_data()
    if len(data) > limit or length is None and len(data) >= limit \
            and request.environ["wsgi.input"].read(1):
        raise BodyTooLarge(limit)
    return data


def create_app(settings: RelaySettings | None = None, *, relay: Relay | None = None) -> Flask:
    """Build the relay's WSGI app from ``settings`` (default: ``RelaySettings.from_env()``).

    ``relay`` may be passed ready-made (tests share one between the app and a worker).
    """
    from hugo_pos.relay.board import board
    from hugo_pos.relay.logs import redact_filter
    from hugo_pos.relay.webhooks import webhooks

    relay = relay or Relay(settings or RelaySettings.from_env())
    redact_filter().secrets.update(relay.secrets)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_WEBHOOK_BODY  # each route reads within its own
    app.json.sort_keys = False
    app.extensions["hugo_pos_relay"] = relay
    app.register_blueprint(webhooks)
    app.register_blueprint(webhooks, url_prefix="/v1", name="webhooks_v1")
    app.register_blueprint(board)
    ensure_worker = _worker_starter(relay)
    app.before_request(ensure_worker)
    origins = set(relay.config.site_origins) | set(relay.settings.cors_origins)
    # POST /v1/orders is taken in front of Flask (intake.py); the route below serves the orders
    # that layer leaves to Flask (chunked, too large, cut short).
    intake = OrderIntake(app, relay, origins, ensure_worker)
    app.wsgi_app = intake

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        allowed = cors_headers(origins, request.headers.get("Origin"), request.path)
        for name, value in allowed:
            response.headers[name] = value
        if allowed:
            response.vary.add("Origin")
        log_access(request.method, request.path, response.status_code,
                   g.get("started", time.perf_counter()), g.get("order_id"))
        return response

    @app.errorhandler(OrderRejected)
    def _rejected(exc: OrderRejected) -> Response:
        return error(exc.code, exc.message, exc.field, exc.status, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        message = exc.description if code != 413 or isinstance(exc, BodyTooLarge) else \
            f"the body is larger than {MAX_WEBHOOK_BODY // 1024} KB"
        response = error(_CODES.get(code, "error"), message, None, code)
        if code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, redact_path(request.path))
        return error("internal", "internal error; the order was not taken", None, 500)

    @app.post("/v1/orders")
    def post_order() -> Response:
        status, headers, body, g.order_id = intake.take(request.environ, request_body)
        return Response(body, status, headers)

    @app.get("/v1/orders/<order_id>")
    def get_order(order_id: str) -> Response:
        view = relay.order_view(order_id)
        if view is None:
            return error("not_found", f"no order {order_id!r}", "order_id", 404)
        g.order_id = order_id
        return jsonify(view)

    @app.get("/v1/locations/<location_id>/availability")
    def get_availability(location_id: str) -> Response:
        from hugo_pos.relay.webhooks import availability_view

        view = availability_view(relay, location_id)
        if view is None:
            return error("unknown_location", f"unknown location {location_id!r}", "location",
                         404)
        return jsonify(view)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        store_ok = relay.store.ping()
        loaded = relay.menu.current()
        body = {"status": "ready" if store_ok and loaded else "not_ready", "store": store_ok,
                "menu": loaded.menu.version if loaded else None}
        if not loaded:
            body["menu_error"] = relay.menu.error
        response = jsonify(body)
        response.status_code = 200 if store_ok and loaded else 503
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(render_metrics(relay),
                        content_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/openapi.yaml")
    def openapi_yaml() -> Response:
        return Response(openapi_text(), mimetype="application/yaml")

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return jsonify(openapi_document())

    return app


def openapi_text() -> str:
    """The relay's OpenAPI document (relay/openapi.yaml) as text."""
    return files("hugo_pos.relay").joinpath("openapi.yaml").read_text(encoding="utf-8")


def openapi_document() -> dict:
    """The relay's OpenAPI document, parsed."""
    import yaml

    return yaml.safe_load(openapi_text())


def _worker_starter(relay: Relay) -> Callable[[], None]:
    """A function that starts the delivery thread in the serving process on its first request
    (a no-op unless ``HUGO_POS_WORKER=thread``).

    Started lazily (not in create_app) so that a server that imports the app and then forks
    (gunicorn --preload) runs the thread in each worker process, never in the dead parent.
    """
    if relay.settings.worker != "thread":
        return lambda: None
    state = {"pid": None}
    lock = threading.Lock()

    def ensure_worker() -> None:
        if state["pid"] == os.getpid():
            return
        with lock:
            if state["pid"] != os.getpid():
                from hugo_pos.relay.deliver import Worker

                Worker(relay).start()
                state["pid"] = os.getpid()

    return ensure_worker
