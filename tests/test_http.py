"""The shared HTTP layer (hugo_pos/http.py): throttle, retries, error mapping. No sleeping:
clocks and sleeps are injected; HTTP is faked with ``responses``."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests
import responses

from hugo_pos.errors import PosUnavailable, ProviderError
from hugo_pos.http import HttpClient, RateLimiter, RetryPolicy, retry_after_seconds

BASE = "https://pos.example.com/v1"


class Clock:
    """A fake monotonic clock whose sleep advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(**kwargs) -> tuple[HttpClient, list[float]]:
    sleeps: list[float] = []
    made = HttpClient(BASE, account=f"test-{uuid.uuid4().hex}", label="POS (location x)",
                      credential_hint="POS_TOKEN_X", sleep=sleeps.append, **kwargs)
    return made, sleeps


def test_the_throttle_keeps_a_window_under_its_limit():
    clock = Clock()
    limiter = RateLimiter(3, 300.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    assert clock.slept == []
    clock.now += 100
    limiter.acquire()  # the 4th call waits until the 1st leaves the 300 s window
    assert sum(clock.slept) == pytest.approx(200.0)
    assert clock.now == pytest.approx(1300.0)


def test_backoff_doubles_with_full_jitter_and_a_cap():
    policy = RetryPolicy(base=0.5, cap=4.0)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)):
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jittered, not constant
    assert policy.backoff(1, retry_after=12.0) == 12.0


def test_retry_after_reads_seconds_and_http_dates():
    response = requests.Response()
    response.headers["Retry-After"] = "3"
    assert retry_after_seconds(response) == 3.0
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(response) == 0.0  # in the past
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response) is None


@responses.activate
def test_reads_are_retried_on_connection_errors_and_5xx():
    responses.get(f"{BASE}/items", body=requests.ConnectionError("reset by peer"))
    responses.get(f"{BASE}/items", status=503)
    responses.get(f"{BASE}/items", json={"items": []})
    made, sleeps = client()
    assert made.get_json("items") == {"items": []}
    assert len(sleeps) == 2 and made.requests_made == 3


@responses.activate
def test_writes_are_not_retried_and_a_timeout_is_ambiguous():
    responses.post(f"{BASE}/receipts", body=requests.ReadTimeout("slow"))
    made, sleeps = client()
    with pytest.raises(PosUnavailable) as caught:
        made.request("POST", "receipts", json={})
    assert caught.value.ambiguous and sleeps == [] and len(responses.calls) == 1
    assert caught.value.in_flight  # no answer: the POS may still be working on it


@pytest.mark.parametrize(("status", "in_flight"), [(500, False), (502, True), (503, True),
                                                    (504, True), (429, False)])
@responses.activate
def test_a_gateway_error_may_leave_the_write_in_flight(status, in_flight):
    # A 500 is the POS's own answer; 502-504 come from a proxy while the POS may work on.
    responses.post(f"{BASE}/receipts", status=status)
    made, _ = client()
    with pytest.raises(PosUnavailable) as caught:
        made.request("POST", "receipts", json={})
    assert (caught.value.ambiguous, caught.value.in_flight) == (status != 429, in_flight)


@responses.activate
def test_a_refused_connection_is_not_ambiguous():
    responses.post(f"{BASE}/receipts", body=requests.ConnectionError(
        "Failed to establish a new connection: [Errno 111] Connection refused"))
    made, _ = client()
    with pytest.raises(PosUnavailable) as caught:
        made.request("POST", "receipts", json={})
    assert not caught.value.ambiguous and not caught.value.in_flight


@pytest.mark.parametrize(("status", "message", "hint"), [
    (401, "POS (location x) rejected the credentials (HTTP 401): bad token",
     "check POS_TOKEN_X: it is missing, expired or revoked"),
    (402, "POS (location x) refused the request: the POS subscription has lapsed (HTTP 402): "
          "bad token", "renew the subscription in the POS back office"),
    (403, "POS (location x) does not allow this request (HTTP 403): bad token",
     "give POS_TOKEN_X the access it needs (scopes / access rights)"),
    (404, "POS (location x): not found (HTTP 404, GET /v1/items/42): bad token",
     "check the ids in data/locations.yaml and data/pos-mapping.yaml"),
])
@responses.activate
def test_errors_map_to_messages_with_hints(status, message, hint):
    responses.get(f"{BASE}/items/42", status=status, body="bad token")
    made, _ = client()
    with pytest.raises(ProviderError) as caught:
        made.get_json("items/42", {"x": 1})
    assert (caught.value.message, caught.value.hint) == (message, hint)


