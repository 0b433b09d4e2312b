"""Odoo's JSON-RPC envelopes for `responses`-based unit tests, shaped as Odoo sends them.

* success: ``{"jsonrpc": "2.0", "id": N, "result": ...}`` (odoo/http.py,
  ``JsonRPCDispatcher._response``);
* error: HTTP 200 with ``{"jsonrpc": "2.0", "id": N, "error": {"code": 200, "message": "Odoo
  Server Error", "data": serialize_exception(exc)}}`` where ``serialize_exception`` gives
  ``{name: "module.Class", message, arguments, context, debug}`` (odoo/http.py 16.0/17.0
  ``serialize_exception`` and ``JsonRPCDispatcher.handle_error``; notes odoo.md §1.1).

``JsonRpcServer`` answers ``/jsonrpc`` from a table keyed by ``"common.version"``,
``"common.authenticate"`` or ``"<model>.<method>"`` (for ``object.execute_kw``), and records
every call's params for assertions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import responses

URL = "https://omg.odoo.example"


def result(request_id: Any, value: Any) -> dict:
    """A JSON-RPC success envelope (odoo/http.py ``JsonRPCDispatcher._response``)."""
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id: Any, name: str, message: str, arguments: list | None = None) -> dict:
    """A JSON-RPC error envelope (odoo/http.py ``handle_error`` + ``serialize_exception``)."""
    return {"jsonrpc": "2.0", "id": request_id, "error": {
        "code": 200, "message": "Odoo Server Error",
        "data": {"name": name, "message": message,
                 "arguments": arguments if arguments is not None else [message],
                 "context": {}, "debug": f"Traceback (most recent call last):\n  ...\n"
                                         f"{name}: {message}\n"}}}


class Raise:
    """A table entry that makes the call fail with this Odoo exception."""

    def __init__(self, name: str, message: str) -> None:
        self.name, self.message = name, message


def version_info(major: int) -> dict:
    """``common.version()`` (external_rpc_api.rst, "Logging in" example; the tail varies)."""
    return {"server_version": f"{major}.0", "server_version_info": [major, 0, 0, "final", 0, ""],
            "server_serie": f"{major}.0", "protocol_version": 1}


class JsonRpcServer:
    """A `responses` callback standing for Odoo's ``/jsonrpc``."""

    def __init__(self, rsps: responses.RequestsMock, table: dict[str, Any],
                 url: str = URL) -> None:
        self.table = table
        self.calls: list[dict] = []
        rsps.add_callback(responses.POST, f"{url}/jsonrpc", callback=self._answer,
                          content_type="application/json")

    def _answer(self, request) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        params = body["params"]
        if params["service"] == "object":
            _, _, _, model, method, args, kwargs = params["args"]
            key = f"{model}.{method}"
            self.calls.append({"key": key, "args": args, "kwargs": kwargs})
        else:
            key = f"{params['service']}.{params['method']}"
            self.calls.append({"key": key, "args": params["args"]})
        answer = self.table[key]
        if isinstance(answer, Callable) and not isinstance(answer, Raise):
            answer = answer(self.calls[-1])
        if isinstance(answer, Raise):
            return 200, {}, json.dumps(error(body["id"], answer.name, answer.message))
        return 200, {}, json.dumps(result(body["id"], answer))

    def kwargs_of(self, key: str) -> dict:
        """The kwargs of the first call to ``key``."""
        return next(c["kwargs"] for c in self.calls if c["key"] == key)
