"""Odoo's external API: JSON-RPC at ``/jsonrpc`` (16-18) and JSON-2 at ``/json/2`` (19+).

Both transports are driven the same way: ``OdooRpc.call(model, method, ids=..., **named)``.
Every method is called with *named* arguments, which JSON-2 requires and ``execute_kw`` accepts
(``args`` holds only the record ids of multi-record methods). Every call carries
``context.allowed_company_ids`` so that Odoo never falls back to the user's default company.

Errors: JSON-RPC answers HTTP 200 with ``error.data`` = ``serialize_exception(exc)`` (odoo/http.py,
``JsonRPCDispatcher.handle_error``); JSON-2 answers 4xx/5xx with that dict as the body
(``Json2Dispatcher.handle_error``, status from ``exc.http_status``). ``data.name`` is the fully
qualified exception class, mapped by ``odoo_error`` to a HugoPosError with a hint.
See ../shared/pos-api-notes/odoo.md §1.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable
from typing import Any, NoReturn

import requests

from hugo_pos.errors import PosUnavailable, ProviderError
from hugo_pos.http import HttpClient

log = logging.getLogger(__name__)

# JSON-2 answers these statuses with an Odoo error body we map ourselves (odoo/http.py
# Json2Dispatcher.handle_error: an exception's http_status, 500 for any other exception).
_JSON2_ERRORS = (400, 401, 403, 404, 409, 422, 500)
NO_SESSION = "No open session available"


class OdooError(ProviderError):
    """Odoo raised an exception: ``name`` is its class (``odoo.exceptions.UserError``)."""

    def __init__(self, message: str, hint: str | None = None, *, name: str = "",
                 odoo_message: str = "") -> None:
        super().__init__(message, hint)
        self.name = name
        self.odoo_message = odoo_message


class OdooRpc:
    """A connection to one Odoo database as one API user, for one company.

    ``api`` is ``auto`` (ask ``common.version``: 19+ uses JSON-2), ``jsonrpc`` or ``json2``.
    ``credential_hint`` names the settings (and env vars) holding the login and API key.
    ``sleep`` is injected into the HTTP layer's backoff.
    """

    def __init__(self, url: str, database: str, login: str, api_key: str, company_id: int, *,
                 label: str, credential_hint: str, api: str = "auto",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.login = login
        self.company_id = company_id
        self.label = label
        self.credential_hint = credential_hint
        self.api = api
        self._api_key = api_key
        self._uid: int | None = None
        self._major: int | None = None
        self._ids = itertools.count(1)
        self.http = HttpClient(
            self.url, account=f"odoo:{self.url}/{database}/{login}", label=label,
            credential_hint=credential_hint, error_details=_error_details, sleep=sleep)

    # -- version and identity ----------------------------------------------------------------

    @property
    def major(self) -> int:
        """The Odoo major version (16, 17, 18, 19...), asked once per connection."""
        if self._major is None:
            self._major = self._detect_version()
            log.debug("%s runs Odoo %s", self.label, self._major)
        return self._major

    @property
    def uses_json2(self) -> bool:
        """Whether calls go to ``/json/2`` (forced, or Odoo 19+ with ``api: auto``)."""
        if self.api == "json2":
            return True
        if self.api == "jsonrpc":
            return False
        return self.major >= 19

    def _detect_version(self) -> int:
        if self.api != "json2":
            response = self.http.request("POST", "/jsonrpc", json=self._envelope(
                "common", "version", []), idempotent=True, ok=(404,))
            if response.status_code != 404:
                info = self._result(response, "common.version")
                return parse_major(info.get("server_version_info"), info.get("server_serie")
                                   or info.get("server_version"))
        # Odoo 19+ without /jsonrpc: GET /web/version (external_api.rst, JSON-2 section).
        info = self.http.get_json("/web/version")
        return parse_major(info.get("version_info"), info.get("version"))

    @property
    def uid(self) -> int | None:
        """The API user's id (JSON-RPC ``common.authenticate``); None over JSON-2."""
        if self.uses_json2:
            return None
        if self._uid is None:
            response = self.http.request("POST", "/jsonrpc", json=self._envelope(
                "common", "authenticate", [self.database, self.login, self._api_key, {}]),
                idempotent=True)
            uid = self._result(response, "common.authenticate")
            if not uid:
                # Bad credentials answer `false`, not an error (external_rpc_api.rst, Logging in).
                raise ProviderError(
                    f"{self.label} refused the login {self.login!r} with this API key "
                    f"(authenticate returned false for database {self.database!r})",
                    f"check {self.credential_hint}: the login, the API key (Preferences > Account "
                    "Security > New API Key) and the database name")
            self._uid = int(uid)
        return self._uid

    # -- calls ---------------------------------------------------------------------------------

    @property
    def context(self) -> dict[str, Any]:
        """The context every call carries (one company; odoo.md §5 Multi-company)."""
        return {"allowed_company_ids": [self.company_id]}

    def call(self, model: str, method: str, ids: list[int] | None = None, *, write: bool = False,
             **named: Any) -> Any:
        """Call ``model.method`` with named arguments and return its result.

        ``write`` marks a call that changes data: it is not retried, and a timeout or 5xx
        raises PosUnavailable(ambiguous=True) since Odoo may have committed it.
        """
        if self.uses_json2:
            return self._call_json2(model, method, ids, write, named)
        args = [ids] if ids is not None else []
        if method == "create":  # odoo/api.py's call_kw for create reads its vals from args[0]
            args = [named.pop("vals_list")]
        kwargs = {**named, "context": self.context}
        response = self.http.request("POST", "/jsonrpc", idempotent=not write, json=self._envelope(
            "object", "execute_kw",
            [self.database, self.uid, self._api_key, model, method, args, kwargs]))
        return self._result(response, f"{model}.{method}")

    def _call_json2(self, model: str, method: str, ids: list[int] | None, write: bool,
                    named: dict[str, Any]) -> Any:
        body = {**named, "context": self.context}
        if ids is not None:
            body["ids"] = ids
        self.http.headers = {"Authorization": f"bearer {self._api_key}",
                             "X-Odoo-Database": self.database}
        response = self.http.request("POST", f"/json/2/{model}/{method}", json=body,
                                     idempotent=not write, ok=_JSON2_ERRORS)
        if response.status_code < 400:
            return self.http.json_of(response)  # an HTML login page is a clear error, too
        data = _json_or_none(response)
        # A 500 without Odoo's error body came from before Odoo (a proxy, a crash): the call
        # may be retried later. One with it is an exception Odoo raised: saying so is clearer.
        if response.status_code == 500 and not (isinstance(data, dict) and "name" in data):
            raise PosUnavailable(f"{self.label} answered HTTP 500 to {model}.{method}",
                                 "the POS failed while handling the request; it is retried later",
                                 ambiguous=write, in_flight=write)
        if response.status_code == 409:  # LockError: another transaction holds the records
            raise PosUnavailable(f"{self.label}: {model}.{method} conflicted with another "
                                 "change in Odoo (HTTP 409)", "it is retried later")
        if response.status_code == 401 and not (isinstance(data, dict) and data.get("name")):
            data = {"name": "werkzeug.exceptions.Unauthorized", "message": response.text[:200]}
        self.raise_error(data if isinstance(data, dict) else {"message": response.text[:200]},
                         f"{model}.{method}")

    def _envelope(self, service: str, method: str, args: list) -> dict:
        return {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                "params": {"service": service, "method": method, "args": args}}

    def _result(self, response: requests.Response, what: str) -> Any:
        body = _json_or_none(response)
        if not isinstance(body, dict) or ("result" not in body and "error" not in body):
            raise ProviderError(f"{self.label}: {what} did not answer JSON-RPC",
                                f"check the url setting ({self.url}): it must be the Odoo server's "
                                "base URL, e.g. https://mycompany.odoo.com")
        if "error" in body:
            error = body["error"] or {}
            data = error.get("data") or {}
            data.setdefault("message", error.get("message", ""))
            self.raise_error(data, what)
        return body["result"]

    def raise_error(self, data: dict, what: str) -> NoReturn:
        """Raise the HugoPosError that an Odoo error (``serialize_exception`` dict) means."""
        raise odoo_error(data, what, label=self.label, credential_hint=self.credential_hint,
                         company_id=self.company_id)


