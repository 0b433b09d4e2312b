"""The relay's durable store: orders, per-POS deliveries (the outbox), idempotency keys, webhook
events, live availability. SQLite (one WAL file) by default, PostgreSQL when the URL says so.

One schema and one set of SQL statements serve both (``database.py`` holds the connections).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from hugo_pos.errors import HugoPosError
from hugo_pos.relay.database import Database, Tx, connect

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ORDER_STATUSES = ("received", "in_pos", "accepted", "ready", "completed", "cancelled",
                  "attention")
# Statuses the delivery outcome may change; staff and POS statuses win over them.
_DELIVERY_DRIVEN = ("received", "in_pos", "attention")
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)



class OrderIdTaken(Exception):
    """Another order already has this id (``create_order``)."""


@dataclass(frozen=True)
class Claim:
    """A delivery a worker has claimed: deliver ``order_id`` to the POS ``pos_name``.

    ``ambiguous`` is true when an earlier attempt may have reached the POS (a timeout after
    sending, or a claim left behind by a crashed worker): look the order up before resending.
    """

    order_id: str
    pos_name: str
    provider: str
    attempts: int
    ambiguous: bool
    budget_from: float
    created_at: float


@dataclass(frozen=True)
class Outcome:
    """What came of one delivery attempt: ``status`` is ``delivered``, ``pending`` (retry at
    ``next_at``) or ``failed``; ``at`` is when the attempt ended."""

    claim: Claim
    status: str
    at: float
    next_at: float | None = None
    error: str | None = None
    pos_ref: str | None = None
    ambiguous: bool = False


def _statements(sql: str) -> list[str]:
    """The statements of a SQL script (no ``;`` inside them), comments removed."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def open_store(url: str) -> Store:
    """Open (creating and migrating if needed) the store at database ``url``."""
    store = Store(connect(url))
    store.migrate()
    return store


