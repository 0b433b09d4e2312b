"""Relay benchmark (DESIGN §8): POST /v1/orders on gunicorn + SQLite vs a bare baseline app.

Both apps run under the same gunicorn settings (the repository's gunicorn.conf.py when it
exists, else ``--workers 2 --worker-class gthread --threads 4``), one after the other, on the same
machine as the load generators (on 2 cores the load generator competes with the server for CPU:
both apps pay that equally). For each app:

1. open loop at a fixed offered load (default 200 orders/s, Python client, latency measured
   from each request's scheduled send time, so a stalled server cannot hide its queue);
2. saturation with ``wrk`` (a unique Idempotency-Key per request, bench/orders.lua).

The relay delivers to a fake POS (bench/pos_server.py, 50 ms per order) while it takes orders:
by default in the delivery process that gunicorn.conf.py starts beside the web workers
(``HUGO_POS_WORKER=process``). The bench reports how many orders were already in the POS when
each phase ended and how long each took to get there, then waits for the rest. Every order
acknowledged with 201 must be in the store and exactly once in the fake POS. The RSS of every
process under the gunicorn master (web workers and the delivery process) is sampled after each
phase (DESIGN §8: under 120 MB after 10,000 orders, no growth).

Runs: ``relay`` (the default configuration: 2 web workers and the delivery process),
``relay-thread`` (delivery in a thread of each web worker instead), ``relay-off`` (web only; a
separate ``hugo_pos relay worker`` drains the queue afterwards) and ``baseline``. A name ending
in ``-N`` runs N gunicorn workers: ``baseline-3`` has as many processes as the relay's 2 web
workers plus its delivery process.

Run: ``python bench/relay_bench.py`` (``--quick``: short phases; ``--rate``, ``--seconds``,
``--runs``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests
from common import REPO, TESTS, machine, median, percentile, rss_of, table, verdict

sys.path.insert(0, str(TESTS / "relay"))
from relay_support import descendants, is_delivery, order_body, write_site  # noqa: E402

BENCH = Path(__file__).resolve().parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_args() -> list[str]:
    """The gunicorn settings both apps are served with (the repository's, never recycling)."""
    conf = REPO / "gunicorn.conf.py"
    # No worker recycling (max_requests): memory growth must show, not be reset.
    if conf.is_file():
        return ["-c", str(conf), "--max-requests", "0"]
    return ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]


