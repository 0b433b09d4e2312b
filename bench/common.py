"""Helpers shared by the benchmark scripts: the machine, timing, child RSS, a small table.

Benchmarks are run as ``python bench/NAME.py``; they are not part of the unit suite.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
if str(TESTS) not in sys.path:  # the fake POS servers live in tests/fakes/
    sys.path.insert(0, str(TESTS))
HUGO_POS = str(Path(sys.executable).parent / "hugo_pos")


def machine() -> str:
    """``"2 cores, 3.8 GiB RAM, Linux 6.1, Python 3.11.2"`` for RESULTS.md."""
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    return (f"{os.cpu_count()} cores, {memory / 2**30:.1f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def median(values: Sequence[float]) -> float:
    """The median of some measurements."""
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class ChildRun(NamedTuple):
    """How a child process ran: wall and CPU (user + system) seconds, exit code, peak RSS in
    bytes (its own ``ru_maxrss``, from ``wait4``), stderr."""

    wall: float
    code: int
    peak: int
    err: str
    cpu: float


def run_child(args: Sequence[str], env: dict | None = None,
              cwd: Path | None = None) -> ChildRun:
    """Run a command, its stdout discarded; return how it ran (see ChildRun)."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(wall, proc.returncode, usage.ru_maxrss * 1024,
                    stderr.decode("utf-8", "replace"), usage.ru_utime + usage.ru_stime)


def rss_of(pid: int) -> int:
    """The current resident set size of a process, in bytes (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """A plain text table, columns padded to their widest cell."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    """``ok`` / ``MISS`` for the target column."""
    return "ok" if ok else "MISS"
