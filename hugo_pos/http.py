"""The one HTTP layer every provider uses (stripe-python's ``http_client`` as the model).

* one pooled ``requests.Session`` per POS account, with connect/read timeouts, reading the
  environment's proxy and CA settings once per origin;
* a client-side throttle per account (Loyverse allows 300 requests per 300 s);
* retries with exponential backoff and jitter on 429, 5xx and connection errors, honouring
  ``Retry-After``, for reads only: a write is retried only when the caller says it is safe;
* one function, ``raise_for_response``, that maps a failed response to a HugoPosError with a hint.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from hugo_pos.errors import PosUnavailable, ProviderError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answered by a proxy in front of the POS, which may still be working on the request.
GATEWAY_STATUSES = frozenset({502, 503, 504})
POOL_SIZE = 64
# Arguments PooledSession.request prepares directly; any other goes through requests' merging.
_DIRECT = frozenset({"params", "data", "json", "headers", "timeout", "allow_redirects"})
# A URL requests sends unchanged (a lower-case ASCII host, a path with nothing to quote and no
# dot segment, no query): PooledSession builds its request without requests' URL parsing.
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(?::[1-9][0-9]{0,4})?"
                        r"(?!.*/\.)/[A-Za-z0-9._~!$&'()*+,;=:@/-]*")
_sessions: dict[str, requests.Session] = {}
_limiters: dict[str, RateLimiter] = {}
_lock = threading.Lock()


class RateLimiter:
    """At most ``limit`` calls in any ``period`` seconds (a sliding window), thread-safe."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit, self.period = limit, period
        self.clock, self.sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until one more call fits in the window, then record it."""
        while True:
            with self._lock:
                now = self.clock()
                while self._calls and self._calls[0] <= now - self.period:
                    self._calls.popleft()
                if len(self._calls) < self.limit:
                    self._calls.append(now)
                    return
                wait = self._calls[0] + self.period - now
            self.sleep(max(wait, 0.01))


@dataclass
class RetryPolicy:
    """How often and how long to retry: ``backoff(attempt)`` doubles from ``base`` to ``cap``."""

    max_retries: int = 4
    base: float = 0.5
    cap: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), full jitter, ≥ Retry-After."""
        delay = random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        return max(delay, retry_after or 0.0)


class PooledSession(requests.Session):
    """A ``requests.Session`` that reads the environment once per origin (scheme and host)
    rather than on every request: proxies (``HTTPS_PROXY``, ``NO_PROXY``...), the CA bundle
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and ``~/.netrc`` credentials.

    requests looks them all up on every call: two scans of ``os.environ`` and three ``stat``
    calls, about a third of a delivery's HTTP CPU, and each ``stat`` hands the GIL over
    between a delivery worker's threads (bench/RESULTS.md). A process's environment does not
    change while it runs, so the first request to an origin decides for the next ones. The
    session runs with ``trust_env`` off and is handed what was found; one difference is left:
    a redirect to another host keeps the first host's proxy.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._origins: dict[str, tuple[dict, str | None, Any]] = {}

    def environment(self, url: str) -> tuple[dict, str | None, Any]:
        """``(proxies, CA bundle, netrc credentials)`` the environment gives ``url``'s
        origin, looked up on the first request to it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._origins.get(origin)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = (requests.utils.get_environ_proxies(url), bundle,
                     requests.utils.get_netrc_auth(url))
            self._origins[origin] = found
        return found

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """requests' ``Session.request``, prepared and sent directly when neither the call nor
        the session has anything to merge into it (cookies, auth, hooks, files, per-call
        proxies or TLS settings): requests' merging and preparation were most of a POS call's
        client CPU (bench/RESULTS.md). The first cookie a POS sets sends every later call down
        requests' own path, which returns it."""
        if kwargs.keys() - _DIRECT or self.cookies or self.auth or self.params or self.proxies \
                or self.cert or self.stream or any(self.hooks.values()):
            return super().request(method, url, **kwargs)
        proxies, bundle, netrc = self.environment(url)
        headers = requests.structures.CaseInsensitiveDict(self.headers)
        for name, value in (kwargs.get("headers") or {}).items():
            if value is None:  # as requests does: None removes a session header
                headers.pop(name, None)
            else:
                headers[name] = value
        data, params = kwargs.get("data"), kwargs.get("params")
        if netrc is None and not data and not params and _PLAIN_URL.fullmatch(url):
            prepared = _plain_request(method.upper(), url, headers, kwargs.get("json"))
        else:
            prepared = requests.PreparedRequest()
            prepared.prepare(method=method.upper(), url=url, headers=headers, data=data or {},
                             json=kwargs.get("json"), params=params or {}, auth=netrc)
        return self._send_plain(prepared, timeout=kwargs.get("timeout"),
                                allow_redirects=kwargs.get("allow_redirects", True),
                                proxies=dict(proxies), verify=bundle or self.verify)

    def _send_plain(self, prepared: requests.PreparedRequest, *, timeout: Any,
                    allow_redirects: bool, proxies: dict, verify: Any) -> requests.Response:
        """``Session.send`` for a session without hooks: the transport adapter's answer, its
        cookies kept, redirects followed as requests follows them, the body read."""
        settings = {"stream": False, "timeout": timeout, "verify": verify, "cert": None,
                    "proxies": proxies}
        started = time.perf_counter()
        response = self.get_adapter(prepared.url).send(prepared, **settings)
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            requests.cookies.extract_cookies_to_jar(self.cookies, prepared, response.raw)
        if allow_redirects and response.is_redirect:
            if prepared._cookies is None:  # resolve_redirects keeps the redirects' cookies there
                prepared._cookies = requests.cookies.RequestsCookieJar()
            history = [response, *self.resolve_redirects(response, prepared, **settings)]
            response = history.pop()
            response.history = history
        response.content  # noqa: B018 - read the body now (stream=False), as requests does
        return response

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """requests' preparation, with the origin's netrc credentials when none are given."""
        if not request.auth and not self.auth:
            request.auth = self.environment(request.url)[2]
        return super().prepare_request(request)

    def merge_environment_settings(self, url, proxies, stream, verify, cert) -> dict:
        """requests' merge of the environment into a request's settings, from the origin's
        cached environment."""
        env_proxies, bundle, _ = self.environment(url)
        proxies = {**env_proxies, **(proxies or {})}
        if verify is True or verify is None:
            verify = bundle or verify
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