@responses.activate
def test_a_body_that_is_not_json_names_the_address():
    responses.get(f"{BASE}/items", body="<html>login</html>", content_type="text/html")
    made, _ = client()
    with pytest.raises(ProviderError) as caught:
        made.get_json("items")
    assert "answered GET /v1/items with something that is not JSON" in caught.value.message
    assert caught.value.hint == f"check that {BASE} is the POS's API address"


def test_one_session_per_account():
    first, _ = client()
    account = f"shared-{uuid.uuid4().hex}"
    again = HttpClient(BASE, account=account, label="a")
    same = HttpClient("https://other.example.com", account=account, label="b")
    assert again.session is same.session and first.session is not same.session


@responses.activate
def test_a_retry_after_beyond_the_cap_is_handed_to_the_caller():
    responses.get(f"{BASE}/items", status=429, headers={"Retry-After": "3600"})
    made, sleeps = client()
    with pytest.raises(PosUnavailable) as caught:
        made.get_json("items")
    assert caught.value.retry_after == 3600.0 and sleeps == [] and len(responses.calls) == 1


def test_the_environment_is_read_once_per_origin_and_still_honoured(monkeypatch, tmp_path):
    """requests would look proxies and ~/.netrc up on every call; the session does it once per
    origin (scheme and host), and what it found still decides where each call goes and with
    which credentials."""
    from fakes.loopback import serve_wsgi
    from werkzeug.wrappers import Response

    reached: list[tuple[str, str, str | None]] = []

    def recorder(name):
        def app(environ, start_response):
            reached.append((name, environ["REQUEST_URI"], environ.get("HTTP_AUTHORIZATION")))
            return Response('{"ok": true}', mimetype="application/json")(environ, start_response)
        return app

    lookups = []
    for name in ("get_environ_proxies", "get_netrc_auth"):
        original = getattr(requests.utils, name)
        for module in (requests.utils, requests.sessions):  # requests calls them from both
            monkeypatch.setattr(module, name, lambda url, *a, _f=original, _n=name, **kw:
                                lookups.append((_n, url)) or _f(url, *a, **kw))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine pos.example.test login ana password s3cret\n")
    netrc.chmod(0o600)
    with serve_wsgi(recorder("proxy")) as proxy, serve_wsgi(recorder("direct")) as direct:
        for name in ("http_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("NETRC", str(netrc))
        account = f"proxied-{uuid.uuid4().hex}"
        via_proxy = HttpClient("http://pos.example.test/v1", account=account, label="a")
        bypassing = HttpClient(direct, account=account, label="b")  # same session
        for _ in range(3):
            assert via_proxy.get_json("items") == {"ok": True}
            assert bypassing.get_json("items") == {"ok": True}
    basic = "Basic " + base64.b64encode(b"ana:s3cret").decode()
    assert reached == [("proxy", "http://pos.example.test/v1/items", basic),
                       ("direct", "/items", None)] * 3
    assert sorted(lookups) == sorted((name, url) for name in ("get_environ_proxies",
                                                              "get_netrc_auth")
                                     for url in ("http://pos.example.test/v1/items",
                                                 f"{direct}/items"))


def test_plain_calls_are_prepared_directly_until_a_cookie_needs_requests_merging(monkeypatch):
    """A call with nothing to merge skips requests' merging (its CPU cost) yet goes out as
    requests would send it; once the POS sets a cookie, calls take requests' own path."""
    from fakes.loopback import serve_wsgi

    seen = []

    def app(environ, start_response):
        seen.append((environ["PATH_INFO"], environ["QUERY_STRING"],
                     environ.get("HTTP_USER_AGENT"), environ.get("HTTP_X_TOKEN"),
                     environ.get("HTTP_COOKIE"),
                     environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))))
        headers = [("Content-Type", "application/json")]
        if environ["PATH_INFO"] == "/login":
            headers.append(("Set-Cookie", "sid=abc; Path=/"))
        start_response("200 OK", headers)
        return [b'{"ok": true}']

    merged = []
    original = requests.Session.prepare_request
    monkeypatch.setattr(requests.Session, "prepare_request",
                        lambda self, request: merged.append(request.url) or original(self,
                                                                                      request))
    with serve_wsgi(app) as base:
        made = HttpClient(base, account=f"direct-{uuid.uuid4().hex}", label="POS",
                          headers={"X-Token": "t0ken"})
        made.request("POST", "/orders", json={"a": 1}, params={"q": "1"})
        made.request("GET", "/login")
        made.request("GET", "/after")
    agent = requests.utils.default_user_agent()
    assert seen == [("/orders", "q=1", agent, "t0ken", None, b'{"a": 1}'),
                    ("/login", "", agent, "t0ken", None, b""),
                    ("/after", "", agent, "t0ken", "sid=abc", b"")]
    assert merged == [f"{base}/after"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/orders", "https://pos.example.com/v1/a",
                                 "https://pos.example.com:8443/v1/a-b_c~d/e:f@g", "http://h/"])
