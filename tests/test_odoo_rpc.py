"""The Odoo transport: authentication, error mapping, company context, JSON-2 (unit, responses).

Envelopes: tests/odoo_envelopes.py (odoo/http.py). Exception names and messages are Odoo's:
odoo/exceptions.py (AccessDenied "Access Denied"), odoo/models.py record rules and
``_check_company`` ("Access to unauthorized or invalid companies." from odoo/http.py /
res.users ``_get_company_ids`` checks), point_of_sale/models/pos_order.py (18 UserError).
"""

from __future__ import annotations

import json

import pytest
import responses
from odoo_envelopes import URL, JsonRpcServer, Raise, version_info

from hugo_pos.config import Location
from hugo_pos.errors import ConfigError, PosUnavailable, ProviderError
from hugo_pos.providers.base import ProviderContext
from hugo_pos.providers.odoo import OdooProvider
from hugo_pos.providers.odoo_rpc import OdooError, parse_major

SETTINGS = {"url": URL, "database": "omg", "login": "bot@omg.tt", "api_key": "k-secret-123",
            "company_id": "1", "pos_config_id": "3"}


def make_provider(**overrides) -> OdooProvider:
    location = Location(id="diamond-vale", name="Diamond Vale", kind="food-truck",
                        whatsapp="+1 868 555 0103", timezone="America/Port_of_Spain", hours=None,
                        catalog="odoo", fulfilment=("pickup",))
    context = ProviderContext(location=location, pos_name="odoo", currency="TTD")
    return OdooProvider({**SETTINGS, **overrides}, context, sleep=lambda s: None)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_authentication_failure_false_uid(rsps):
    # common.authenticate answers `false` for bad credentials (external_rpc_api.rst, Logging in).
    JsonRpcServer(rsps, {"common.version": version_info(17), "common.authenticate": False})
    provider = make_provider()
    with pytest.raises(ProviderError) as info:
        provider.rpc.call("pos.config", "read", [3], fields=["name"])
    assert info.value.message == ("Odoo (location diamond-vale) refused the login 'bot@omg.tt' "
                                  "with this API key (authenticate returned false for database "
                                  "'omg')")
    assert "ODOO_API_KEY_DIAMOND_VALE" in info.value.hint
    assert "k-secret-123" not in info.value.message + info.value.hint


def test_access_denied_on_execute_kw(rsps):
    # execute_kw with a revoked key: odoo.exceptions.AccessDenied, message "Access Denied".
    JsonRpcServer(rsps, {"common.version": version_info(17), "common.authenticate": 2,
                         "pos.config.read": Raise("odoo.exceptions.AccessDenied",
                                                  "Access Denied")})
    with pytest.raises(OdooError) as info:
        make_provider().rpc.call("pos.config", "read", [3], fields=["name"])
    assert info.value.message == ("Odoo (location diamond-vale) rejected the API key "
                                  "(AccessDenied on pos.config.read)")
    assert info.value.hint.startswith("check pos.odoo.login (usually ODOO_LOGIN_DIAMOND_VALE), "
                                      "pos.odoo.api_key (usually ODOO_API_KEY_DIAMOND_VALE)")


def test_access_error_multi_company_has_a_hint(rsps):
    # The user is not allowed company 2 (allowed_company_ids check in odoo/http.py).
    JsonRpcServer(rsps, {"common.version": version_info(17), "common.authenticate": 2,
                         "pos.config.read": Raise("odoo.exceptions.AccessError",
                                                  "Access to unauthorized or invalid companies.")})
    with pytest.raises(OdooError) as info:
        make_provider(company_id="2").rpc.call("pos.config", "read", [3], fields=["name"])
    assert info.value.message == ("Odoo (location diamond-vale): access denied on "
                                  "pos.config.read: Access to unauthorized or invalid companies.")
    assert "access to company 2 (Settings > Users > Allowed Companies)" in info.value.hint


def test_user_error_keeps_odoos_message_and_no_session_is_retryable(rsps):
    JsonRpcServer(rsps, {
        "common.version": version_info(18), "common.authenticate": 2,
        "pos.order.write": Raise("odoo.exceptions.ValidationError",
                                 "The amount must be positive."),
        # 18.0 pos_order.py _get_valid_session
        "pos.order.sync_from_ui": Raise("odoo.exceptions.UserError", "No open session "
                                        "available. Please open a new session to capture the "
                                        "order.")})
    rpc = make_provider().rpc
    with pytest.raises(OdooError) as info:
        rpc.call("pos.order", "write", [1], write=True, vals={})
    assert info.value.message == ("Odoo (location diamond-vale): Odoo refused pos.order.write: "
                                  "The amount must be positive.")
    with pytest.raises(PosUnavailable) as closed:
        rpc.call("pos.order", "sync_from_ui", write=True, orders=[])
    assert "the POS session is closed" in closed.value.message
    assert closed.value.ambiguous is False


def test_every_call_passes_allowed_company_ids_and_named_arguments(rsps):
    server = JsonRpcServer(rsps, {"common.version": version_info(17), "common.authenticate": 2,
                                  "pos.config.read": [{"id": 3, "name": "Truck"}],
                                  "pos.category.search_read": []})
    rpc = make_provider(company_id="4").rpc
    rpc.call("pos.config", "read", [3], fields=["name"])
    rpc.call("pos.category", "search_read", domain=[], fields=["name"])
    read, search = server.calls[2:]
    assert read["args"] == [[3]]
    assert read["kwargs"] == {"fields": ["name"], "context": {"allowed_company_ids": [4]}}
    assert search["args"] == []
    assert search["kwargs"]["context"] == {"allowed_company_ids": [4]}
    # authenticated once, with the empty user_agent_env Odoo expects as 4th argument
    assert [c["key"] for c in server.calls].count("common.authenticate") == 1
    assert server.calls[1]["args"] == ["omg", "bot@omg.tt", "k-secret-123", {}]


