"""The delivery worker as a process of its own beside gunicorn's web workers.

``HUGO_POS_WORKER=process``, the default under gunicorn.conf.py. One Python process cannot take
orders and deliver them at full speed at once (one GIL): delivering costs more CPU per order
than taking it. So the web workers only take orders, and a delivery process started by
gunicorn's master works the outbox on another core while orders come in.

gunicorn.conf.py installs the three server hooks below:

* ``when_ready`` starts the process, and a thread of the master that starts it again when it
  dies (at once after a long run, then after 1, 2, 4... up to 30 s while it keeps dying);
* ``on_exit`` stops it: SIGTERM (it finishes the POS calls under way and records them), SIGKILL
  after gunicorn's ``graceful_timeout``;
* ``on_reload`` (SIGHUP) restarts it, so that it runs the new code and settings.

The process is ``python -m hugo_pos.relay.supervise [--path DIR]... APP``: it loads the app
the web workers serve (the same settings, site and providers) and runs ``deliver.Worker`` until
SIGTERM, or until the master is gone. It runs at a lower CPU priority than the web workers
(``HUGO_POS_WORKER_NICE``; by default Linux's SCHED_IDLE: the CPU only when they leave it
free): in a burst, orders are taken first and delivered as the CPU allows. Nothing here is
specific to SQLite: on PostgreSQL each replica runs its own delivery process, and claims
(``FOR UPDATE SKIP LOCKED``) share the work.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STEADY = 10.0  # a process that ran this long before dying restarts at once


def restart_delay(previous: float, uptime: float, *, first: float = RESTART_DELAY,
                  cap: float = MAX_RESTART_DELAY, steady: float = STEADY) -> float:
    """Seconds to wait before starting again a process that died after ``uptime`` s, when the
    delay before its own start was ``previous``: none after a steady run, then ``first``,
    doubling up to ``cap`` while it keeps dying young (a bad setting must not spin a core)."""
    if uptime >= steady:
        return 0.0
    return min(max(previous * 2, first), cap)


class DeliveryProcess:
    """Keeps one delivery process running (``start``) until ``stop``.

    gunicorn's master reaps every child it has (``waitpid(-1)``), this one included, so the
    process is watched by polling rather than waited for.
    """

    def __init__(self, command: Sequence[str], *, cwd: str | None = None, poll: float = 0.2,
                 delays: tuple[float, float, float] = (RESTART_DELAY, MAX_RESTART_DELAY,
                                                       STEADY)) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.poll = poll
        self.delays = delays  # restart_delay's first, cap and steady
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._started = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> DeliveryProcess:
        """Start the process and the thread that restarts it."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="hugo-pos-delivery",
                                         daemon=True)
        self._watcher.start()
        return self

    def restart(self) -> None:
        """Stop the running process gracefully; the watcher starts a new one at once."""
        with self._lock:
            process = self.process
            self._started = -math.inf  # a requested restart is no crash: no delay
        if process is not None and process.poll() is None:
            process.terminate()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process, SIGKILL it after ``timeout`` s; never start it again."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            if not self._exited(process, timeout):
                log.warning("the delivery process did not stop in %.0f s; killing it",
                            timeout, extra={"pid": process.pid})
                process.kill()
                self._exited(process, 5.0)
        if self._watcher is not None:
            self._watcher.join(5.0)

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.process = subprocess.Popen(self.command, cwd=self.cwd)
            self._started = time.monotonic()
        log.info("delivery process started", extra={"pid": self.process.pid})

    def _exited(self, process: subprocess.Popen, timeout: float | None = None) -> bool:
        """Wait until ``process`` is gone (whoever reaped it); False after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while process.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)
        return True

    def _watch(self) -> None:
        delay = 0.0
        first, cap, steady = self.delays
        while not self._stopping.is_set():
            process = self.process
            self._exited(process)
            if self._stopping.is_set():
                return
            delay = restart_delay(delay, time.monotonic() - self._started, first=first,
                                  cap=cap, steady=steady)
            # No exit status: gunicorn's master has usually reaped the process already.
            log.error("the delivery process is gone; starting it again in %.1f s", delay,
                      extra={"pid": process.pid})
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()


def delivery_command(app_uri: str, paths: Sequence[str] = ()) -> list[str]:
    """The command line of a delivery process for the gunicorn app ``app_uri``, importable
    from ``paths`` (gunicorn's ``chdir`` and ``pythonpath``)."""
    command = [sys.executable, "-m", "hugo_pos.relay.supervise"]
    for path in paths:
        command += ["--path", path]
    return [*command, app_uri]


# -- gunicorn server hooks (gunicorn.conf.py imports them when HUGO_POS_WORKER=process) ---------

_current: DeliveryProcess | None = None


def when_ready(server) -> None:
    """gunicorn hook: start the delivery process (the master is ready, workers not forked)."""
    global _current
    cfg = server.cfg
    paths = [cfg.chdir, *(os.path.abspath(p) for p in (cfg.pythonpath or "").split(",") if p)]
    _current = DeliveryProcess(delivery_command(server.app.app_uri, paths), cwd=cfg.chdir)
    _current.start()


def on_reload(server) -> None:
    """gunicorn hook (SIGHUP): restart the delivery process with the new code and settings."""
    if _current is not None:
        _current.restart()


def on_exit(server) -> None:
    """gunicorn hook: stop the delivery process before the master exits."""
    if _current is not None:
        _current.stop(server.cfg.graceful_timeout)


# -- the delivery process itself -------------------------------------------------------------------


def load_relay(app_uri: str):
    """The ``Relay`` of the WSGI app at ``app_uri`` (loaded as gunicorn loads it), or one built
    from the environment when the app does not expose it (wrapped in a middleware)."""
    from gunicorn.util import import_app

    from hugo_pos.relay.service import Relay
    from hugo_pos.relay.settings import RelaySettings

    app = import_app(app_uri)
    relay = getattr(app, "extensions", {}).get("hugo_pos_relay")
    return relay if relay is not None else Relay(RelaySettings.from_env())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the delivery process: ``[--path DIR]... APP``."""
    args = list(sys.argv[1:] if argv is None else argv)
    parent = os.getppid()
    paths = []
    while len(args) > 1 and args[0] == "--path":
        paths.append(args[1])
        del args[:2]
    if len(args) != 1:
        sys.exit("usage: python -m hugo_pos.relay.supervise [--path DIR]... APP")
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    from hugo_pos.relay.deliver import run_until_signalled
    from hugo_pos.relay.logs import redact_filter, setup_json_logging

    level = logging.getLevelName(os.environ.get("HUGO_POS_LOG_LEVEL", "INFO").upper())
    setup_json_logging(level if isinstance(level, int) else logging.INFO)
    try:
        relay = load_relay(args[0])
    except Exception:  # noqa: BLE001 - a JSON log line, not a bare traceback; the master retries
        log.exception("the delivery process could not load the app %s", args[0])
        sys.exit(1)
    redact_filter().secrets.update(relay.secrets)
    lower_priority(relay.settings.worker_nice)
    run_until_signalled(relay, parent=parent)


def lower_priority(nice: int | str) -> None:
    """Lower this process's CPU priority below the web workers', before the worker starts its
    threads (they inherit it: on Linux, priority is per thread).

    ``"idle"`` is the SCHED_IDLE policy (the CPU only when no other process wants it; nice 19
    where there is no such policy), a number raises the nice value by that much. Neither needs
    a privilege (the container drops all); a sandbox that refuses anyway gets a warning, and
    deliveries run at the web workers' priority rather than not at all.
    """
    if nice == "idle" and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError as exc:
            log.info("no SCHED_IDLE for the delivery process (%s): nice 19 instead", exc)
    increment = 19 if nice == "idle" else int(nice)
    try:
        os.nice(increment)
    except OSError as exc:
        log.warning("the delivery process keeps the web workers' CPU priority: os.nice(%d) "
                    "failed (%s)", increment, exc)


if __name__ == "__main__":
    main()