def odoo_error(data: dict, what: str, *, label: str, credential_hint: str,
               company_id: int) -> ProviderError:
    """Map Odoo's ``{name, message, ...}`` error to a ProviderError (or PosUnavailable)."""
    name = str(data.get("name") or "")
    message = " ".join(str(data.get("message") or "").split())[:300]
    short = name.rsplit(".", 1)[-1]
    if short in ("AccessDenied", "Unauthorized"):
        return OdooError(f"{label} rejected the API key ({short} on {what})",
                         f"check {credential_hint}: the key may be revoked or expired, or belong "
                         "to another user or database", name=name, odoo_message=message)
    if short == "AccessError":
        return OdooError(
            f"{label}: access denied on {what}: {message}",
            f"give the API user the Point of Sale / User rights and access to company "
            f"{company_id} (Settings > Users > Allowed Companies); check that company_id is the "
            "company of the pos.config, its products and taxes", name=name, odoo_message=message)
    if short in ("UserError", "ValidationError", "RedirectWarning"):
        if NO_SESSION in message:
            return PosUnavailable(f"{label}: the POS session is closed ({message})",
                                  "open a session in Odoo Point of Sale; waiting orders are sent "
                                  "automatically")
        return OdooError(f"{label}: Odoo refused {what}: {message}",
                         "fix what Odoo names above in Odoo or in data/locations.yaml",
                         name=name, odoo_message=message)
    if short == "MissingError":
        return OdooError(f"{label}: {what}: a record does not exist: {message}",
                         "check the ids in data/locations.yaml (pos_config_id, company_id, "
                         "payment_method_id) and data/pos-mapping.yaml", name=name,
                         odoo_message=message)
    if "psycopg2" in name or "psycopg" in name:
        return PosUnavailable(f"{label}: database error on {what}: {message}",
                              "Odoo's database refused the change; it is retried later")
    return OdooError(f"{label}: {what} failed: {name or 'error'}: {message}",
                     "this looks like a bug or an unsupported Odoo version; see the Odoo server "
                     "log for the traceback", name=name, odoo_message=message)


def parse_major(info: Any, text: Any = None) -> int:
    """Return the major version from ``server_version_info`` (``[17, 0, ...]`` or
    ``["saas~17", 2, ...]``) or, failing that, a text such as ``"saas~18.3"``."""
    for value in ((info or [None])[0], text):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        match = re.search(r"(\d+)", str(value or ""))
        if match:
            return int(match.group(1))
    raise ProviderError("Odoo did not say its version", "check the url setting of the Odoo POS")


def m2o_id(value: Any) -> int | None:
    """Return the id of a many2one read value (``[7, "Name"]``, ``7`` or ``False``)."""
    if isinstance(value, (list, tuple)):
        return int(value[0]) if value else None
    return int(value) if value and not isinstance(value, bool) else None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_details(response: requests.Response) -> str:
    data = _json_or_none(response)
    if isinstance(data, dict):
        data = (data.get("error") or {}).get("data") or data
        return str(data.get("message") or data.get("name") or "")[:200]
    return response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
