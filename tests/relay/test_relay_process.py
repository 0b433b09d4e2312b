"""The delivery process beside gunicorn's web workers (HUGO_POS_WORKER=process): started by the
master, started again when it dies, stopped with the master, never left behind; and the
settings that choose it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fakes.flaky_pos import FlakyPos
from relay_support import (
    alive,
    descendants,
    is_delivery,
    make_app,
    make_relay,
    order_body,
    write_site,
)

from hugo_pos.demo import wait_healthy
from hugo_pos.errors import HugoPosError
from hugo_pos.relay.settings import RelaySettings
from hugo_pos.relay.store import open_store
from hugo_pos.relay.supervise import (
    DeliveryProcess,
    delivery_command,
    lower_priority,
    main,
    restart_delay,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def until(predicate, timeout: float = 20.0, what: str = "the condition"):
    """Poll ``predicate`` (real processes: there is no clock to inject) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


SCHED_IDLE = 5  # Linux's policy number (os.SCHED_IDLE)


def policies(pid: int) -> set[int]:
    """The scheduling policies of the threads of process ``pid`` (/proc/PID/task/TID/stat)."""
    return {int(stat.read_text().rsplit(")", 1)[1].split()[38])
            for stat in Path(f"/proc/{pid}/task").glob("*/stat")}


def ignores_sigterm(pid: int) -> bool:
    """Whether ``pid`` has set SIGTERM to be ignored (/proc/PID/status, SigIgn)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & 1 << (signal.SIGTERM - 1))
    return False


# -- the supervisor ----------------------------------------------------------------------------


def test_restart_delays_grow_while_the_process_keeps_dying_young():
    assert restart_delay(0.0, uptime=600.0) == 0.0  # after a steady run: at once
    delays, delay = [], 0.0
    for _ in range(7):
        delay = restart_delay(delay, uptime=0.5)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert restart_delay(30.0, uptime=10.0) == 0.0


def test_a_killed_process_is_started_again_and_stop_ends_it_for_good():
    supervisor = DeliveryProcess(SLEEPER, poll=0.02, delays=(0.05, 0.2, 60.0)).start()
    try:
        first = supervisor.process.pid
        os.kill(first, signal.SIGKILL)
        second = until(lambda: supervisor.process.pid != first and supervisor.process.pid,
                       what="a new process")
        assert alive(second) and supervisor.restarts == 1
    finally:
        supervisor.stop(timeout=5)
    assert not alive(second)
    time.sleep(0.3)  # longer than the restart delay: nothing comes back
    assert supervisor.process.pid == second and supervisor.restarts == 1


def test_a_requested_restart_is_immediate_even_for_a_young_process():
    supervisor = DeliveryProcess(SLEEPER, poll=0.02, delays=(30.0, 30.0, 60.0)).start()
    try:
        first = supervisor.process.pid
        supervisor.restart()
        until(lambda: supervisor.process.pid != first, timeout=5, what="the restart")
        assert not alive(first)
    finally:
        supervisor.stop(timeout=5)


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout():
    stubborn = [sys.executable, "-c", "import signal, sys, time; signal.signal(signal.SIGTERM, "
                "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"]
    supervisor = DeliveryProcess(stubborn).start()
    until(lambda: ignores_sigterm(supervisor.process.pid), timeout=10,
          what="SIGTERM to be ignored")
    started = time.monotonic()
    supervisor.stop(timeout=0.5)
    assert not alive(supervisor.process.pid)
    assert 0.5 <= time.monotonic() - started < 5


def test_the_delivery_command_loads_the_app_from_gunicorns_paths():
    command = delivery_command("relay_app:app", ["/srv/app", "/srv/lib"])
    assert command == [sys.executable, "-m", "hugo_pos.relay.supervise", "--path", "/srv/app",
                       "--path", "/srv/lib", "relay_app:app"]


def test_an_app_that_does_not_load_is_one_json_error_line_and_exit_1(capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(SystemExit) as exited:
        main(["no_such_module_here:app"])
    assert exited.value.code == 1
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["level"] == "error" and "no_such_module_here:app" in line["message"]
    assert "ModuleNotFoundError" in line["exception"]


# -- settings and the web process -----------------------------------------------------------


def test_worker_modes_and_threads_come_from_the_environment():
    settings = RelaySettings.from_env({"HUGO_POS_WORKER": "process",
                                       "HUGO_POS_WORKER_THREADS": "32"})
    assert settings.worker == "process" and settings.worker_threads == 32
    assert RelaySettings.from_env({"HUGO_POS_WORKER": ""}).worker == "thread"  # empty = unset
    with pytest.raises(HugoPosError) as wrong:
        RelaySettings.from_env({"HUGO_POS_WORKER": "fork"})
    assert wrong.value.hint == "set HUGO_POS_WORKER to process, thread or off"
    with pytest.raises(HugoPosError, match="HUGO_POS_WORKER_THREADS is 0"):
        RelaySettings.from_env({"HUGO_POS_WORKER_THREADS": "0"})
    assert RelaySettings.from_env({}).worker_nice == "idle"
    assert RelaySettings.from_env({"HUGO_POS_WORKER_NICE": "IDLE"}).worker_nice == "idle"
    assert RelaySettings.from_env({"HUGO_POS_WORKER_NICE": "0"}).worker_nice == 0
    with pytest.raises(HugoPosError, match="HUGO_POS_WORKER_NICE is 20"):
        RelaySettings.from_env({"HUGO_POS_WORKER_NICE": "20"})
    with pytest.raises(HugoPosError, match="HUGO_POS_WORKER_NICE is 'low', not a number"):
        RelaySettings.from_env({"HUGO_POS_WORKER_NICE": "low"})


def test_a_refused_priority_change_is_a_warning_not_a_dead_delivery_process(monkeypatch,
                                                                           caplog):
    def refused(increment):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "nice", refused)
    lower_priority(10)  # does not raise: the process goes on and delivers
    assert [r.getMessage() for r in caplog.records] == [
        "the delivery process keeps the web workers' CPU priority: os.nice(10) failed "
        "([Errno 1] Operation not permitted)"]


def test_without_sched_idle_the_delivery_process_takes_nice_19(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="hugo_pos.relay.supervise")
    asked = []

    def refused(pid, policy, param):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refused)
    monkeypatch.setattr(os, "nice", asked.append)
    lower_priority("idle")
    assert asked == [19]
    assert "no SCHED_IDLE for the delivery process ([Errno 1] Operation not permitted): " \
        "nice 19 instead" in caplog.text


@pytest.mark.parametrize(("mode", "started"), [("process", 0), ("off", 0), ("thread", 1)])
def test_only_the_thread_mode_delivers_inside_the_web_process(site, sqlite_url, monkeypatch,
                                                              mode, started):
    from hugo_pos.relay.deliver import Worker

    starts = []
    monkeypatch.setattr(Worker, "start", lambda self: starts.append(self) or self)
    client = make_app(make_relay(site, sqlite_url, worker=mode)).test_client()
    for _ in range(2):  # the first request starts the thread mode's worker, once
        assert client.get("/healthz").status_code == 200
    assert len(starts) == started


# -- under gunicorn ----------------------------------------------------------------------------

APP = '''import sys
sys.path.insert(0, {tests!r})
from fakes.flaky_pos import register
register()
from hugo_pos.relay.app import create_app
app = create_app()
'''


def delivery_pid(master: int) -> int | None:
    """The master's delivery process, if it has one running."""
    return next((pid for pid in descendants(master) if is_delivery(pid)), None)


