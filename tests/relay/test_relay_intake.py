"""The lean POST /v1/orders layer (relay/intake.py) answers exactly as the Flask route does:
status, headers, body, access log. Each request is sent once through the layer and once straight
to Flask, each to its own relay (own database, same clock; order ids follow from the keys)."""

from __future__ import annotations

import dataclasses
import io
import json
import logging

import pytest
from relay_support import make_app, make_relay, order_body
from werkzeug.test import EnvironBuilder, run_wsgi_app

ORIGIN = "https://shop.example.com"


class Twin:
    """A relay app whose requests go through the intake layer, or straight to Flask."""

    def __init__(self, site, url, clock, monkeypatch, **overrides) -> None:
        self.relay = make_relay(site, url, clock, **overrides)
        self.app = make_app(self.relay)
        self.intake = self.app.wsgi_app
        self.to_flask = 0
        flask_wsgi = self.intake.flask_wsgi

        def counted(environ, start_response):
            self.to_flask += 1
            return flask_wsgi(environ, start_response)

        monkeypatch.setattr(self.intake, "flask_wsgi", counted)

    def send(self, wsgi, body, headers) -> tuple:
        environ = EnvironBuilder(method="POST", path="/v1/orders", data=body,
                                 headers=headers, content_type="application/json").get_environ()
        app_iter, status, response_headers = run_wsgi_app(wsgi, environ)
        return status, list(response_headers.to_wsgi_list()), b"".join(app_iter)


def _cases():
    good = json.dumps(order_body())
    key = {"Idempotency-Key": "k-1"}
    return [
        ("an order", good, key),
        ("an order from the shop", json.dumps(order_body(note="x")),
         {"Idempotency-Key": "k-2", "Origin": ORIGIN}),
        ("a replay", good, key),
        ("a key reused for another order", json.dumps(order_body(note="other")), key),
        ("no key", good, {}),
        ("a key with a space", good, {"Idempotency-Key": "a b"}),
        ("not JSON", "{", {"Idempotency-Key": "k-3", "Origin": ORIGIN}),
        ("not UTF-8", b"\xff\xfe", {"Idempotency-Key": "k-4"}),
        ("no items", json.dumps(order_body(items=[])), {"Idempotency-Key": "k-5"}),
        ("an unknown location", json.dumps(order_body("nowhere")), {"Idempotency-Key": "k-6"}),
        ("a changed price", json.dumps(order_body(expected_total=1)), {"Idempotency-Key": "k-7"}),
        ("an origin not allowed", json.dumps(order_body(note="y")),
         {"Idempotency-Key": "k-8", "Origin": "https://evil.example.com"}),
        ("a non-ASCII note", json.dumps(order_body(note="sans wasabi, merci é"),
                                        ensure_ascii=False).encode(), {"Idempotency-Key": "k-9"}),
    ]


def _records(caplog) -> list[tuple]:
    found = [(r.name, r.levelname, r.getMessage(), getattr(r, "status", None),
              getattr(r, "order_id", None)) for r in caplog.records]
    caplog.clear()
    return found


def test_the_intake_answers_as_the_flask_route(site, tmp_path, clock, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="hugo_pos.relay")
    lean = Twin(site, f"sqlite:///{tmp_path / 'lean.sqlite3'}", clock, monkeypatch)
    flask = Twin(site, f"sqlite:///{tmp_path / 'flask.sqlite3'}", clock, monkeypatch)
    for name, body, headers in _cases():
        ours = lean.send(lean.intake, body, headers)
        logged = _records(caplog)
        theirs = flask.send(flask.intake.flask_wsgi, body, headers)
        assert ours == theirs, name
        assert logged == _records(caplog), name
    assert lean.to_flask == 0  # every one of these was taken by the intake itself
    assert ours[0].startswith("201") and ("Vary", "Origin") in lean.send(
        lean.intake, json.dumps(order_body(note="z")),
        {"Idempotency-Key": "k-10", "Origin": ORIGIN})[1]


@pytest.mark.parametrize("case", ["rate limited", "no relay_url", "a crash"])
def test_the_intake_answers_as_the_flask_route_when(case, site, tmp_path, clock, monkeypatch,
                                                    caplog):
    overrides = {"rate_limit": 1} if case == "rate limited" else {}
    twins = [Twin(site, f"sqlite:///{tmp_path / f'{n}.sqlite3'}", clock, monkeypatch,
                  **overrides) for n in ("lean", "flask")]
    for twin in twins:
        if case == "no relay_url":
            twin.relay.config = dataclasses.replace(twin.relay.config, relay_url="")
        if case == "a crash":
            monkeypatch.setattr(twin.relay, "live", lambda location: 1 / 0)
    headers = {"Idempotency-Key": "k-1", "Host": "relay.local:8800"}
    answers = []
    for twin, wsgi in ((twins[0], twins[0].intake), (twins[1], twins[1].intake.flask_wsgi)):
        caplog.clear()
        first = twin.send(wsgi, json.dumps(order_body()), headers)
        second = twin.send(wsgi, json.dumps(order_body()), {**headers,
                                                                        "Idempotency-Key": "k2"})
        answers.append((first, second, [(r.levelname, r.getMessage()) for r in caplog.records]))
    assert answers[0] == answers[1]
    first, second, logged = answers[0]
    expected = {"rate limited": "429 TOO MANY REQUESTS", "no relay_url": "201 CREATED",
                "a crash": "500 INTERNAL SERVER ERROR"}[case]
    assert second[0] == expected
    if case == "no relay_url":
        assert b"http://relay.local:8800/v1/orders/" in first[2]
    if case == "a crash":
        assert ("ERROR", "unhandled error on POST /v1/orders") in logged
    assert twins[0].to_flask == 0


