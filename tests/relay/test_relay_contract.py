"""The relay against its own OpenAPI document (schemathesis, in-process WSGI): no 5xx, and no
status code, header or body outside the document, for generated valid and invalid requests."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from relay_support import FakeClock, make_app, make_relay, write_site

from hugo_pos.relay.app import openapi_document


def _app():
    root = Path(tempfile.mkdtemp(prefix="hugo-pos-contract-"))
    atexit.register(shutil.rmtree, root, True)
    pos = {"loyverse": {"provider": "loyverse", "store_id": "store-1", "access_token": "t",
                        "api_url": "http://127.0.0.1:9/v1.0", "webhook_secret": "secret"}}
    site = write_site(root / "site", pos=pos)
    return make_app(make_relay(site, f"sqlite:///{root / 'relay.sqlite3'}", FakeClock()))


APP = _app()
# A well-formed order may still be refused for what it says (an unknown item, a closed
# location...): 422 is the documented answer to that, so it counts as "accepted" here.
# An invalid body may also be refused for its size before its shape is looked at: 413.
CONFIG = schemathesis.Config.from_dict({"checks": {
    "positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]},
    "negative_data_rejection": {
        "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415",
                              "422", "428", "429"]}}})
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP, config=CONFIG)


def test_every_route_is_documented():
    documented = {path.replace("{", "<").replace("}", ">")
                  for path in openapi_document()["paths"]}
    routes = {rule.rule for rule in APP.url_map.iter_rules() if rule.endpoint != "static"}
    normalized = {r.replace("<provider_name>", "<provider>").replace("<location_id>",
                                                                     "<location_id>")
                  for r in routes}
    assert normalized == documented


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_app_matches_its_openapi_document(case):
    case.call_and_validate()
