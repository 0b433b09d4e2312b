"""Shared fixtures: real small sites copied to a temp dir, and the CLI run in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from site_support import EXAMPLE, TESTS, copy_site, hugo_bin

from hugo_pos.cli import cli


@pytest.fixture
def mini_site(tmp_path: Path) -> Path:
    """A fresh copy of tests/sites/mini: two locations, four items, local provider."""
    return copy_site(TESTS / "sites" / "mini", tmp_path / "mini")


@pytest.fixture
def example_site(tmp_path: Path) -> Path:
    """A fresh copy of the OMG Sushi example site."""
    return copy_site(EXAMPLE, tmp_path / "omgsushi")


@pytest.fixture
def run_cli(monkeypatch):
    """Run ``hugo_pos ARGS...`` in-process; returns click's Result (exit_code, stdout, stderr)."""

    def run(*args: str, env: dict[str, str] | None = None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OMG Sushi example built once per session: `hugo_pos build`, then the real `hugo`.

    Returns the site copy; its HTML is in ``public/`` and Hugo's output in ``hugo.log``.
    Tests must not modify it.
    """
    import subprocess

    site = copy_site(EXAMPLE, tmp_path_factory.mktemp("built") / "omgsushi")
    for command in ([sys.executable, "-m", "hugo_pos", "build", "--site", str(site), "--quiet"],
                    [hugo_bin(), "--source", str(site), "--destination", str(site / "public")]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    (site / "hugo.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    return site


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Debian Chromium the browser tests drive (env HUGO_POS_TEST_CHROMIUM, else `chromium`).

    Missing: the test is skipped locally, but fails under CI (env CI set), where .ci/run
    installs it.
    """
    import os
    import shutil

    path = os.environ.get("HUGO_POS_TEST_CHROMIUM") or shutil.which("chromium")
    if not path or not Path(path).exists():
        message = "chromium not found (apt-get install chromium, or set HUGO_POS_TEST_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    """The example shop on loopback: relay + site built by the real hugo (shop_support.py)."""
    from shop_support import running_shop

    with running_shop(tmp_path_factory.mktemp("shop")) as running:
        yield running


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless Debian Chromium driven by Playwright (one per test session)."""
    from playwright.sync_api import sync_playwright
    from shop_support import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path,
                                              args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def visit(browser, shop):
    """Open pages of the shop: ``visit(path, javascript=, block_relay=, width=)`` -> Visit.

    Each page gets a fresh context (empty localStorage); all are closed after the test, which
    fails if any page had an uncaught script error.
    """
    from shop_support import go, new_page

    opened = []

    def open_page(path: str | None = "/order/", **options):
        v = new_page(browser, shop, **options)
        opened.append(v)
        if path:
            go(v.page, shop.origin + path)
        return v

    yield open_page
    for v in opened:
        v.context.close()
    assert [e for v in opened for e in v.errors] == []