@pytest.mark.parametrize(("method", "body"), [("POST", {"a": 1, "b": "é"}), ("GET", None),
                                              ("POST", None), ("PUT", [1, 2])])
def test_a_plain_request_is_built_as_requests_prepares_it(url, method, body):
    """The session builds plain calls itself; they must go out exactly as requests' own
    preparation would send them: method, URL, headers and body bytes."""
    from hugo_pos.http import _PLAIN_URL, _plain_request

    def headers():
        return requests.structures.CaseInsensitiveDict({"User-Agent": "u", "X-Token": "t"})

    assert _PLAIN_URL.fullmatch(url)
    ours = _plain_request(method, url, headers(), body)
    theirs = requests.PreparedRequest()
    theirs.prepare(method=method, url=url, headers=headers(), json=body, data={}, params={})
    assert (ours.method, ours.url, dict(ours.headers), ours.body) == (
        theirs.method, theirs.url, dict(theirs.headers), theirs.body)


@pytest.mark.parametrize("header", [("Authorization", "Bearer t0ken\n"), (" X-Token", "t"),
                                    ("X-Count", 3)])
def test_a_plain_request_refuses_the_headers_requests_refuses(header):
    """A token read from the environment with a stray newline (or a header requests would not
    send) is refused as requests refuses it, before anything is sent."""
    from hugo_pos.http import _plain_request

    headers = requests.structures.CaseInsensitiveDict([header])
    with pytest.raises(requests.exceptions.InvalidHeader) as theirs:
        requests.PreparedRequest().prepare(method="GET", url="http://h/x", headers=headers)
    with pytest.raises(requests.exceptions.InvalidHeader) as ours:
        _plain_request("GET", "http://h/x", headers, None)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("url", ["http://POS.example.com/x", "http://h/./x", "http://h/a/../b",
                                 "http://h/a b", "http://h/%41", "http://h/x?q=1", "http://h",
                                 "http://h:080/x", "http://h/é", "http://user:pw@h/x"])
def test_urls_requests_would_rewrite_take_its_own_preparation(url):
    from hugo_pos.http import _PLAIN_URL

    assert not _PLAIN_URL.fullmatch(url)


def test_a_plain_call_follows_redirects_as_requests_does():
    from fakes.loopback import serve_wsgi

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/old":
            start_response("302 Found", [("Location", "/new"), ("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"at": "%s"}' % environ["PATH_INFO"].encode()]

    with serve_wsgi(app) as base:
        made = HttpClient(base, account=f"redirect-{uuid.uuid4().hex}", label="POS")
        response = made.request("GET", "/old")
    assert response.json() == {"at": "/new"}
    assert [r.status_code for r in response.history] == [302]
    assert response.url == f"{base}/new"
