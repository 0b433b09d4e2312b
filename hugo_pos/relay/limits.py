"""Per-client rate limiting of order placement, and who the client is behind proxies."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from ipaddress import ip_address, ip_network


class RateLimiter:
    """A token bucket per client: ``limit`` requests a minute, bursts up to ``limit``.

    ``check(client)`` returns 0 when the request may go ahead, else the seconds to wait (for
    ``Retry-After``). ``limit`` 0 turns limiting off. Memory stays bounded: full buckets are
    forgotten.
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.rate = limit / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def check(self, client: str) -> int:
        """Take one token for ``client``; return 0, or whole seconds until one is available."""
        if self.limit <= 0:
            return 0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0
            else:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
            if now - self._swept > 60:
                self._sweep(now)
        return wait

    def _sweep(self, now: float) -> None:
        refill = self.limit / self.rate if self.rate else 0
        self._buckets = {c: (t, last) for c, (t, last) in self._buckets.items()
                         if now - last < refill}
        self._swept = now


class ClientAddress:
    """The client's address: the peer, or X-Forwarded-For's right-most untrusted hop when the
    peer is one of the trusted proxies (``HUGO_POS_TRUSTED_PROXIES``: addresses or networks)."""

    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.networks = tuple(ip_network(t, strict=False) for t in trusted)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        """Return the client address of a request from ``peer`` with that header."""
        peer = peer or "unknown"
        if not self.networks or not forwarded_for or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer
