"""Fixtures of the relay tests: a site, a store URL (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from relay_support import FakeClock, make_app, make_relay, write_site

POSTGRES_URL = os.environ.get("HUGO_POS_TEST_POSTGRES_URL", "")


def postgres_schema_url(base: str) -> str:
    """A PostgreSQL URL whose search_path is a fresh, empty schema (one per test)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path: Path) -> str:
    """A database URL for the relay: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("HUGO_POS_TEST_POSTGRES_URL is not set")
    return postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database URL in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'relay.sqlite3'}"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A two-location site served by the local provider."""
    return write_site(tmp_path / "site")


@pytest.fixture
def clock() -> FakeClock:
    """The relay's clock: Tuesday 15:00 in Port of Spain (town is open)."""
    return FakeClock()


@pytest.fixture
def relay(site: Path, sqlite_url: str, clock: FakeClock):
    """A relay on the local-provider site and SQLite."""
    return make_relay(site, sqlite_url, clock)


@pytest.fixture
def client(relay):
    """A Flask test client of the relay's app."""
    return make_app(relay).test_client()
