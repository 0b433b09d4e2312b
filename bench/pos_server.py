"""A FlakyPos (tests/fakes/flaky_pos.py) served in a process of its own, for the relay benches.

Its own process keeps the fake POS's CPU out of the load generator's. It is a small asyncio
HTTP/1.1 server with keep-alive, as real POS APIs have, rather than Werkzeug's threaded one: the
bench runs it on the same 2 cores as the relay, and Werkzeug spent about 1 ms of CPU per order,
as much as a third of what the relay itself needs. Besides the FlakyPos API (``POST /orders``,
``GET /orders/<id>``) it answers ``GET /_stats`` (``{"created": {order id: times created},
"seen": {fault: count}}``) and ``POST /_faults`` (a JSON list of faults to append: "500",
"429", "timeout", "ok"). Usage: ``python bench/pos_server.py [SECONDS_PER_ORDER]`` prints
``ready PORT`` when it listens.
"""

from __future__ import annotations

import asyncio
import json
import sys
from http import HTTPStatus
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.flaky_pos import FlakyPos  # noqa: E402


class ControlledPos:
    """A FlakyPos plus the two control routes."""

    def __init__(self, slow: float = 0.0) -> None:
        self.pos = FlakyPos(slow=slow, retry_after="1")

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes, float]:
        """``(status, headers, body, delay)`` for one request (see ``FlakyPos.answer``)."""
        json_type = {"Content-Type": "application/json"}
        if path == "/_stats":
            with self.pos.lock:
                stats = {"created": dict(self.pos.created), "seen": dict(self.pos.seen)}
            return 200, json_type, json.dumps(stats).encode(), 0.0
        if path == "/_faults" and method == "POST":
            with self.pos.lock:
                self.pos.faults.extend(json.loads(body))
            return 200, json_type, b"{}", 0.0
        return self.pos.answer(method, path, body)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the requests of one connection until the client closes it."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode("latin-1").split("\r\n")
                method, target, version = line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (f.partition(":") for f in fields if f)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                status, extra, answer, delay = self.answer(method, target.split("?")[0], body)
                if delay:
                    await asyncio.sleep(delay)
                close = version == "HTTP/1.0" or headers.get("connection") == "close"
                lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                         f"Content-Length: {len(answer)}",
                         *(f"{k}: {v}" for k, v in extra.items()),
                         "Connection: close" if close else "Connection: keep-alive"]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up (a relay that gave up waiting, a closed pool)
        finally:
            writer.close()


async def main() -> None:
    """Serve on a free loopback port until killed (argument: seconds per order, default 0)."""
    slow = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    server = await asyncio.start_server(ControlledPos(slow).serve, "127.0.0.1", 0, backlog=1024)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
