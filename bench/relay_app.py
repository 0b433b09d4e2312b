"""The relay's WSGI app for the benchmarks: ``create_app()`` with the test ``fakepos`` provider.

``gunicorn relay_app:app`` (run from bench/) is ``gunicorn 'hugo_pos.relay.app:create_app()'``
plus ``provider: fakepos`` (tests/fakes/flaky_pos.py), which sends orders to bench/pos_server.py.
Loyverse is not used here: its API allows 300 requests per 300 s per account, so the relay's
client throttles deliveries to under one order a second, which would measure Loyverse, not us.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.flaky_pos import register  # noqa: E402

register()

from hugo_pos.relay.app import create_app  # noqa: E402

app = create_app()
