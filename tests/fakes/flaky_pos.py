"""A fake POS that fails on purpose, and the ``fakepos`` provider that talks to it over HTTP.

The fake is a WSGI app served on loopback: ``POST /orders`` creates an order (keyed by our
order id), ``GET /orders/<id>`` looks one up. ``faults`` is a script consumed one entry per
``POST``: ``"500"``, ``"429"`` (with Retry-After), ``"timeout"`` (the order IS created, the answer
comes too late: an ambiguous failure), ``"late"`` (the POS is still working when the client
gives up: the order is created ``LATE`` s after the request, as a slow Odoo worker commits
after its client timed out) or ``"ok"``. Every create is counted, so a test can prove
each order landed exactly once. This is not a vendor API; it exercises the relay's outbox.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import ClassVar

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hugo_pos.config import Option
from hugo_pos.http import HttpClient, RetryPolicy
from hugo_pos.providers.base import PosOrder, PosRef, Provider

# The provider's read timeout: long enough that a loaded CI machine answers in time, short
# enough that the "timeout" faults keep the tests quick.
TIMEOUT = 1.5
LATE = TIMEOUT + 1.0  # when a "late" order lands


class FlakyPos:
    """The fake POS server's state and WSGI app."""

    def __init__(self, faults: list[str] | None = None, *, slow: float = 0.0,
                 retry_after: str = "1") -> None:
        self.faults = list(faults or [])
        self.slow = slow
        self.retry_after = retry_after
        self.created: Counter[str] = Counter()
        self.orders: dict[str, dict] = {}
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = None

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes, float]:
        """The fake's answer to one request: ``(status, headers, body, seconds to wait before
        sending it)``; shared by the WSGI app and bench/pos_server.py's asyncio server."""
        json_type = {"Content-Type": "application/json"}
        if method == "GET" and path.startswith("/orders/"):
            order_id = path.removeprefix("/orders/")
            with self.lock:
                found = self.orders.get(order_id)
            if found:
                return 200, json_type, json.dumps({"id": f"P-{order_id}", **found}).encode(), 0.0
            return 404, json_type, b'{"error": "not found"}', 0.0
        if method != "POST" or path != "/orders":
            return 404, {}, b"no", 0.0
        order = json.loads(body)
        with self.lock:
            fault = self.faults.pop(0) if self.faults else "ok"
            self.seen[fault] += 1
        if fault in ("ok", "timeout"):
            self.create(order)
        elif fault == "late":
            threading.Timer(LATE, self.create, (order,)).start()
        if fault == "500":
            return 500, {}, b'{"error": "boom"}', 0.0
        if fault == "429":
            return 429, {"Retry-After": self.retry_after}, b'{"error": "slow down"}', 0.0
        answer = json.dumps({"id": f"P-{order['order_id']}", "total": order["total"]}).encode()
        return 201, json_type, answer, (TIMEOUT + 1.5 if fault in ("timeout", "late")
                                        else self.slow)

    def create(self, order: dict) -> None:
        """Create ``order`` (counted: a second create of one order is a duplicate)."""
        with self.lock:
            self.created[order["order_id"]] += 1
            self.orders.setdefault(order["order_id"], order)

    def __call__(self, environ, start_response):
        request = Request(environ)
        status, headers, body, delay = self.answer(request.method, request.path,
                                                   request.get_data())
        if delay:
            time.sleep(delay)
        return Response(body, status, headers=headers)(environ, start_response)

    def start(self) -> str:
        """Serve on a free loopback port in a thread; return the base URL."""
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        """Stop serving."""
        if self.server:
            self.server.shutdown()


class FakePosProvider(Provider):
    """Submits orders to a FlakyPos through hugo_pos's HTTP layer (read timeout ``TIMEOUT``)."""

    name = "fakepos"
    options: ClassVar[Mapping[str, Option]] = {"url": Option(str, required=True)}
    settle_seconds = LATE - TIMEOUT + 1.0  # the "late" orders have landed by then

    def __init__(self, settings, context) -> None:
        super().__init__(settings, context)
        self.http = HttpClient(self.settings["url"], account=f"fakepos:{self.settings['url']}",
                               label="FakePOS", timeout=(1.0, TIMEOUT),
                               policy=RetryPolicy(max_retries=0))

    def submit_order(self, order: PosOrder) -> PosRef:
        """POST the order; failures raise PosUnavailable from the HTTP layer."""
        body = {"order_id": order.order_id, "total": order.total,
                "lines": [{"variant": line.pos.get("variant_id"), "quantity": line.quantity,
                           "price": line.unit_price} for line in order.lines]}
        answer = self.http.request("POST", "/orders", json=body, retry=False).json()
        return PosRef("fakepos", answer["id"], total=answer["total"])

    def find_order(self, order_id: str) -> PosRef | None:
        """GET the order by our id; None when the POS does not have it."""
        response = self.http.request("GET", f"/orders/{order_id}", ok=(404,))
        if response.status_code == 404:
            return None
        return PosRef("fakepos", response.json()["id"])


def register(monkeypatch=None) -> None:
    """Make ``provider: fakepos`` resolvable (in-process, or in a subprocess when no patcher)."""
    import hugo_pos.providers as providers

    original = providers.installed_providers

    def installed() -> dict[str, str]:
        return {**original(), "fakepos": "fakes.flaky_pos:FakePosProvider"}

    if monkeypatch is not None:
        monkeypatch.setattr(providers, "installed_providers", installed)
    else:
        providers.installed_providers = installed