def test_reads_retry_on_502_writes_are_ambiguous(rsps):
    rsps.add(responses.POST, f"{URL}/jsonrpc", status=502, body="Bad Gateway")
    JsonRpcServer(rsps, {"common.version": version_info(17)})
    rpc = make_provider().rpc
    assert rpc.major == 17  # the first 502 was retried
    rpc._uid = 2
    rsps.replace(responses.POST, f"{URL}/jsonrpc", status=504, body="Gateway Timeout")
    with pytest.raises(PosUnavailable) as info:
        rpc.call("pos.order", "create_from_ui", write=True, orders=[])
    assert info.value.ambiguous is True and info.value.in_flight is True
    assert len([c for c in rsps.calls if c.request.url.endswith("/jsonrpc")]) == 3
    # A read sent as POST changes nothing: after its retries it is not ambiguous, so the
    # relay does not wait for it to settle before trying again.
    with pytest.raises(PosUnavailable) as info:
        rpc.call("pos.order", "search_read", domain=[], fields=["name"])
    assert (info.value.ambiguous, info.value.in_flight) == (False, False)


def test_json2_for_odoo_19(rsps):
    # JSON-2: bearer key, named arguments, bare result; errors as HTTP status + serialize body
    # (external_api.rst, JSON-2 section; odoo/http.py Json2Dispatcher.handle_error).
    JsonRpcServer(rsps, {"common.version": version_info(19)})
    rsps.add(responses.POST, f"{URL}/json/2/pos.config/read", json=[{"id": 3, "name": "T"}])
    rsps.add(responses.POST, f"{URL}/json/2/pos.order/read", status=401, json={
        "name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey",
        "arguments": ["Invalid apikey", 401], "context": {}, "debug": ""})
    rpc = make_provider().rpc
    assert rpc.call("pos.config", "read", [3], fields=["name"]) == [{"id": 3, "name": "T"}]
    sent = rsps.calls[1].request
    assert sent.headers["Authorization"] == "bearer k-secret-123"
    assert sent.headers["X-Odoo-Database"] == "omg"
    assert json.loads(sent.body) == {"ids": [3], "fields": ["name"],
                                     "context": {"allowed_company_ids": [1]}}
    with pytest.raises(OdooError) as info:
        rpc.call("pos.order", "read", [1], fields=["name"])
    assert info.value.message == ("Odoo (location diamond-vale) rejected the API key "
                                  "(Unauthorized on pos.order.read)")


def test_json2_errors_by_status(rsps):
    # odoo/http.py Json2Dispatcher.handle_error: an exception's http_status (409 LockError),
    # else 500, always with serialize_exception's body; a bare 500 is not Odoo's.
    def fault(name: str, message: str) -> dict:
        return {"name": name, "message": message, "arguments": [message], "context": {},
                "debug": "Traceback..."}

    JsonRpcServer(rsps, {"common.version": version_info(19)})
    rsps.add(responses.POST, f"{URL}/json/2/product.product/search_read", status=500,
             json=fault("builtins.ValueError", "Invalid field 'pos_categ_id' on model "
                                               "'product.product'"))
    rsps.add(responses.POST, f"{URL}/json/2/pos.order/write", status=409,
             json=fault("odoo.exceptions.LockError", "Cannot update the record now"))
    rsps.add(responses.POST, f"{URL}/json/2/pos.order/read", status=500, body="<html>oops")
    rpc = make_provider().rpc
    with pytest.raises(OdooError) as invalid:
        rpc.call("product.product", "search_read", domain=[], fields=["pos_categ_id"])
    assert "ValueError: Invalid field 'pos_categ_id'" in invalid.value.message
    assert len([c for c in rsps.calls if "search_read" in c.request.url]) == 1  # not retried
    with pytest.raises(PosUnavailable) as locked:
        rpc.call("pos.order", "write", [1], write=True, vals={"state": "paid"})
    assert "HTTP 409" in locked.value.message and locked.value.ambiguous is False
    with pytest.raises(PosUnavailable) as bare:
        rpc.call("pos.order", "read", [1], fields=["name"])
    assert bare.value.ambiguous is False


def test_forced_jsonrpc_on_19_and_version_parsing(rsps):
    server = JsonRpcServer(rsps, {"common.version": version_info(19), "common.authenticate": 2,
                                  "pos.config.read": []})
    make_provider(api="jsonrpc").rpc.call("pos.config", "read", [3], fields=["name"])
    assert server.calls[-1]["key"] == "pos.config.read"
    assert parse_major(["saas~17", 2, 0, "final", 0, ""]) == 17
    assert parse_major(None, "18.0+e") == 18


def test_settings_are_checked_when_the_provider_is_built():
    with pytest.raises(ConfigError) as info:
        make_provider(order_state="paid")
    assert info.value.problems == [
        "data/locations.yaml: location diamond-vale: pos.odoo.payment_method_id: required when "
        "order_state is paid"]
    with pytest.raises(ConfigError) as info:
        make_provider(pos_config_id="three", api="xmlrpc")
    assert info.value.problems == [
        "data/locations.yaml: location diamond-vale: pos.odoo.pos_config_id: expected an "
        "integer but received a string ('three')",
        "data/locations.yaml: location diamond-vale: pos.odoo.api: expected one of auto, "
        "jsonrpc, json2, got 'xmlrpc'"]
    assert make_provider(payment_method_id="5", order_state="paid").settings[
        "payment_method_id"] == 5