def start_gunicorn(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    """Start gunicorn serving ``app`` on ``port``; return once it answers."""
    process = subprocess.Popen(
        [GUNICORN, *gunicorn_args(), "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log),
         app],
        env=env, cwd=BENCH, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
        if process.poll() is not None:
            break
    process.kill()
    text = log.read_text() if log.exists() else ""
    sys.exit(f"gunicorn {app} did not start:\n{text[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_pids(master: int) -> list[int]:
    """Every process under the gunicorn master: its workers and the delivery process."""
    return descendants(master)


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def workers_cpu(master: int) -> tuple[float, float]:
    """CPU seconds used so far under a gunicorn master, as (web workers, delivery process): the
    live processes' own time, plus the master's reaped children's (recycled workers, a delivery
    process that was restarted) counted as web."""
    fields = _stat(master)
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK") if fields else 0.0
    web = delivery = 0.0
    for pid in worker_pids(master):
        if is_delivery(pid):
            delivery += cpu_seconds(pid)
        else:
            web += cpu_seconds(pid)
    return reaped + web, delivery


def workers_rss(master: int) -> list[float]:
    """The RSS in MB of each process under the master (the delivery process last)."""
    pids = sorted(worker_pids(master), key=is_delivery)
    return [rss_of(pid) / 2**20 for pid in pids]


def open_loop(url: str, body: bytes, rate: float, seconds: float, prefix: str) -> dict:
    """Offer ``rate`` orders/s for ``seconds`` (open loop, asyncio, one connection per order).

    Latency counts from each order's scheduled send time, so a stalled server cannot hide its
    queue (no coordinated omission). Returns the latencies (s), the order ids acknowledged with
    201, the other statuses, and the client's own CPU seconds.
    """
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    latencies: list[float] = []
    ids: list[str] = []
    statuses: Counter = Counter()

    async def one(number: int, scheduled: float) -> None:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: "
                f"application/json\r\nIdempotency-Key: {prefix}-{number}\r\nContent-Length: "
                f"{len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(head + body)
            answer = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            status = int(answer.split(b" ", 2)[1])
        except (TimeoutError, OSError, IndexError, ValueError) as exc:
            status, answer = type(exc).__name__, b""
        latencies.append(loop.time() - scheduled)
        statuses[status] += 1
        if status == 201:
            ids.append(json.loads(answer.split(b"\r\n\r\n", 1)[1]).get("order_id", ""))

    async def offer() -> float:
        tasks = []
        start = loop.time()
        for number in range(int(rate * seconds)):
            scheduled = start + number / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(number, scheduled)))
        await asyncio.gather(*tasks)
        return loop.time() - start

    loop = asyncio.new_event_loop()
    cpu = time.process_time()
    try:
        elapsed = loop.run_until_complete(offer())
    finally:
        loop.close()
    return {"latencies": latencies, "ids": ids, "statuses": statuses, "seconds": elapsed,
            "client_cpu": time.process_time() - cpu}


def run_wrk(url: str, body_file: Path, seconds: float, connections: int, prefix: str) -> dict:
    """Saturate ``url`` with wrk (one thread); return its JSON summary."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "10s", "-s",
         str(BENCH / "orders.lua"), url, "--", prefix, str(body_file)],
        capture_output=True, text=True, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("{"))
    return json.loads(line)


def start_pos(slow: float) -> tuple[subprocess.Popen, str]:
    """Start bench/pos_server.py (a FlakyPos answering after ``slow`` s); return it and its
    URL."""
    process = subprocess.Popen([sys.executable, str(BENCH / "pos_server.py"), str(slow)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    if not line or line[0] != "ready":
        sys.exit("bench/pos_server.py did not start")
    return process, f"http://127.0.0.1:{line[1]}"


def pos_created(pos_url: str) -> Counter:
    """How many times the fake POS created each order id."""
    return Counter(requests.get(f"{pos_url}/_stats", timeout=10).json()["created"])


def delivery_snapshot(store: Path) -> dict:
    """Orders stored and delivered so far, and the delivery lag (order stored -> in the POS,
    seconds) of those delivered."""
    with sqlite3.connect(store, timeout=30) as conn:
        stored = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        lags = [row[0] for row in conn.execute(
            "SELECT delivered_at - created_at FROM deliveries WHERE status = 'delivered'")]
    return {"stored": stored, "delivered": len(lags), "lags": lags}


def wait_delivered(store: Path, pos_url: str, timeout: float) -> tuple[int, int, Counter]:
    """Wait until no delivery is pending; return (orders stored, deliveries delivered, times
    the fake POS created each order id)."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(store) as conn:
            stored = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            delivered = conn.execute("SELECT count(*) FROM deliveries WHERE status = "
                                     "'delivered'").fetchone()[0]
            pending = conn.execute("SELECT count(*) FROM deliveries WHERE status NOT IN "
                                   "('delivered', 'failed')").fetchone()[0]
        if not pending or time.monotonic() > deadline:
            return stored, delivered, pos_created(pos_url)
        time.sleep(0.5)


def relay_site(root: Path, pos_url: str) -> bytes:
    """Write the relay tests' two-location site, delivering to the fake POS; return an order
    body for the always-open location (3 lines' worth, as tests/relay/relay_support.py)."""
    write_site(root, pos={"fakepos": {"provider": "fakepos", "url": pos_url}})
    return json.dumps(order_body("truck")).encode()


def bench_app(name: str, app: str, env: dict, body: bytes, tmp: Path, args,
              after=None, store: Path | None = None) -> dict:
    """Run both load phases against one app, then ``after()`` while it still runs; return the
    figures (and ``after``'s result under ``"after"``). With ``store`` (the relay's database),
    also how far delivery had got when each phase ended."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/orders"
    key = name.replace(" ", "-")  # Idempotency-Key prefix: printable ASCII, no spaces
    body_file = tmp / f"{key}.json"
    body_file.write_bytes(body)
    server = start_gunicorn(app, port, env, tmp / f"{key}.log")
    progress = []
    try:
        open_loop(url, body, 50, 1, f"{key}-warm")  # imports, first connections, menu load
        rss = [workers_rss(server.pid)]
        cpu = workers_cpu(server.pid)
        fixed = open_loop(url, body, args.rate, args.seconds, f"{key}-fixed")
        rss.append(workers_rss(server.pid))
        if store:
            progress.append(delivery_snapshot(store))
        saturated = run_wrk(url, body_file, args.seconds, args.connections, f"{key}-wrk")
        rss.append(workers_rss(server.pid))
        if store:
            progress.append(delivery_snapshot(store))
        result = after() if after else None
        rss.append(workers_rss(server.pid))
        web, delivery = (now - then for now, then in zip(workers_cpu(server.pid), cpu,
                                                           strict=True))
    finally:
        stop(server)
    if store:
        progress.append(delivery_snapshot(store))
    return {"fixed": fixed, "wrk": saturated, "rss": rss, "after": result, "cpu": web + delivery,
            "delivery_cpu": delivery, "orders": len(fixed["ids"]) + saturated["created"],
            "progress": progress}


WORKER_BOOT = ("import sys; sys.path.insert(0, {tests!r}); from fakes.flaky_pos import register; "
               "register(); from hugo_pos.cli import main; main()")


def drain_with_worker(env: dict, site: Path, db: Path, pos_url: str) -> tuple:
    """Run ``hugo_pos relay worker`` until every stored order is delivered; return the counts."""
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_BOOT.format(tests=str(TESTS)), "relay", "worker",
         "--site", str(site)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        counts = wait_delivered(db, pos_url, timeout=300)
        return counts, cpu_seconds(worker.pid)
    finally:
        stop(worker)


RUNS = ("relay", "relay-thread", "relay-off", "baseline")


def main() -> None:
    """Run the relay in the configurations asked for and the baseline; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200, help="fixed offered load, orders/s")
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--pos-latency", type=float, default=0.05,
                        help="the fake POS's seconds per order")
    parser.add_argument("--delivery-threads", type=int, default=32,
                        help="HUGO_POS_WORKER_THREADS: POS calls in flight per delivery worker "
                             "(at 50 ms per call, 32 carry up to 640 orders/s)")
    parser.add_argument("--runs", default="relay,baseline,baseline-3",
                        help=f"comma-separated, in order, from {', '.join(RUNS)}; NAME-N: "
                             "with N gunicorn workers")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of all the runs, one after the other (the machine's speed "
                             "drifts: compare within a round)")
    parser.add_argument("--quick", action="store_true", help="5 s phases")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 5
    runs_asked = [r.strip() for r in args.runs.split(",") if r.strip()]
    known = [re.sub(r"-[1-9]$", "", r) in RUNS for r in runs_asked]
    if not all(known) or "baseline" not in runs_asked:
        sys.exit(f"--runs: choose from {', '.join(RUNS)}, each optionally -N (N workers), "
                 "baseline included")
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"gunicorn {' '.join(gunicorn_args())}; open loop {args.rate:.0f}/s for "
          f"{args.seconds:.0f} s, then wrk -t1 -c{args.connections} for {args.seconds:.0f} s; "
          f"fake POS {args.pos_latency * 1000:.0f} ms per order, "
          f"HUGO_POS_WORKER_THREADS={args.delivery_threads}\n")
    pos, pos_url = start_pos(args.pos_latency)
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            site = tmp / "site"
            body = relay_site(site, pos_url)
            for number in range(args.repeat):
                (tmp / str(number)).mkdir()
                rounds.append({name: run_one(name, site, body, tmp / str(number), pos_url, args)
                               for name in runs_asked})
                if args.repeat > 1:
                    print(f"round {number + 1}, load average {os.getloadavg()[0]:.2f}:")
                report(rounds[-1], args)
                print()
    finally:
        pos.terminate()
        pos.wait()
    if args.repeat > 1:
        summarize(rounds)


