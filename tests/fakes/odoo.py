"""A fake Odoo server: a WSGI app speaking Odoo's external API, versions 16 to 19.

* ``POST /jsonrpc``: ``common.version``, ``common.authenticate`` (bad credentials -> ``false``),
  ``object.execute_kw`` (bad uid/key -> AccessDenied). Errors are HTTP 200 with
  ``{"jsonrpc", "id", "error": {"code": 200, "message": "Odoo Server Error", "data":
  serialize_exception(exc)}}`` (odoo/http.py ``JsonRPCDispatcher.handle_error``; ``code`` 0 in 19).
* ``POST /json/2/<model>/<method>`` (19 only): ``Authorization: bearer <key>``, named arguments,
  bare JSON result; errors with ``exc.http_status`` and the serialize_exception dict as the body
  (odoo/http.py ``Json2Dispatcher.handle_error``); ``GET /web/version``.
``serialize_exception`` = ``{name: "module.Class", message, arguments, context, debug}``
(odoo/http.py). Models and POS behaviour: tests/fakes/odoo_db.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from .loopback import serve_wsgi
from .odoo_db import Database, OdooFault, access_error, key_error, user_error

NO_SESSION = "No open session available. Please open a new session to capture the order."


class FakeOdoo(Database):
    """The fake server. ``calls`` logs ``(model, method)``; ``fail`` maps ``(model, method)`` to
    an HTTP status answered *after* the call ran (a proxy timeout once Odoo committed)."""

    def __init__(self, version: int = 17, *, database: str = "omg", login: str = "bot@omg.tt",
                 api_key: str = "odoo-key-123", uid: int = 2,
                 user_companies: tuple[int, ...] = (1,)) -> None:
        super().__init__(version, user_companies)
        self.database, self.login, self.api_key, self.uid = database, login, api_key, uid
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], int] = {}
        self.log: list[str] = []  # what Odoo would only write to its server log

    # -- ORM ------------------------------------------------------------------------------------

    def execute(self, model: str, method: str, ids: list[int] | None, kwargs: dict) -> Any:
        """Run one model method as execute_kw / JSON-2 would."""
        self.calls.append((model, method))
        context = kwargs.pop("context", {}) or {}
        companies = self.allowed(context)
        if model not in self.fields:
            raise OdooFault("builtins.KeyError", repr(model), (model,))
        if method == "search_read":
            found = self.search(model, kwargs.get("domain") or [], companies)
            found = found[kwargs.get("offset") or 0:]
            found = found[:kwargs["limit"]] if kwargs.get("limit") else found
            return [self.read_record(model, r, kwargs.get("fields")) for r in found]
        if method == "search":
            return [r["id"] for r in self.search(model, kwargs.get("domain") or [], companies)]
        if method == "read":
            out = []
            for rid in ids or ():
                rec = self.records[model].get(rid)
                if rec is None:
                    continue
                if not self.visible(model, rec, companies):
                    raise access_error(
                        f"Due to security restrictions, you are not allowed to access "
                        f"'{model}' ({model}) records. Records: {model},{rid}")
                out.append(self.read_record(model, rec, kwargs.get("fields"),
                                            kwargs.get("load", "_classic_read")))
            return out
        if method == "create":
            vals_list = kwargs["vals_list"]
            single = isinstance(vals_list, dict)
            created = [self.create(model, v, companies) for v in
                       ([vals_list] if single else vals_list)]
            return created[0] if single else created
        if method == "write":
            for rid in ids or ():
                self.write(model, rid, kwargs["vals"])
            return True
        if (model, method) == ("pos.order", "create_from_ui") and self.version <= 17:
            return self.create_from_ui(kwargs["orders"], kwargs.get("draft", False))
        if (model, method) == ("pos.order", "sync_from_ui") and self.version >= 18:
            return self.sync_from_ui(kwargs["orders"])
        if (model, method) == ("res.users", "context_get"):
            return {"uid": self.uid, "lang": "en_US", "tz": "America/Port_of_Spain"}
        raise OdooFault("builtins.AttributeError",
                        f"The method '{method}' does not exist on the model '{model}'")

    def create(self, model: str, vals: dict, companies: list[int]) -> int:
        """``create`` of one record: field names checked, x2many commands applied."""
        for name in vals:
            if name not in self.fields[model]:
                raise OdooFault("builtins.ValueError", f"Invalid field {name!r} on model "
                                f"{model!r}")
        plain = {k: v for k, v in vals.items()
                 if k not in ("lines", "payment_ids", "action_server_ids")}
        if model == "product.template":
            plain.setdefault("company_id", False)
            plain["_variant"] = True
        rid = self.add(model, **{k: _x2many(v) for k, v in plain.items()})
        if model == "pos.order":
            self._order_children(rid, vals)
        for command in vals.get("action_server_ids") or () if model == "base.automation" else ():
            self.create("ir.actions.server", {**command[2], "base_automation_id": rid},
                        companies)
        return rid

    def write(self, model: str, rid: int, vals: dict) -> None:
        """``write`` on one record (x2many replace commands applied)."""
        for name in vals:
            if name not in self.fields[model]:
                raise OdooFault("builtins.ValueError",
                                f"Invalid field {name!r} on model {model!r}")
        self.records[model][rid].update({k: _x2many(v) for k, v in vals.items()})
        self.records[model][rid]["write_date"] = self.now

    def _order_children(self, order_id: int, vals: dict) -> None:
        for command in vals.get("lines") or ():
            line = {k: v for k, v in command[2].items() if k in self.fields["pos.order.line"]}
            self.add("pos.order.line", order_id=order_id, **{k: _x2many(v)
                                                             for k, v in line.items()})
        for command in vals.get("payment_ids") or vals.get("statement_ids") or ():
            self.add("pos.payment", pos_order_id=order_id,
                     **{k: v for k, v in command[2].items() if k != "name"})

    def lines_of(self, order_id: int) -> list[dict]:
        """The pos.order.line records of an order."""
        return [r for r in self.records["pos.order.line"].values()
                if r["order_id"] == order_id]

    # -- point_of_sale ---------------------------------------------------------------------------

    def create_from_ui(self, orders: list[dict], draft: bool) -> list[dict]:
        """Odoo 16/17 ``pos.order.create_from_ui`` (notes §3.2)."""
        ids = []
        for order in orders:
            data = _strict(_strict(order)["data"])
            existing = [o for o in self.records["pos.order"].values()
                        if o.get("pos_reference") == data["name"]]
            if existing and existing[0]["state"] != "draft":
                continue  # 17 `_is_the_same_order`: skipped, and left out of the answer
            values = self._order_fields(data)
            session = self._valid_session_16(values["session_id"])
            values["session_id"] = session
            payments = data["statement_ids"]
            paid = sum(p[2]["amount"] for p in payments)
            values["state"] = "draft" if draft or paid < values["amount_total"] else "paid"
            values["company_id"] = self.records["pos.session"][session]["company_id"]
            if existing:
                rid = existing[0]["id"]
                for line in self.lines_of(rid):
                    del self.records["pos.order.line"][line["id"]]
                self.records["pos.order"][rid].update(
                    {k: v for k, v in values.items() if k != "lines"})
                self._order_children(rid, {"lines": values["lines"]})
            else:
                rid = self.add("pos.order", **{k: v for k, v in values.items() if k != "lines"})
                self._order_children(rid, {"lines": values["lines"],
                                           "statement_ids": payments})
            ids.append(rid)
        return [{"id": i, "pos_reference": self.records["pos.order"][i]["pos_reference"],
                 "account_move": False} for i in ids]

    def _order_fields(self, ui: dict) -> dict:
        ui = _strict(ui)
        date = ui["date_order"] if self.version >= 17 else ui["creation_date"]
        return {
            "user_id": ui["user_id"] or False, "session_id": ui["pos_session_id"],
            "lines": ui["lines"] or [], "pos_reference": ui["name"],
            "sequence_number": ui["sequence_number"], "partner_id": ui["partner_id"] or False,
            "date_order": date.replace("T", " ")[:19],
            "fiscal_position_id": ui["fiscal_position_id"],
            "pricelist_id": ui["pricelist_id"] if self.version <= 16 else ui.get("pricelist_id"),
            "amount_paid": ui["amount_paid"], "amount_total": ui["amount_total"],
            "amount_tax": ui["amount_tax"], "amount_return": ui["amount_return"],
            "to_invoice": ui.get("to_invoice", False),
        }

    def _valid_session_16(self, session_id: int) -> int:
        session = self.records["pos.session"][session_id]
        if session["state"] in ("opened", "opening_control"):
            return session_id
        # 16/17 `_get_valid_session`: orders for a closed session go to a rescue session.
        return self.add("pos.session", name=f"(RESCUE FOR {session['name']})", state="opened",
                        config_id=session["config_id"], company_id=session["company_id"])

    def sync_from_ui(self, orders: list[dict]) -> dict:
        """Odoo 18/19 ``pos.order.sync_from_ui`` (notes §3.3)."""
        ids = []
        for order in orders:
            order = _strict(dict(order))
            existing = [o for o in self.records["pos.order"].values()
                        if order.get("uuid") and o.get("uuid") == order.get("uuid")]
            if existing and existing[0]["state"] != "draft":
                ids.append(existing[0]["id"])
                continue
            if existing:
                del order["uuid"]
                del order["access_token"]
            session = self.records["pos.session"].get(order["session_id"])
            if session is None or session["state"] not in ("opened", "opening_control"):
                others = [s for s in self.records["pos.session"].values()
                          if session and s["config_id"] == session["config_id"]
                          and s["state"] in ("opened", "opening_control")]
                if not others:
                    raise user_error(NO_SESSION)
                order["session_id"] = others[0]["id"]
                session = others[0]
            order["amount_return"]  # noqa: B018 - read with [] by _process_order
            values = {k: v for k, v in order.items() if k != "name"}
            if self.version == 18:  # 19's _process_order drops name without this
                values["pos_reference"] = order["name"]
            values["company_id"] = session["company_id"]
            # amount_total and amount_tax are stored as sent; amount_paid is recomputed from the
            # payments (_process_payment_lines). A paid order whose payments fall short stays
            # draft: action_pos_order_paid's UserError is only logged (_process_saved_order).
            values["amount_paid"] = round(sum(c[2]["amount"] for c in
                                              order.get("payment_ids") or ()), 2)
            if values.get("state", "draft") != "draft" and \
                    values["amount_paid"] < values["amount_total"]:
                self.log.append("Could not fully process the POS Order: The paid amount is "
                                "different from the total amount of the order.")
                values["state"] = "draft"
            values.setdefault("state", "draft")
            if existing:
                rid = existing[0]["id"]
                self.write("pos.order", rid, {k: v for k, v in values.items()
                                              if k not in ("lines", "payment_ids")})
            else:
                rid = self.create("pos.order", values, [values["company_id"]])
            ids.append(rid)
        read = [self.read_record("pos.order", self.records["pos.order"][i],
                                 ["pos_reference", "state", "amount_total", "uuid"]) for i in ids]
        return {"pos.order": read, "pos.session": [], "pos.payment": [], "pos.order.line": [],
                "pos.pack.operation.lot": [], "product.attribute.custom.value": []}

    # -- HTTP ------------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/jsonrpc" and request.method == "POST":
            response = self._jsonrpc(request.get_json(force=True))
        elif request.path.startswith("/json/2/") and self.version >= 19:
            response = self._json2(request)
        elif request.path == "/web/version":
            response = _json({"version_info": [self.version, 0, 0, "final", 0, ""],
                              "version": f"{self.version}.0"})
        else:
            response = Response("Not Found", status=404)
        return response(environ, start_response)

    def _jsonrpc(self, body: dict) -> Response:
        params = body.get("params") or {}
        service, method, args = params.get("service"), params.get("method"), params.get("args")
        try:
            if service == "common" and method == "version":
                result: Any = {"server_version": f"{self.version}.0",
                               "server_version_info": [self.version, 0, 0, "final", 0, ""],
                               "server_serie": f"{self.version}.0", "protocol_version": 1}
            elif service == "common" and method in ("authenticate", "login"):
                db, login, key = args[:3]
                ok = (db, login, key) == (self.database, self.login, self.api_key)
                result = self.uid if ok else False
            elif service == "object" and method == "execute_kw":
                db, uid, key, model, name, margs = args[:6]
                kwargs = dict(args[6] if len(args) > 6 else {})
                if (db, uid, key) != (self.database, self.uid, self.api_key):
                    raise OdooFault("odoo.exceptions.AccessDenied", "Access Denied", ())
                ids = margs[0] if margs and isinstance(margs[0], list) and name in (
                    "read", "write") else None
                if name == "create":  # odoo/api.py _call_kw_model_create: isinstance(args[0],..)
                    if not margs:
                        raise OdooFault("builtins.IndexError", "list index out of range", ())
                    kwargs["vals_list"] = margs[0]
                result = self.execute(model, name, ids, kwargs)
                if (model, name) in self.fail:
                    return Response("upstream timed out", status=self.fail.pop((model, name)))
            else:
                raise OdooFault("builtins.KeyError", repr(method), (method,))
        except OdooFault as fault:
            code = 0 if self.version >= 19 else 200
            return _json({"jsonrpc": "2.0", "id": body.get("id"), "error": {
                "code": code, "message": "Odoo Server Error", "data": _serialize(fault)}})
        return _json({"jsonrpc": "2.0", "id": body.get("id"), "result": result})

    def _json2(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if auth.lower() != f"bearer {self.api_key}".lower():
            fault = OdooFault("werkzeug.exceptions.Unauthorized", "Invalid apikey",
                              http_status=401)
            return _json(_serialize(fault), status=401)
        if request.headers.get("X-Odoo-Database") not in (None, self.database):
            return _json(_serialize(OdooFault("werkzeug.exceptions.NotFound", "Not Found",
                                              http_status=404)), status=404)
        _, _, _, model, method = request.path.split("/", 4)
        body = request.get_json(force=True) or {}
        ids = body.pop("ids", None)
        try:
            result = self.execute(model, method, ids, body)
        except OdooFault as fault:
            return _json(_serialize(fault), status=fault.http_status)
        if (model, method) in self.fail:
            return Response("upstream timed out", status=self.fail.pop((model, method)))
        return _json(result)


def _strict(data: dict) -> _StrictDict:
    return _StrictDict(data)


class _StrictDict(dict):
    """A dict whose missing keys raise the KeyError Odoo's ``data['key']`` reads give."""

    def __missing__(self, key: str) -> Any:
        raise key_error(key)


def _x2many(value: Any) -> Any:
    if isinstance(value, list) and value and isinstance(value[0], list) and value[0][:1] == [6]:
        return list(value[0][2])
    return value


def _serialize(fault: OdooFault) -> dict:
    return {"name": fault.qualname, "message": fault.message, "arguments": fault.arguments,
            "context": {}, "debug": f"Traceback (most recent call last):\n{fault.qualname}: "
                                    f"{fault.message}\n"}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def serve(app: Any) -> Iterator[str]:
    """Run a WSGI app on a loopback port in a thread; yield its base URL."""
    return serve_wsgi(app)