class Store:
    """Everything the relay persists, over one ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.url = db.url

    @property
    def lock_clause(self) -> str:
        """``FOR UPDATE SKIP LOCKED`` where the database has it."""
        return self.db.lock_clause

    def transaction(self):
        """A write transaction (see ``Database.transaction``)."""
        return self.db.transaction()

    def read(self) -> Tx:
        """A cursor for reads outside a transaction."""
        return self.db.read()

    def close(self) -> None:
        """Close this thread's connection."""
        self.db.close()

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log into the database file (nothing on PostgreSQL)."""
        self.db.checkpoint()

    def migrate(self) -> None:
        """Create the schema (or bring it up to ``SCHEMA_VERSION``)."""
        with self.transaction() as tx:
            self.db.lock_schema(tx)
            schema = files("hugo_pos.relay").joinpath("schema.sql").read_text(encoding="utf-8")
            for statement in _statements(schema):
                tx.run(statement)
            found = tx.row("SELECT version FROM hp_schema")
            if found is None:
                tx.run("INSERT INTO hp_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif found["version"] > SCHEMA_VERSION:
                raise HugoPosError(
                    f"the relay database has schema version {found['version']}, newer than "
                    f"this hugo_pos ({SCHEMA_VERSION})", "upgrade hugo_pos on every replica")

    def ping(self) -> bool:
        """Return whether the database answers."""
        try:
            self.read().row("SELECT 1 AS ok")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            log.warning("store not reachable", exc_info=True)
            return False

    # -- orders ------------------------------------------------------------------------------

    def create_order(self, *, key: str, fingerprint: str, order: dict, deliveries: list[dict],
                     status_code: int, response: str, now: float) -> tuple[bool, dict]:
        """Store an order, its deliveries and its idempotency key in one transaction.

        Returns ``(True, key row)`` when stored, or ``(False, existing key row)`` when the key was
        already used (then nothing is stored; the caller compares fingerprints). Raises
        OrderIdTaken, storing nothing, when another order has ``order["id"]``.
        """
        with self.transaction() as tx:
            inserted = tx.run(
                "INSERT INTO idempotency_keys (idem_key, fingerprint, order_id, status_code,"
                " response, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (idem_key) DO NOTHING",
                (key, fingerprint, order["id"], status_code, response, now)).rowcount
            if not inserted:
                return False, tx.row("SELECT * FROM idempotency_keys WHERE idem_key = ?", (key,))
            if not tx.run("INSERT INTO orders (id, location, status, total, currency,"
                          " created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                          " ON CONFLICT (id) DO NOTHING",
                          (order["id"], order["location"], "received", order["total"],
                           order["currency"], now, now, json.dumps(order["data"]))).rowcount:
                raise OrderIdTaken(order["id"])  # rolls the key back too
            for d in deliveries:
                tx.run("INSERT INTO deliveries (order_id, pos_name, provider, status, next_at,"
                       " created_at, budget_from) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                       (order["id"], d["pos_name"], d["provider"], now, now, now))
        return True, {"fingerprint": fingerprint, "status_code": status_code,
                      "response": response}

    def idempotency(self, key: str) -> dict | None:
        """Return the stored answer for an idempotency key, or None."""
        return self.read().row("SELECT * FROM idempotency_keys WHERE idem_key = ?", (key,))

    def order(self, order_id: str) -> dict | None:
        """Return an order row (``data`` decoded) with its ``deliveries``, or None.

        ``7k3m-9qxp`` finds ``7K3M-9QXP``: people type the ids they read out.
        """
        reader = self.read()
        row = reader.row("SELECT * FROM orders WHERE id = ?", (order_id,))
        if row is None and order_id != order_id.upper():
            row = reader.row("SELECT * FROM orders WHERE id = ?", (order_id.upper(),))
        if row is None:
            return None
        row["data"] = json.loads(row["data"])
        row["deliveries"] = reader.rows(
            "SELECT * FROM deliveries WHERE order_id = ? ORDER BY pos_name", (row["id"],))
        return row

    def orders_by_id(self, order_ids: Sequence[str]) -> dict[str, dict]:
        """Return ``{id: {location, total, data}}`` (data decoded) for the given orders."""
        if not order_ids:
            return {}
        marks = ", ".join("?" for _ in order_ids)
        rows = self.read().rows(f"SELECT id, location, total, data FROM orders"
                                f" WHERE id IN ({marks})", list(order_ids))
        return {r["id"]: dict(r, data=json.loads(r["data"])) for r in rows}

    def orders(self, *, location: str | None = None, status: str | None = None,
               since: float | None = None, limit: int = 200) -> list[dict]:
        """Return recent orders (newest first) with their deliveries, filtered as asked."""
        where, params = ["1 = 1"], []
        for column, value in (("location", location), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        reader = self.read()
        return _with_deliveries(reader, reader.rows(
            f"SELECT * FROM orders WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ?",
            (*params, limit)))

    def board_orders(self, *, location: str | None, since: float, open_since: float,
                     limit: int) -> tuple[list[dict], int]:
        """The kitchen board's orders: those since ``since``, and those since ``open_since``
        not yet completed or cancelled; open ones first, newest first within each. Returns
        ``(up to limit orders, how many more there are)``."""
        where = "created_at >= ? AND (status NOT IN ('completed', 'cancelled') OR created_at >= ?)"
        params: list = [open_since, since]
        if location is not None:
            where += " AND location = ?"
            params.append(location)
        reader = self.read()
        total = reader.row(f"SELECT count(*) AS n FROM orders WHERE {where}", params)["n"]
        rows = reader.rows(
            f"SELECT * FROM orders WHERE {where} ORDER BY CASE WHEN status IN ('completed',"
            " 'cancelled') THEN 1 ELSE 0 END, created_at DESC LIMIT ?", (*params, limit))
        return _with_deliveries(reader, rows), max(0, total - len(rows))

    def set_order_status(self, order_id: str, status: str, now: float,
                         only_from: Sequence[str] | None = None) -> bool:
        """Set an order's status (staff on the board, or a POS webhook); False if unknown
        (or, with ``only_from``, when its status is not one of those)."""
        sql, params = "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", [
            status, now, order_id]
        if only_from:
            sql += f" AND status IN ({', '.join('?' for _ in only_from)})"
            params.extend(only_from)
        with self.transaction() as tx:
            return bool(tx.run(sql, params).rowcount)

    # -- deliveries --------------------------------------------------------------------------

    def claim_deliveries(self, *, now: float, until: float, worker: str,
                         limit: int) -> list[Claim]:
        """Claim up to ``limit`` due deliveries for ``worker`` until ``until``.

        A delivery whose earlier claim expired (its worker died mid-call) comes back marked
        ambiguous, so the POS is asked before anything is resent.
        """
        with self.transaction() as tx:
            rows = tx.rows(
                "UPDATE deliveries SET"
                " ambiguous = CASE WHEN claimed_until IS NULL THEN ambiguous ELSE 1 END,"
                " claimed_until = ?, claimed_by = ?, attempts = attempts + 1"
                " WHERE (order_id, pos_name) IN (SELECT order_id, pos_name FROM deliveries"
                "  WHERE status = 'pending' AND next_at <= ?"
                "  AND (claimed_until IS NULL OR claimed_until < ?)"
                f"  ORDER BY next_at LIMIT ? {self.lock_clause})"
                " RETURNING order_id, pos_name, provider, attempts, ambiguous, budget_from,"
                " created_at", (until, worker, now, now, limit))
        return [Claim(r["order_id"], r["pos_name"], r["provider"], r["attempts"],
                      bool(r["ambiguous"]), r["budget_from"], r["created_at"]) for r in rows]

    def extend_claims(self, claims: Sequence[Claim], *, worker: str, until: float) -> None:
        """Keep ``worker``'s claims on deliveries whose POS call is still running."""
        with self.transaction() as tx:
            for claim in claims:
                tx.run("UPDATE deliveries SET claimed_until = ? WHERE order_id = ?"
                       " AND pos_name = ? AND claimed_by = ?",
                       (until, claim.order_id, claim.pos_name, worker))

    def finish_delivery(self, claim: Claim, *, worker: str, status: str, now: float,
                        next_at: float | None = None, error: str | None = None,
                        pos_ref: str | None = None, ambiguous: bool = False) -> None:
        """Record one delivery attempt's outcome (see ``finish_deliveries``)."""
        self.finish_deliveries([Outcome(claim, status, now, next_at, error, pos_ref, ambiguous)],
                               worker=worker)

    def finish_deliveries(self, outcomes: Sequence[Outcome], *, worker: str) -> None:
        """Record delivery outcomes in one transaction and update their orders' status.

        Only the worker holding a claim may record it: a worker whose claim expired (another
        took the delivery over) changes nothing.
        """
        if not outcomes:
            return
        with self.transaction() as tx:
            for o in outcomes:
                changed = tx.run(
                    "UPDATE deliveries SET status = ?, next_at = ?, claimed_until = NULL,"
                    " claimed_by = NULL, last_error = ?, pos_ref = COALESCE(?, pos_ref),"
                    " ambiguous = ?, delivered_at = ? WHERE order_id = ? AND pos_name = ?"
                    " AND claimed_by = ?",
                    (o.status, o.next_at if o.next_at is not None else o.at, o.error, o.pos_ref,
                     int(o.ambiguous), o.at if o.status == "delivered" else None,
                     o.claim.order_id, o.claim.pos_name, worker)).rowcount
                if changed:
                    self._settle_order(tx, o.claim.order_id, o.at)

    def _settle_order(self, tx: Tx, order_id: str, now: float) -> None:
        states = {r["status"] for r in tx.rows(
            "SELECT status FROM deliveries WHERE order_id = ?", (order_id,))}
        status = ("attention" if "failed" in states
                  else "in_pos" if states == {"delivered"} else "received")
        marks = ", ".join("?" for _ in _DELIVERY_DRIVEN)
        tx.run(f"UPDATE orders SET status = ?, updated_at = ? WHERE id = ?"
               f" AND status IN ({marks}) AND status <> ?",
               (status, now, order_id, *_DELIVERY_DRIVEN, status))

    def requeue(self, order_id: str, now: float) -> int:
        """Send an order's failed deliveries again with a fresh retry budget; return how many."""
        with self.transaction() as tx:
            count = tx.run(
                "UPDATE deliveries SET status = 'pending', next_at = ?, budget_from = ?,"
                " claimed_until = NULL, claimed_by = NULL WHERE order_id = ?"
                " AND status = 'failed'", (now, now, order_id)).rowcount
            if count:
                self._settle_order(tx, order_id, now)
        return count

    def next_due(self) -> float | None:
        """Return when the earliest pending delivery is due (to sleep until then)."""
        row = self.read().row("SELECT MIN(next_at) AS due FROM deliveries"
                              " WHERE status = 'pending'")
        return row["due"] if row else None

    # -- webhook events ----------------------------------------------------------------------

    def add_event(self, *, provider: str, event_id: str, kind: str, pos_name: str,
                  location: str | None, payload: dict, needs_confirm: bool, now: float) -> bool:
        """Store a webhook event; False when it was seen before (a replay)."""
        with self.transaction() as tx:
            return bool(tx.run(
                "INSERT INTO webhook_events (provider, event_id, kind, pos_name, location,"
                " payload, needs_confirm, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (provider, event_id) DO NOTHING",
                (provider, event_id, kind, pos_name, location, json.dumps(payload),
                 int(needs_confirm), now)).rowcount)

    def claim_events(self, *, now: float, until: float, limit: int) -> list[dict]:
        """Claim unprocessed webhook events (payload decoded)."""
        if self.read().row("SELECT 1 AS waiting FROM webhook_events"
                           " WHERE processed_at IS NULL LIMIT 1") is None:
            return []
        with self.transaction() as tx:
            rows = tx.rows(
                "UPDATE webhook_events SET claimed_until = ?"
                " WHERE (provider, event_id) IN (SELECT provider, event_id FROM webhook_events"
                "  WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)"
                f"  ORDER BY received_at LIMIT ? {self.lock_clause})"
                " RETURNING provider, event_id, kind, pos_name, location, payload, needs_confirm",
                (until, now, limit))
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def finish_event(self, provider: str, event_id: str, result: str, now: float) -> None:
        """Mark a webhook event processed with its ``result`` (applied, unconfirmed, ...)."""
        with self.transaction() as tx:
            tx.run("UPDATE webhook_events SET processed_at = ?, result = ?, claimed_until = NULL"
                   " WHERE provider = ? AND event_id = ?", (now, result, provider, event_id))

    # -- availability and timers -------------------------------------------------------------

    def set_availability(self, location: str, variant_ids: Sequence[str], available: bool,
                         now: float) -> None:
        """Record live availability of variants at a location (from POS stock webhooks)."""
        with self.transaction() as tx:
            for variant_id in variant_ids:
                tx.run("INSERT INTO availability (location, variant_id, available, updated_at)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (location, variant_id) DO UPDATE SET"
                       " available = excluded.available, updated_at = excluded.updated_at",
                       (location, variant_id, int(available), now))

    def availability(self, location: str) -> dict[str, bool]:
        """Return ``{variant_id: available}`` as last reported live for a location."""
        return {r["variant_id"]: bool(r["available"]) for r in self.read().rows(
            "SELECT variant_id, available FROM availability WHERE location = ?", (location,))}

    def schedule_timer(self, name: str, now: float, delay: float, max_wait: float) -> None:
        """Debounce: fire ``name`` ``delay`` s after the last call, at most ``max_wait`` s late."""
        with self.transaction() as tx:
            row = tx.row("SELECT first_at FROM timers WHERE name = ?", (name,))
            first = row["first_at"] if row else now
            due = min(now + delay, first + max_wait)
            tx.run("INSERT INTO timers (name, due_at, first_at) VALUES (?, ?, ?)"
                   " ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at",
                   (name, due, first))

    def timer_due(self, name: str, now: float) -> bool:
        """Return whether timer ``name`` is due (a cheap read before ``take_timer``)."""
        return self.read().row("SELECT 1 AS due FROM timers WHERE name = ? AND due_at <= ?",
                               (name, now)) is not None

    def take_timer(self, name: str, now: float) -> bool:
        """Return True (once, for one caller) when timer ``name`` is due, and clear it."""
        with self.transaction() as tx:
            return bool(tx.run("DELETE FROM timers WHERE name = ? AND due_at <= ?",
                               (name, now)).rowcount)

    # -- metrics -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for /metrics: orders by status, deliveries by provider and status, delivery
        latency histogram (order stored -> in the POS), webhook events by provider and result."""
        reader = self.read()
        buckets = ", ".join(
            f"SUM(CASE WHEN delivered_at - created_at <= {b} THEN 1 ELSE 0 END) AS b{i}"
            for i, b in enumerate(LATENCY_BUCKETS))
        latency = reader.row(
            f"SELECT COUNT(*) AS count, SUM(delivered_at - created_at) AS total, {buckets}"
            " FROM deliveries WHERE status = 'delivered'")
        return {
            "orders": reader.rows("SELECT status, COUNT(*) AS n FROM orders GROUP BY status"),
            "deliveries": reader.rows("SELECT provider, status, COUNT(*) AS n FROM deliveries"
                                      " GROUP BY provider, status"),
            "attempts": reader.row("SELECT SUM(attempts) AS n FROM deliveries")["n"] or 0,
            "latency": latency,
            "events": reader.rows(
                "SELECT provider, kind, COALESCE(result, 'pending') AS result, COUNT(*) AS n"
                " FROM webhook_events GROUP BY provider, kind, COALESCE(result, 'pending')"),
        }


def _with_deliveries(reader: Tx, rows: list[dict]) -> list[dict]:
    """``rows`` of orders with ``data`` decoded and their ``deliveries`` attached."""
    if not rows:
        return rows
    marks = ", ".join("?" for _ in rows)
    by_order: dict[str, list[dict]] = {}
    for d in reader.rows(f"SELECT * FROM deliveries WHERE order_id IN ({marks})"
                         " ORDER BY pos_name", [r["id"] for r in rows]):
        by_order.setdefault(d["order_id"], []).append(d)
    for row in rows:
        row["data"] = json.loads(row["data"])
        row["deliveries"] = by_order.get(row["id"], [])
    return rows