def summarize(rounds: list[dict]) -> None:
    """Print each run's saturated throughput ratio to each baseline, round by round, and the
    median."""
    bases = [name for name in rounds[0] if name.startswith("baseline")]
    rows = []
    for name in rounds[0]:
        for base in bases:
            if name == base:
                continue
            ratios = [rate_of(runs[name]) / rate_of(runs[base]) for runs in rounds]
            rows.append([name, base, " ".join(f"{r:.2f}" for r in ratios),
                         f"{median(ratios):.2f}"])
    print(table(rows, ["app", "vs", "saturated throughput ratio by round", "median"]))


def run_one(name: str, site: Path, body: bytes, tmp: Path, pos_url: str, args) -> dict:
    """One run of ``RUNS``: its own database, the same site, fake POS and load. A name ending
    in ``-N`` runs N gunicorn workers (WEB_CONCURRENCY) instead of gunicorn.conf.py's number."""
    db = tmp / f"{name}.sqlite3"
    mode, workers = re.fullmatch(r"(.+?)(?:-([1-9]))?", name).groups()
    env = dict(os.environ)
    if workers:
        env["WEB_CONCURRENCY"] = workers
    if mode == "baseline":
        env["BASELINE_DB"] = str(db)
        return bench_app(name, "baseline_app:app", env, body, tmp, args)
    env.update(HUGO_POS_SITE=str(site), HUGO_POS_RATE_LIMIT="0",
               HUGO_POS_DATABASE_URL=f"sqlite:///{db}",
               HUGO_POS_WORKER_THREADS=str(args.delivery_threads))
    env.pop("HUGO_POS_WORKER", None)  # "relay": gunicorn.conf.py's default, process
    if mode == "relay-thread":
        env["HUGO_POS_WORKER"] = "thread"
    if mode != "relay-off":
        return bench_app(name, "relay_app:app", env, body, tmp, args, store=db,
                         after=lambda: wait_delivered(db, pos_url, 300))
    # production's other shape: a `hugo_pos relay worker` beside gunicorn, run afterwards
    env["HUGO_POS_WORKER"] = "off"
    run = bench_app(name, "relay_app:app", env, body, tmp, args, store=db)
    run["after"], worker_cpu = drain_with_worker(env, site, db, pos_url)
    run["cpu"] += worker_cpu
    run["delivery_cpu"] += worker_cpu
    return run


