"""A FlakyPos (tests/fakes/flaky_pos.py) served in a process of its own, for the relay benches.

Its own process keeps the fake POS's CPU out of the load generator's. Besides the FlakyPos API
(``POST /orders``, ``GET /orders/<id>``) it answers ``GET /_stats`` (``{"created": {order id:
times created}, "seen": {fault: count}}``) and ``POST /_faults`` (a JSON list of faults to
append: "500", "429", "timeout", "ok"). Usage: ``python bench/pos_server.py`` prints
``ready PORT`` when it listens.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.flaky_pos import FlakyPos  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class ControlledPos:
    """A FlakyPos plus the two control routes."""

    def __init__(self, slow: float = 0.0) -> None:
        self.pos = FlakyPos(slow=slow, retry_after="1")

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_stats":
            with self.pos.lock:
                body = {"created": dict(self.pos.created), "seen": dict(self.pos.seen)}
            return Response(json.dumps(body), mimetype="application/json")(environ,
                                                                           start_response)
        if request.path == "/_faults" and request.method == "POST":
            with self.pos.lock:
                self.pos.faults.extend(json.loads(request.get_data()))
            return Response("{}", mimetype="application/json")(environ, start_response)
        return self.pos(environ, start_response)


def main() -> None:
    """Serve on a free loopback port until killed (argument: seconds per order, default 0)."""
    slow = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    server = make_server("127.0.0.1", 0, ControlledPos(slow), threaded=True,
                         request_handler=_Quiet)
    print(f"ready {server.port}", flush=True)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