@pytest.fixture
def served(tmp_path: Path, store_url: str):
    """gunicorn with the repository's gunicorn.conf.py (HUGO_POS_WORKER unset: its default)
    serving a relay that delivers to a FlakyPos, on SQLite and on PostgreSQL; yields (master,
    base URL, POS, database URL)."""
    from test_relay_crash import free_port

    pos = FlakyPos()
    site = write_site(tmp_path / "site", pos={"fakepos": {"provider": "fakepos",
                                                          "url": pos.start()}})
    (tmp_path / "app" / "relay_test_app.py").parent.mkdir()
    (tmp_path / "app" / "relay_test_app.py").write_text(APP.format(tests=str(TESTS)))
    database_url = store_url
    env = {k: v for k, v in os.environ.items() if k != "HUGO_POS_WORKER"}
    env.update(HUGO_POS_SITE=str(site), HUGO_POS_DATABASE_URL=database_url,
               HUGO_POS_RATE_LIMIT="0", HUGO_POS_POLL_INTERVAL="0.05", WEB_CONCURRENCY="1",
               HUGO_POS_LOG_LEVEL="WARNING")
    port = free_port()
    master = subprocess.Popen(
        [GUNICORN, "-c", str(REPO / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--chdir", str(tmp_path / "app"), "relay_test_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_healthy(master, port), master.stderr.read().decode()[-2000:]
        yield master, f"http://127.0.0.1:{port}", pos, database_url
    finally:
        with contextlib.suppress(ProcessLookupError):  # the whole session, orphans included
            os.killpg(master.pid, signal.SIGKILL)
        master.wait()
        pos.stop()


def place(url: str, key: str) -> str:
    """POST one order; return its id."""
    response = requests.post(f"{url}/v1/orders", data=json.dumps(order_body("truck")),
                             headers={"Idempotency-Key": key,
                                      "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["order_id"]


def test_gunicorn_runs_deliveries_in_a_process_it_restarts_and_stops(served):
    master, url, pos, database_url = served
    web = [p for p in descendants(master.pid) if p != delivery_pid(master.pid)]
    first = until(lambda: delivery_pid(master.pid), what="the delivery process")
    assert len(web) == 1 and first not in web
    store = open_store(database_url)

    def delivered(order_id: str) -> bool:
        """In the POS, and recorded so (a moment after the POS answered)."""
        return pos.created[order_id] == 1 and store.order(order_id)["status"] == "in_pos"

    one = place(url, "process-1")
    until(lambda: delivered(one), what="the first order to be delivered")
    # Below the web workers' CPU priority (HUGO_POS_WORKER_NICE's default: SCHED_IDLE), every
    # thread of it, while the web workers keep the normal policy.
    assert policies(first) == {SCHED_IDLE} and policies(web[0]) == {os.SCHED_OTHER}

    os.kill(first, signal.SIGKILL)  # the master starts another at once, then it delivers
    second = until(lambda: (delivery_pid(master.pid) or first) != first
                   and delivery_pid(master.pid), what="a new delivery process")
    two = place(url, "process-2")
    until(lambda: delivered(two), what="the second order to be delivered")
    assert dict(pos.created) == {one: 1, two: 1}

    master.send_signal(signal.SIGTERM)  # graceful: web workers, then the delivery process
    assert master.wait(timeout=30) == 0
    assert not alive(second) and not any(alive(p) for p in web)
    assert "did not stop" not in master.stderr.read().decode()  # no SIGKILL after a timeout


def test_a_delivery_process_whose_master_is_killed_stops_too(served):
    master, url, pos, _ = served
    delivery = until(lambda: delivery_pid(master.pid), what="the delivery process")
    master.send_signal(signal.SIGKILL)  # only the master: its children are orphaned
    master.wait()
    until(lambda: not alive(delivery), timeout=10, what="the orphan to stop")