@pytest.mark.parametrize(("environ", "answer"), [
    ({"CONTENT_LENGTH": str(32 * 1024 + 1)}, ("413", "too_large")),  # too large
    ({"HTTP_TRANSFER_ENCODING": "chunked"}, ("400", "invalid_json")),  # not chunk-encoded
    ({"CONTENT_LENGTH": "5000"}, ("400", "invalid")),  # cut short: the client went away
])
def test_orders_flask_must_refuse_for_their_framing_go_to_flask(environ, answer, site, tmp_path,
                                                                 clock, monkeypatch):
    twin = Twin(site, f"sqlite:///{tmp_path / 'r.sqlite3'}", clock, monkeypatch)
    built = EnvironBuilder(method="POST", path="/v1/orders", data=json.dumps(order_body()),
                           headers={"Idempotency-Key": "k-1"},
                           content_type="application/json").get_environ()
    built.update(environ)
    app_iter, status, _ = run_wsgi_app(twin.intake, built)
    body = json.loads(b"".join(app_iter))
    assert twin.to_flask == 1
    assert (status.split()[0], body["error"]["code"]) == answer


class _Broken:
    """A request body whose connection breaks while it is read."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, *args):
        raise self.error


@pytest.mark.parametrize("error", [ConnectionResetError(104, "reset by peer"),
                                   TimeoutError("timed out")])
def test_a_body_whose_connection_breaks_gets_flasks_400_and_its_log_line(
        error, site, tmp_path, clock, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="hugo_pos.relay")
    twin = Twin(site, f"sqlite:///{tmp_path / 'r.sqlite3'}", clock, monkeypatch)
    built = EnvironBuilder(method="POST", path="/v1/orders", data=json.dumps(order_body()),
                           headers={"Idempotency-Key": "k-1"},
                           content_type="application/json").get_environ()
    built["wsgi.input"] = _Broken(error)
    app_iter, status, _ = run_wsgi_app(twin.intake, built)
    body = json.loads(b"".join(app_iter))
    assert (status, body["error"]["code"], twin.to_flask) == ("400 BAD REQUEST", "invalid", 1)
    assert [(r.getMessage(), r.status) for r in caplog.records
            if r.name == "hugo_pos.relay.access"] == [("POST /v1/orders 400", 400)]
    assert twin.relay.store.read().row("SELECT COUNT(*) AS n FROM orders")["n"] == 0


def _streamed(path: str, body: bytes, headers: dict) -> dict:
    """The environ a server gives a chunked request: no Content-Length, a terminated input."""
    built = EnvironBuilder(method="POST", path=path, headers=headers,
                           content_type="application/json").get_environ()
    built.pop("CONTENT_LENGTH", None)
    built.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
                  "wsgi.input": io.BytesIO(body)})
    return built


def _padded(size: int) -> bytes:
    body = json.dumps({**order_body(), "pad": ""})
    return body.replace('"pad": ""', '"pad": "' + "x" * (size - len(body)) + '"').encode()


@pytest.mark.parametrize(("path", "size", "expected"), [
    ("/v1/orders", 32 * 1024 + 1, ("413", "too_large")),
    ("/v1/orders", 40_000, ("413", "too_large")),
    ("/v1/orders", 32 * 1024, ("201", None)),  # exactly the limit is not too large
    ("/webhooks/loyverse", 40_000, ("401", "unauthorized")),  # a webhook may be bigger: 2 MB
    ("/webhooks/loyverse", 2 * 1024 * 1024 + 1, ("413", "too_large")),
])
def test_a_streamed_body_over_its_limit_is_413_not_cut_short(path, size, expected, site, tmp_path,
                                                          clock, monkeypatch):
    twin = Twin(site, f"sqlite:///{tmp_path / 'r.sqlite3'}", clock, monkeypatch)
    body = _padded(size)
    assert len(body) == size
    app_iter, status, _ = run_wsgi_app(twin.intake, _streamed(path, body,
                                                              {"Idempotency-Key": "k-1"}))
    answer = json.loads(b"".join(app_iter))
    assert (status.split()[0], answer.get("error", {}).get("code")) == expected
