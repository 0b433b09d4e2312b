"""The delivery worker: works the outbox until every order is in every POS (DESIGN §6).

A worker claims due deliveries (a claim lasts ``claim_ttl``, renewed while a slow POS call runs,
so only a dead worker's claims lapse; on PostgreSQL rows are taken with ``FOR UPDATE SKIP
LOCKED`` so several replicas share the work), submits each order to its POS and records the
outcome. ``PosUnavailable`` schedules a retry with exponential backoff and jitter
(from ``backoff_base``, capped at ``backoff_cap``, never sooner than the POS's Retry-After) until
the retry budget is spent; then, or on a ``ProviderError``, the delivery is ``failed`` (a dead
letter that staff see and ``hugo_pos relay retry`` sends again). Before resending anything that
may already have landed (a timeout after sending, a claim left by a crashed worker), the POS is
asked with ``find_order``. The same worker also processes stored webhook events.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from hugo_pos.errors import HugoPosError, PosUnavailable, ProviderError
from hugo_pos.relay.orders import pos_order
from hugo_pos.relay.service import Relay
from hugo_pos.relay.store import Claim, Outcome

log = logging.getLogger(__name__)

BATCH = 32
# After a round that found less than a batch, wait this long so that orders arriving in a burst
# are claimed together (one transaction for many) rather than one claim per order.
GATHER = 0.05
FLUSH = 16  # record outcomes in transactions of at most this many


def backoff(attempt: int, base: float, cap: float, retry_after: float | None = None,
            rng: random.Random | None = None) -> float:
    """Seconds before retry after failed attempt number ``attempt`` (1-based).

    ``base * 2**(attempt-1)`` capped at ``cap``, jittered to 50-100 % of that, and never less
    than the POS's ``retry_after``.
    """
    ceiling = min(cap, base * 2 ** min(attempt - 1, 30))
    delay = ceiling * (rng or random).uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


class Worker:
    """Delivers orders and processes webhook events for one relay.

    ``deliver_due()`` and ``run_once()`` do one round (tests drive them with a fake clock);
    ``start()`` runs rounds in a daemon thread until ``stop()``.
    """

    def __init__(self, relay: Relay, *, name: str | None = None, threads: int | None = None,
                 rng: random.Random | None = None) -> None:
        self.relay = relay
        self.settings = relay.settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.rng = rng or random.Random()
        self.threads = threads if threads is not None else self.settings.worker_threads
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Deliver what is due, process pending webhook events, fire a due rebuild hook."""
        from hugo_pos.relay.webhooks import fire_rebuild, process_events

        done = self.deliver_due()
        done += process_events(self.relay)
        fire_rebuild(self.relay)
        return done

    def deliver_due(self, limit: int = BATCH) -> int:
        """Claim and deliver up to ``limit`` due deliveries; return how many were attempted.

        POS calls run in the worker's thread pool; their outcomes are recorded in small
        batches (one transaction for several), as soon as they come in.
        """
        store = self.relay.store
        now = self.relay.now()
        claims = store.claim_deliveries(now=now, until=now + self.settings.claim_ttl,
                                        worker=self.name, limit=limit)
        if not claims:
            return 0
        orders = store.orders_by_id(sorted({c.order_id for c in claims}))
        if not self._pool or len(claims) == 1:
            store.finish_deliveries([self.attempt(c, orders.get(c.order_id)) for c in claims],
                                    worker=self.name)
            return len(claims)
        pending = {self._pool.submit(self.attempt, c, orders.get(c.order_id)): c for c in claims}
        done: list[Outcome] = []
        flushed = extended = time.monotonic()
        while pending:
            finished, _ = wait(pending, timeout=GATHER, return_when=FIRST_COMPLETED)
            for future in finished:
                done.append(future.result())
                del pending[future]
            tick = time.monotonic()
            if done and (len(done) >= FLUSH or tick - flushed > GATHER or not pending):
                store.finish_deliveries(done, worker=self.name)
                done, flushed = [], tick
            if pending and tick - extended > self.settings.claim_ttl / 3:
                # A slow POS must not let our claims lapse: another worker would take the
                # delivery over while our call may still land.
                now = self.relay.now()
                store.extend_claims(list(pending.values()), worker=self.name,
                                    until=now + self.settings.claim_ttl)
                extended = tick
        return len(claims)

    def attempt(self, claim: Claim, order: dict | None) -> Outcome:
        """Deliver one claimed order to its POS; return the outcome (not yet recorded)."""
        relay = self.relay
        extra = {"order_id": claim.order_id, "pos": claim.pos_name, "attempt": claim.attempts}
        looked_up = False
        try:
            if order is None:
                raise HugoPosError(f"order {claim.order_id} is not in the store")
            provider = relay.provider(order["location"], claim.pos_name)
            ref = None
            if claim.ambiguous:
                ref = _find(provider, claim.order_id)
                looked_up = True
            if ref is None:
                ref = provider.submit_order(pos_order(order["data"], claim.pos_name))
        except PosUnavailable as exc:
            ambiguous = exc.ambiguous or (claim.ambiguous and not looked_up)
            return self._retry(claim, exc.message, exc.retry_after, ambiguous, extra)
        except HugoPosError as exc:  # ProviderError, or the location/POS left the config
            log.error("delivery failed for good: %s", exc.message, extra=extra)
            return Outcome(claim, "failed", relay.now(), error=exc.message,
                           ambiguous=claim.ambiguous and not looked_up)
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the order: retry it
            log.exception("delivery crashed", extra=extra)
            return self._retry(claim, f"internal error ({type(exc).__name__})", None, True, extra)
        note = None
        if ref.total is not None and ref.total != order["total"]:
            note = f"the POS total {ref.total} differs from the order total {order['total']}"
            log.warning("delivered with a different total: %s", note, extra=extra)
        log.info("delivered", extra={**extra, "pos_ref": ref.ref})
        return Outcome(claim, "delivered", relay.now(), error=note, pos_ref=ref.ref)

    def _retry(self, claim: Claim, message: str, retry_after: float | None, ambiguous: bool,
               extra: dict) -> Outcome:
        now = self.relay.now()
        budget_end = claim.budget_from + self.settings.retry_budget
        if now >= budget_end:
            log.error("delivery failed: retry budget spent (%s)", message, extra=extra)
            return Outcome(claim, "failed", now, ambiguous=ambiguous,
                           error=f"gave up after {claim.attempts} attempts: {message}")
        delay = backoff(claim.attempts, self.settings.backoff_base, self.settings.backoff_cap,
                        retry_after, self.rng)
        log.warning("delivery will be retried in %.1f s: %s", delay, message, extra=extra)
        return Outcome(claim, "pending", now, next_at=min(now + delay, budget_end),
                       error=message, ambiguous=ambiguous)

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> Worker:
        """Run rounds in a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self.run, name="hugo-pos-worker", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Loop: work while there is work, else wait for an order (or the poll interval)."""
        log.info("delivery worker started", extra={"worker": self.name})
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 - keep the worker alive (e.g. database restart)
                log.exception("worker round failed")
                busy = 0
                self._stop.wait(1.0)
            if not busy:
                self.relay.wake.wait(self.settings.poll_interval)
                self.relay.wake.clear()
            if busy < BATCH:
                self._stop.wait(min(GATHER, self.settings.poll_interval))

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its round and wait for it."""
        self._stop.set()
        self.relay.wake.set()
        if self._thread:
            self._thread.join(timeout)
        if self._pool:
            self._pool.shutdown(wait=True)


def run_until_signalled(relay: Relay, *, parent: int | None = None) -> None:
    """Run a ``Worker`` in this process until SIGTERM or SIGINT, then let it finish its round.

    With ``parent`` (a process id), also stop when that process is gone: a delivery process
    whose gunicorn master was killed must not deliver on alone.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner = Worker(relay).start()
    while not stop.wait(1.0):
        if parent is not None and os.getppid() != parent:
            log.warning("the parent process %s is gone; stopping", parent)
            break
    runner.stop()
    log.info("delivery worker stopped", extra={"worker": runner.name})


def _find(provider, order_id: str):
    """Ask the POS for our order; a provider without lookups cannot dedupe (logged)."""
    try:
        return provider.find_order(order_id)
    except ProviderError:  # PosUnavailable included: the caller retries
        raise
    except HugoPosError:
        log.warning("the %s provider cannot look orders up; sending again", provider.name,
                    extra={"order_id": order_id})
        return None