def _plain_request(method: str, url: str, headers: requests.structures.CaseInsensitiveDict,
                   json_body: Any) -> requests.PreparedRequest:
    """The request ``PreparedRequest.prepare`` would build for a plain URL (``_PLAIN_URL``), a
    JSON body or none, and no auth: the same method, URL, headers and bytes."""
    for header in headers.items():
        requests.utils.check_header_validity(header)  # as PreparedRequest.prepare_headers does
    prepared = requests.PreparedRequest()
    prepared.method, prepared.url, prepared.headers = method, url, headers
    if json_body is not None:
        prepared.body = requests.compat.json.dumps(json_body, allow_nan=False).encode("utf-8")
        if "content-type" not in headers:
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(prepared.body))
    elif method not in ("GET", "HEAD") and headers.get("Content-Length") is None:
        headers["Content-Length"] = "0"
    return prepared


def session_for(account: str) -> requests.Session:
    """Return the pooled session of a POS account (one per account for the process)."""
    with _lock:
        if account not in _sessions:
            session = PooledSession()
            # Idle connections kept per host: as many as a delivery worker's threads (a call
            # beyond it opens a connection, then drops it with a warning).
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _sessions[account] = session
        return _sessions[account]


def limiter_for(account: str, limit: int, period: float) -> RateLimiter:
    """Return the shared throttle of a POS account."""
    with _lock:
        if account not in _limiters:
            _limiters[account] = RateLimiter(limit, period)
        return _limiters[account]


def retry_after_seconds(response: requests.Response) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date); None if absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


class HttpClient:
    """JSON over HTTP to one POS account.

    ``label`` names the POS and location in messages (``Loyverse (location ariapita)``);
    ``credential_hint`` says where the credential comes from (``LOYVERSE_ACCESS_TOKEN_ARIAPITA``);
    ``error_details`` extracts the vendor's error text from a response body.
    """

    def __init__(self, base_url: str, *, account: str, label: str, headers: dict | None = None,
                 credential_hint: str = "the POS credentials",
                 rate: tuple[int, float] | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0), policy: RetryPolicy | None = None,
                 error_details: Callable[[requests.Response], str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session_for(account)
        self.label = label
        self.headers = headers or {}
        self.credential_hint = credential_hint
        self.limiter = limiter_for(account, *rate) if rate else None
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.error_details = error_details or _plain_details
        self.sleep = sleep
        self.requests_made = 0

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                retry: bool | None = None, ok: tuple[int, ...] = (),
                idempotent: bool | None = None) -> requests.Response:
        """Send a request and return the successful response.

        ``idempotent`` (default: GET only) marks a request that changes nothing, e.g. an RPC
        read sent as POST: it is retried, and its failure is never ``ambiguous``. ``retry``
        overrides the retrying. Statuses in ``ok`` are returned instead of raised (e.g. 404 for
        a lookup). Raises PosUnavailable when retries are exhausted (with ``ambiguous`` set
        when a write may have landed) and ProviderError for other failures.
        """
        idempotent = method.upper() == "GET" if idempotent is None else idempotent
        retry = idempotent if retry is None else retry
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        attempt = 0
        while True:
            attempt += 1
            if self.limiter:
                self.limiter.acquire()
            self.requests_made += 1
            try:
                response = self.session.request(method, url, params=params, json=json,
                                                headers=self.headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                sent = not isinstance(exc, requests.ConnectTimeout) and not _refused(exc)
                if retry and attempt <= self.policy.max_retries:
                    self.sleep(self.policy.backoff(attempt))
                    continue
                raise PosUnavailable(
                    f"{self.label} did not answer ({type(exc).__name__})",
                    f"check that {self.base_url} is reachable; the request is retried later",
                    ambiguous=sent and not idempotent, in_flight=True) from None
            if response.status_code < 400 or response.status_code in ok:
                return response
            wait = retry_after_seconds(response)
            if response.status_code in RETRY_STATUSES:
                # A Retry-After longer than the backoff cap is not slept through here: the caller
                # (build cache, relay queue) waits it out better than a blocked thread.
                if retry and attempt <= self.policy.max_retries and (wait or 0) <= self.policy.cap:
                    self.sleep(self.policy.backoff(attempt, wait))
                    continue
                details = self.error_details(response)
                raise PosUnavailable(
                    f"{self.label} answered HTTP {response.status_code}"
                    f"{': ' + details if details else ''}",
                    "the POS is busy or failing; the request is retried later", retry_after=wait,
                    ambiguous=response.status_code != 429 and not idempotent,
                    in_flight=response.status_code in GATEWAY_STATUSES)
            raise_for_response(response, self.label, self.credential_hint, self.error_details)

    def get_json(self, path: str, params: dict | None = None, *,
                 parse_float: Callable[[str], Any] | None = None) -> Any:
        """GET ``path`` and return its JSON body (``parse_float=Decimal`` keeps amounts exact)."""
        return self.json_of(self.request("GET", path, params=params), parse_float)

    def json_of(self, response: requests.Response,
                parse_float: Callable[[str], Any] | None = None) -> Any:
        """Return a response's JSON body; a body that is not JSON raises ProviderError."""
        try:
            return response.json(parse_float=parse_float) if parse_float else response.json()
        except ValueError:
            raise ProviderError(
                f"{self.label} answered {response.request.method} "
                f"{response.request.path_url.split('?')[0]} with something that is not JSON "
                f"(HTTP {response.status_code}, {response.headers.get('Content-Type', '?')})",
                f"check that {self.base_url} is the POS's API address") from None


def raise_for_response(response: requests.Response, label: str, credential_hint: str,
                       error_details: Callable[[requests.Response], str] = None) -> None:
    """Raise the HugoPosError that a failed (4xx) response means, with a hint to fix it."""
    details = (error_details or _plain_details)(response)
    suffix = f": {details}" if details else ""
    status = response.status_code
    hints = {
        401: (f"{label} rejected the credentials (HTTP 401){suffix}",
              f"check {credential_hint}: it is missing, expired or revoked"),
        402: (f"{label} refused the request: the POS subscription has lapsed (HTTP 402){suffix}",
              "renew the subscription in the POS back office"),
        403: (f"{label} does not allow this request (HTTP 403){suffix}",
              f"give {credential_hint} the access it needs (scopes / access rights)"),
        404: (f"{label}: not found (HTTP 404, {response.request.method} "
              f"{response.request.path_url.split('?')[0]}){suffix}",
              "check the ids in data/locations.yaml and data/pos-mapping.yaml"),
    }
    message, hint = hints.get(status, (f"{label} refused the request (HTTP {status}){suffix}",
                                       "fix the value named above and try again"))
    raise ProviderError(message, hint)


def _plain_details(response: requests.Response) -> str:
    return response.text.strip().splitlines()[0][:200] if response.text.strip() else ""


def _refused(exc: Exception) -> bool:
    text = str(exc)
    return "Connection refused" in text or "Failed to establish a new connection" in text