def cpu_per_order(run: dict) -> float:
    """Server CPU seconds per order acknowledged."""
    return run["cpu"] / max(run["orders"], 1)


def rate_of(run: dict) -> float:
    """Orders acknowledged per second at saturation."""
    return run["wrk"]["created"] / run["wrk"]["seconds"]


def report(runs: dict, args) -> None:
    """Print the tables: load figures, ratios to the baselines, delivery progress, orders lost,
    memory."""
    rows = []
    base = runs["baseline"]
    base_p99 = percentile(base["fixed"]["latencies"], 99)
    others = [name for name in runs if name.startswith("baseline-")]
    for name, run in runs.items():
        lat, wrk = run["fixed"]["latencies"], run["wrk"]
        p99 = percentile(lat, 99)
        ratio = rate_of(run) / rate_of(base)
        rows.append([name, f"{len(lat) / run['fixed']['seconds']:.0f}",
                     f"{percentile(lat, 50) * 1000:.1f}", f"{p99 * 1000:.1f}",
                     f"{p99 / base_p99:.1f}x", verdict(p99 < 0.05),
                     f"{rate_of(run):.0f}", f"{ratio:.2f}", verdict(ratio >= 0.5),
                     *(f"{rate_of(run) / rate_of(runs[other]):.2f}" for other in others),
                     f"{wrk['p99_ms']:.0f}", wrk["non2xx"] + wrk["socket_errors"],
                     f"{run['cpu'] / run['orders'] * 1000:.2f}"
                     + (f" ({run['delivery_cpu'] / run['orders'] * 1000:.2f})"
                        if run["delivery_cpu"] else ""),
                     f"{cpu_per_order(base) / cpu_per_order(run):.2f}"])
    print(table(rows, ["app", f"{args.rate:.0f}/s offered: done/s", "p50 ms", "p99 ms",
                       "p99 vs base", "<50ms", "saturated/s", "vs base", ">=0.5",
                       *(f"vs base-{other.removeprefix('baseline-')}" for other in others),
                       "p99 ms", "errors", "CPU ms/order (delivery)", "base/this"]))
    print("(base: the baseline under the same gunicorn settings; base-N: with N workers, e.g. "
          "as many processes\nas the relay's web workers plus its delivery process. CPU "
          "ms/order: the server's own CPU per order\nacknowledged, deliveries included, in "
          "brackets the delivery's share; base/this is the throughput\nratio one core would "
          "give.)")
    print()
    for name, run in runs.items():
        if run.get("after") is None:
            continue
        stored, delivered, created = run["after"]
        acknowledged = len(run["fixed"]["ids"]) + run["wrk"]["created"]
        ids = set(run["fixed"]["ids"])
        not_once = sum(1 for oid in ids if created[oid] != 1)
        duplicated = sum(1 for n in created.values() if n > 1)
        lost = max(0, acknowledged - stored) + not_once
        rss = run["rss"]
        print(f"{name}: acknowledged {acknowledged} (+50 warm-up), stored {stored}, delivered "
              f"{delivered}; fixed-load orders not exactly once in the POS {not_once}; POS "
              f"duplicates (all runs) {duplicated}; lost {lost}  (target 0: "
              f"{verdict(lost == 0 and duplicated == 0)})")
        if len(run["progress"]) >= 2:
            fixed_end, saturation_end = run["progress"][:2]
            rate = (saturation_end["delivered"] - fixed_end["delivered"]) / run["wrk"]["seconds"]
            print(f"  delivered during saturation: {rate:.0f}/s while taking "
                  f"{rate_of(run):.0f}/s")
        for phase, snap in zip(("fixed load", "saturation", "drain"), run["progress"],
                               strict=False):
            lags = snap["lags"]
            print(f"  in the POS when the {phase} phase ended: {snap['delivered']} of "
                  f"{snap['stored']} stored; lag stored -> POS p50 "
                  f"{percentile(lags, 50) * 1000:.0f} ms, p99 {percentile(lags, 99) * 1000:.0f} ms")
        print("  RSS MB (web workers, delivery process last) after warm-up / fixed / saturation "
              "/ drain: " + " / ".join(",".join(f"{m:.0f}" for m in sample) for sample in rss)
              + f"  (target < 120: {verdict(max(rss[-1], default=0) < 120)})")

if __name__ == "__main__":
    main()
