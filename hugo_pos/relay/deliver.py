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
from concurrent.futures import Future, ThreadPoolExecutor

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
CHECKPOINT_EVERY = 1.0  # seconds between SQLite WAL checkpoints, done here, not in web requests


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
    ``start()`` runs the worker in a daemon thread until ``stop()``: there up to ``threads``
    POS calls are under way at any time, a freed thread taking the next due delivery (claimed a
    few at a time) instead of waiting for a whole round to end, so that one slow call holds up
    only its own thread.
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
        self._pending: dict[Future, Claim] = {}  # POS calls under way
        self._finished: list[Future] = []  # calls that ended, not yet taken from _pending
        self._ended = threading.Condition()
        self._enough = 1  # how many ended calls wake the waiting _settle
        self._done: list[Outcome] = []  # outcomes not recorded yet
        self._flushed = self._extended = time.monotonic()
        self._housekept = self._checkpointed = float("-inf")

    # -- one round -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Deliver what is due, process pending webhook events, fire a due rebuild hook, and
        checkpoint the store's WAL if the last checkpoint is a second old."""
        done = self.deliver_due()
        return done + self._housekeeping(checkpoint=True)

    def deliver_due(self, limit: int = BATCH) -> int:
        """Claim and deliver up to ``limit`` due deliveries; return how many were attempted.

        POS calls run in the worker's thread pool; their outcomes are recorded in small
        batches (one transaction for several), as soon as they come in.
        """
        claimed = self._claim(limit)
        while self._pending or self._done:
            self._settle(FLUSH)
        return claimed

    def _housekeeping(self, *, checkpoint: bool) -> int:
        """Process pending webhook events and fire a due rebuild hook; with ``checkpoint``,
        checkpoint the store's WAL if the last checkpoint is a second old. Returns how many
        events were processed."""
        from hugo_pos.relay.webhooks import fire_rebuild, process_events

        done = process_events(self.relay)
        fire_rebuild(self.relay)
        now = self.relay.now()
        if checkpoint and now - self._checkpointed >= CHECKPOINT_EVERY:
            self.relay.store.checkpoint()
            self._checkpointed = now
        return done

    def _claim(self, limit: int) -> int:
        """Claim up to ``limit`` due deliveries and start their POS calls (in the pool, or
        here and now without one); return how many were claimed."""
        store = self.relay.store
        now = self.relay.now()
        claims = store.claim_deliveries(now=now, until=now + self.settings.claim_ttl,
                                        worker=self.name, limit=limit)
        if not claims:
            return 0
        orders = store.orders_by_id(sorted({c.order_id for c in claims}))
        for claim in claims:
            order = orders.get(claim.order_id)
            if self._pool:
                future = self._pool.submit(self.attempt, claim, order)
            else:
                future = Future()
                future.set_result(self.attempt(claim, order))
            self._pending[future] = claim
            future.add_done_callback(self._on_end)
        return len(claims)

    def _on_end(self, future: Future) -> None:
        with self._ended:
            self._finished.append(future)
            if len(self._finished) >= min(self._enough, len(self._pending)):
                self._ended.notify()

    def _settle(self, enough: int) -> None:
        """Wait until ``enough`` POS calls under way have ended (all of them, if fewer are
        left), at most ``GATHER`` s; record the outcomes in hand when there are ``FLUSH`` of
        them, when the oldest waited ``GATHER`` s, or when no call is left; keep the claims of
        the calls still running alive. Waking once per few calls, not once per call, spares
        the GIL hand-offs of a busy worker."""
        with self._ended:
            self._enough = enough
            self._ended.wait_for(
                lambda: len(self._finished) >= min(enough, len(self._pending)), GATHER)
            finished, self._finished = self._finished, []
        for future in finished:
            self._done.append(future.result())
            del self._pending[future]
        tick = time.monotonic()
        if self._done and (len(self._done) >= FLUSH or tick - self._flushed > GATHER
                           or not self._pending):
            self._record(self._done)
            self._done = []
        if not self._done:
            self._flushed = tick
        if self._pending and tick - self._extended > self.settings.claim_ttl / 3:
            # A slow POS must not let our claims lapse: another worker would take the
            # delivery over while our call may still land.
            now = self.relay.now()
            self.relay.store.extend_claims(list(self._pending.values()), worker=self.name,
                                until=now + self.settings.claim_ttl)
            self._extended = tick
        elif not self._pending:
            self._extended = tick

    def _record(self, outcomes: list[Outcome]) -> None:
        """Record outcomes in one transaction; one log line for those delivered (a line per
        order cost each delivery a lock and a write, between threads that want the GIL)."""
        self.relay.store.finish_deliveries(outcomes, worker=self.name)
        delivered = {o.claim.order_id: o.pos_ref for o in outcomes if o.status == "delivered"}
        if delivered:
            log.info("%d delivered", len(delivered), extra={"delivered": delivered})

    def attempt(self, claim: Claim, order: dict | None) -> Outcome:
        """Deliver one claimed order to its POS; return the outcome (not yet recorded)."""
        relay = self.relay
        extra = {"order_id": claim.order_id, "pos": claim.pos_name, "attempt": claim.attempts}
        looked_up, provider = False, None
        try:
            if order is None:
                raise HugoPosError(f"order {claim.order_id} is not in the store")
            provider = relay.provider(order["location"], claim.pos_name)
            ref = None
            if claim.ambiguous and not type(provider).submit_finds_first:
                ref = _find(provider, claim.order_id)
                looked_up = True
            if ref is None:
                ref = provider.submit_order(pos_order(order["data"], claim.pos_name))
        except PosUnavailable as exc:
            ambiguous = exc.ambiguous or (claim.ambiguous and not looked_up)
            wait = exc.retry_after
            if exc.in_flight and provider is not None:  # the order may still be landing
                wait = max(wait or 0.0, type(provider).settle_seconds)
            return self._retry(claim, exc.message, wait, ambiguous, extra)
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
        log.debug("delivered", extra={**extra, "pos_ref": ref.ref})  # _record logs a batch
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
        """Run the worker in a daemon thread until ``stop()``, and the WAL checkpoints in
        another."""
        self._thread = threading.Thread(target=self.run, name="hugo-pos-worker", daemon=True)
        self._thread.start()
        threading.Thread(target=self._checkpoints, name="hugo-pos-checkpoint",
                         daemon=True).start()
        return self

    def _checkpoints(self) -> None:
        """Checkpoint the store's WAL every ``CHECKPOINT_EVERY`` s until ``stop()``: copying a
        second of a busy relay's WAL takes tens of ms (mostly fsync) that neither a web request
        nor the delivery loop should wait for."""
        while not self._stop.wait(CHECKPOINT_EVERY):
            try:
                self.relay.store.checkpoint()
            except Exception:  # noqa: BLE001 - a missed checkpoint only lets the WAL grow
                log.exception("WAL checkpoint failed")
        self.relay.store.close()

    def run(self) -> None:
        """Loop: keep up to ``threads`` POS calls under way while deliveries are due, else wait
        for an order (or the poll interval); housekeeping once a second. On ``stop()``, claim
        nothing more, let the calls under way end and record them."""
        log.info("delivery worker started", extra={"worker": self.name})
        capacity = self.threads if self._pool else BATCH
        refill = max(1, capacity // 4)  # claim a few at a time, not one per freed thread
        next_claim = 0.0
        while not self._stop.is_set():
            try:
                room, found = capacity - len(self._pending), None
                if room and (room >= refill or not self._pending) \
                        and time.monotonic() >= next_claim:
                    found = self._claim(room)
                    if found < room:  # nothing more is due: let new orders gather a moment
                        next_claim = time.monotonic() + min(GATHER, self.settings.poll_interval)
                self._settle(refill)
                if time.monotonic() - self._housekept >= 1.0 or found == 0:
                    self._housekeeping(checkpoint=False)
                    self._housekept = time.monotonic()
            except Exception:  # noqa: BLE001 - keep the worker alive (e.g. database restart)
                log.exception("worker round failed")
                found = 0
                self._stop.wait(1.0)
            if not self._pending:
                if found == 0:
                    self.relay.wake.wait(self.settings.poll_interval)
                    self.relay.wake.clear()
                self._stop.wait(max(0.0, next_claim - time.monotonic()))
        while self._pending or self._done:
            try:
                self._settle(FLUSH)
            except Exception:  # noqa: BLE001 - unrecorded claims lapse and are looked up
                log.exception("could not record the last deliveries")
                break

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish the POS calls under way, record them, and wait for it."""
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
