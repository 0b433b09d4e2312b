-- The relay's schema (SQLite and PostgreSQL alike); store.py runs it at start-up.
-- Every statement is idempotent (IF NOT EXISTS): a new version adds statements below.
CREATE TABLE IF NOT EXISTS hp_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_location_created ON orders (location, created_at);
CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at);
CREATE TABLE IF NOT EXISTS deliveries (
    order_id TEXT NOT NULL REFERENCES orders (id),
    pos_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at DOUBLE PRECISION NOT NULL,
    claimed_until DOUBLE PRECISION,
    claimed_by TEXT,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    pos_ref TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    budget_from DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION,
    PRIMARY KEY (order_id, pos_name)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idem_key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    order_id TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    pos_name TEXT NOT NULL,
    location TEXT,
    payload TEXT NOT NULL,
    needs_confirm INTEGER NOT NULL DEFAULT 0,
    received_at DOUBLE PRECISION NOT NULL,
    claimed_until DOUBLE PRECISION,
    processed_at DOUBLE PRECISION,
    result TEXT,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_events_pending ON webhook_events (processed_at);
CREATE TABLE IF NOT EXISTS availability (
    location TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    available INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (location, variant_id)
);
CREATE TABLE IF NOT EXISTS timers (
    name TEXT PRIMARY KEY,
    due_at DOUBLE PRECISION NOT NULL,
    first_at DOUBLE PRECISION NOT NULL
);
