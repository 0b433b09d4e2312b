"""Run a WSGI app (a fake POS, a relay) on a free loopback port in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """A request handler that does not print an access log line per request."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@contextmanager
def serve_wsgi(app: Any, path: str = "", on_stop: Callable[[], None] | None = None
               ) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yield ``http://127.0.0.1:PORT`` + ``path``.

    ``on_stop`` runs before the server shuts down (e.g. to release held requests).
    """
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        if on_stop:
            on_stop()
        server.shutdown()
        thread.join(timeout=5)
