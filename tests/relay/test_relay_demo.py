"""The demo's relay: started as `hugo_pos relay serve`, board token and CORS for the preview."""

from __future__ import annotations

import requests
from relay_support import write_site
from test_relay_crash import free_port

from hugo_pos.demo import start_relay


def test_the_demo_relay_serves_the_board_and_the_local_preview(tmp_path, monkeypatch):
    monkeypatch.delenv("HUGO_POS_DATABASE_URL", raising=False)
    site = write_site(tmp_path / "site")
    port = free_port()
    relay = start_relay(site, port, "demo-token", site_port=1313)
    try:
        base = f"http://127.0.0.1:{port}"
        board = requests.get(f"{base}/board?token=demo-token", allow_redirects=False, timeout=5)
        assert board.status_code == 200 and "hugo_pos_board=" in board.headers["Set-Cookie"]
        preflight = requests.options(f"{base}/v1/orders", timeout=5, headers={
            "Origin": "http://localhost:1313", "Access-Control-Request-Method": "POST"})
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:1313"
    finally:
        relay.terminate()
        relay.wait(10)
    assert (site / ".hugo_pos" / "relay.sqlite3").exists()
