"""Build benchmark (DESIGN §8): ``hugo_pos build`` against fake Loyverse accounts.

Two catalogs, each 3 locations x ``--items`` items (default 2,000):

* ``shared``: one Loyverse account with 3 stores (one pull for all three locations);
* ``separate``: 3 accounts with one store each (three pulls, in parallel).

Every tenth item tracks stock, so inventory is part of the minimum pull. The fake answers every
request after ``--latency`` seconds (default 0.05; DESIGN §8 quotes 0.2). Printed per scenario:
the build's wall time minus ``hugo_pos --version``'s, the floor (the longest chain of dependent
requests x latency: cursor pages are sequential, independent lists are parallel), their ratio,
requests made vs the minimum, the build's CPU time (user + system) and peak RSS. Then the CPU
time of ``merge()`` for 10,000 items (in-process, catalog from the fake with no latency).

A second reference, also per scenario: the pull alone (``pull s``): a process with the same
start-up, HTTP client and JSON parsing as a build that pulls the same catalogs and does nothing
else (no site, projection, merge or output). Above the floor it shows what Python's HTTP and
parsing cost; a build's time above it is the build's own work.

Run: ``python bench/build_bench.py`` (``--quick``: 1 run, fewer items; ``--latency 0.2``;
``--source OLD --compare NEW``: two source trees taking turns, a row each, for before/after).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import HUGO_POS, ChildRun, machine, median, run_child, table, verdict
from fakes.loyverse import FakeLoyverse, serve

PAGE = 250
LOCATIONS = ("north", "south", "east")
# The pull alone (see the module's docstring), run with the tree's Python: ``python -c PULL SITE``.
PULL_ONLY = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import hugo_pos.cli  # the start-up that `hugo_pos --version` pays, subtracted as from a build
from hugo_pos.build import _interpreter_tuned, account_groups, make_providers
from hugo_pos.config import load_config
from hugo_pos.providers.loyverse_catalog import pull_account
providers = make_providers(load_config(Path(sys.argv[1]), dict(os.environ)))
groups = [[providers[key] for key in keys] for keys in account_groups(providers)]
with _interpreter_tuned(), ThreadPoolExecutor(len(groups)) as pool:
    list(pool.map(lambda g: pull_account(g[0].client, {p.store_id for p in g}), groups))
os._exit(0)
"""


def make_fake(n_items: int, stores: int, token: str, latency: float) -> FakeLoyverse:
    """A fake account with ``stores`` stores and ``n_items`` one-variant items (GEN-0001...)."""
    fake = FakeLoyverse(token=token, latency=0.0)
    for i in range(stores):
        fake.add_store(f"Store {i + 1}")
    fake.add_tax("VAT", "12.5", type="INCLUDED")
    fake.add_payment_type()
    extras = fake.add_modifier("Extras", [("Spicy", "0"), ("Extra sauce", "2.00")])
    cid = fake.add_category("Generated")
    for start in range(1, n_items + 1, PAGE):
        # The fake checks SKU uniqueness against every item (quadratic): add in small chunks.
        chunk = FakeLoyverse(token=token)
        chunk.stores = fake.stores
        for i in range(start, min(start + PAGE, n_items + 1)):
            chunk.add_item(f"Generated item {i}", sku=f"GEN-{i:05d}", price=f"{50 + i % 7}.00",
                           category_id=cid, track_stock=i % 10 == 0,
                           modifier_ids=(extras["id"],) if i % 5 == 0 else ())
        fake.items.update(chunk.items)
    for item in list(fake.items.values())[::10]:
        for store in fake.stores:
            fake.set_stock(item["variants"][0]["variant_id"], store, 5)
    fake.latency = latency
    return fake


class Replay:
    """Serve a fake's GET answers from memory after the first time, with the fake's latency.

    The catalog does not change during the benchmark, and a real POS's own processing time is
    part of its latency: replaying keeps the fake's CPU (Python, in this process) out of the
    build's figures. Every request is still counted in ``fake.requests``.
    """

    def __init__(self, fake: FakeLoyverse) -> None:
        self.fake = fake
        self.answers: dict[tuple, tuple[str, list, bytes]] = {}

    def __call__(self, environ: dict, start_response):
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING"),
               environ.get("HTTP_AUTHORIZATION"))
        if key[0] != "GET" or key not in self.answers:
            captured = {}

            def capture(status, headers, exc_info=None):
                captured.update(status=status, headers=headers)
                return lambda data: None

            body = b"".join(self.fake(environ, capture))
            self.answers[key] = (captured["status"], captured["headers"], body)
        else:
            self.fake.requests.append((key[0], key[1], {}))
            time.sleep(self.fake.latency)
        status, headers, body = self.answers[key]
        start_response(status, headers)
        return [body]


def minimum_requests(fake: FakeLoyverse, n_stores_used: int) -> tuple[int, int]:
    """(fewest requests, longest chain of pages) for one full pull of an account's catalog."""
    def pages(n: int) -> int:
        return max(1, math.ceil(n / PAGE))

    variants = sum(len(i["variants"]) for i in fake.items.values())
    # merchant, stores and taxes are one request each (not paginated); payment types are not
    # needed by a build
    lists = [1, 1, 1, pages(len(fake.categories)), pages(len(fake.modifiers)),
             pages(len(fake.items))]
    inventory = [pages(variants)] * n_stores_used  # one chain per store
    return sum(lists) + sum(inventory), max(lists + inventory)


def write_site(root: Path, n_items: int, accounts: list[tuple[str, str, str]],
               payment_type: str | None = None) -> None:
    """A site with ``n_items`` menu pages and one location per (api_url, token, store_id).

    ``payment_type`` (a Loyverse payment type id) lets the relay record orders as receipts.
    """
    menu = root / "content" / "menu" / "generated"
    menu.mkdir(parents=True)
    (root / "content" / "menu" / "_index.md").write_text("---\ntitle: Menu\n---\n")
    (menu / "_index.md").write_text("---\ntitle: Generated\nweight: 1\n---\n")
    for i in range(1, n_items + 1):
        extras = ("modifiers:\n  - name: Extras\n    max: 2\n    options: [Spicy, Extra sauce]\n"
                  if i % 5 == 0 else "")
        (menu / f"item-{i:05d}.md").write_text(
            f"---\ntitle: Generated item {i}\nsku: GEN-{i:05d}\nprice: {50 + i % 7}\n"
            f"weight: {i}\n{extras}---\nA generated dish.\n")
    (root / "data").mkdir()
    lines = ["currency: TTD", "locations:"]
    for loc, (api_url, token, store) in zip(LOCATIONS[:len(accounts)], accounts, strict=True):
        lines += [f"  - id: {loc}", f"    name: {loc.title()}", "    kind: restaurant",
                  '    whatsapp: "+1 868 555 0101"', "    catalog: loyverse", "    pos:",
                  "      loyverse:", "        enabled: true", f"        store_id: {store}",
                  f"        access_token: {token}", f"        api_url: {api_url}"]
        if payment_type:
            lines.append(f"        payment_type_id: {payment_type}")
    (root / "data" / "locations.yaml").write_text("\n".join(lines) + "\n")
    (root / "hugo.toml").write_text('title = "bench"\n')


@dataclass(frozen=True)
class Tree:
    """How to run one hugo_pos: the installed one, or a source tree (``--source``/``--compare``)."""

    label: str
    command: tuple[str, ...] = (HUGO_POS,)
    env: dict | None = None
    cwd: Path | None = None

    @classmethod
    def of_source(cls, source: Path) -> Tree:
        """``python -m hugo_pos`` from ``source`` (run there: ``-m`` puts the working directory
        first on sys.path)."""
        root = source.resolve()
        return cls(str(source), (sys.executable, "-m", "hugo_pos"),
                   {**os.environ, "PYTHONPATH": str(root)}, root)

    def run(self, *args: str) -> ChildRun:
        """Run ``hugo_pos ARGS`` from this tree."""
        return run_child([*self.command, *args], env=self.env, cwd=self.cwd)

    def pull_only(self, site: Path) -> ChildRun:
        """Pull the catalogs of ``site`` with this tree's client, and nothing else."""
        return run_child([sys.executable, "-c", PULL_ONLY, str(site)], env=self.env,
                         cwd=self.cwd)


def bench_scenario(name: str, fakes: list[FakeLoyverse], stores_per_fake: list[int],
                   n_items: int, runs: int, trees: list[Tree], version_walls: dict[str, float],
                   latency: float, profile: bool = False) -> list[list]:
    """Build the site ``runs`` times per tree against ``fakes``; return one table row per tree.

    With several trees each round builds once with each, in an order that alternates from
    round to round, so that a machine slowing down or speeding up is shared by all of them.
    ``profile``: one more build under cProfile, its top 25 functions by cumulative time printed.
    """
    builds: dict[str, list[tuple[ChildRun, int]]] = {t.label: [] for t in trees}  # requests
    pulls: dict[str, list[float]] = {t.label: [] for t in trees}  # wall of the pull alone
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        urls = [stack.enter_context(serve(Replay(f))) for f in fakes]
        accounts = [(url, fake.token, store) for url, fake, used in
                    zip(urls, fakes, stores_per_fake, strict=True)
                    for store in list(fake.stores)[:used]]
        site = Path(tmp) / "site"
        write_site(site, n_items, accounts)
        for tree in trees:  # fills the replay cache, and each tree's bytecode and caches
            tree.run("build", "--site", str(site), "-q")
        for round_number in range(runs):
            for tree in trees[::-1] if round_number % 2 else trees:
                before = sum(f.request_count for f in fakes)
                run = tree.run("build", "--site", str(site), "-q")
                if run.code:
                    sys.exit(f"{name}: hugo_pos build failed ({run.code}):\n{run.err}")
                builds[tree.label].append((run, sum(f.request_count for f in fakes) - before))
                pull = tree.pull_only(site)
                if pull.code:
                    sys.exit(f"{name}: the pull alone failed ({pull.code}):\n{pull.err}")
                pulls[tree.label].append(pull.wall)
        if profile:
            out = Path(tmp) / "build.prof"
            run_child([sys.executable, "-m", "cProfile", "-o", str(out), *trees[0].command,
                       "build", "--site", str(site), "-q"], env=trees[0].env, cwd=trees[0].cwd)
            pstats.Stats(str(out)).sort_stats("cumulative").print_stats(25)
        shutil.rmtree(site / "themes", ignore_errors=True)
    minimum = [minimum_requests(f, used) for f, used in zip(fakes, stores_per_fake, strict=True)]
    fewest = sum(m[0] for m in minimum)
    floor = max(m[1] for m in minimum) * latency
    rows = []
    for tree in trees:
        done = builds[tree.label]
        wall = median([run.wall for run, _ in done])
        net = wall - version_walls[tree.label]
        ratio = net / floor if floor else float("nan")
        made = max(requests for _, requests in done)
        peak = max(run.peak for run, _ in done)
        pull = median(pulls[tree.label]) - version_walls[tree.label]
        rows.append([name if len(trees) == 1 else f"{name} [{tree.label}]", f"{wall:.3f}",
                     f"{median([run.cpu for run, _ in done]):.3f}", f"{net:.3f}",
                     f"{floor:.3f}", f"{ratio:.2f}", verdict(ratio <= 1.3),
                     f"{pull:.3f}", f"{pull / floor:.2f}", f"{made}/{fewest}",
                     verdict(made == fewest), f"{peak / 2**20:.0f}", verdict(peak < 250 * 2**20)])
    return rows


def version_times(trees: list[Tree], runs: int) -> dict[str, float]:
    """Median wall time of ``hugo_pos --version`` per tree (the start-up cost every build
    pays), the trees taking turns."""
    walls: dict[str, list[float]] = {t.label: [] for t in trees}
    for _ in range(runs):
        for tree in trees:
            run = tree.run("--version")
            if run.code:
                sys.exit(f"{tree.label}: hugo_pos --version failed:\n{run.err}")
            walls[tree.label].append(run.wall)
    return {label: median(found) for label, found in walls.items()}


def merge_cpu(n_items: int, runs: int) -> float:
    """CPU seconds of ``merge()`` for one location of ``n_items`` items (median of runs), with
    the cyclic GC paused as ``build()`` pauses it (its full passes over the catalogs were half
    of the figure before session 5, and a build never pays them)."""
    from hugo_pos.build import _interpreter_tuned, fetch_catalogs, make_providers
    from hugo_pos.config import load_config
    from hugo_pos.merge import merge
    from hugo_pos.site import read_site

    fake = make_fake(n_items, 1, "merge-token", 0.0)
    with serve(fake) as url, tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        write_site(site, n_items, [(url, fake.token, next(iter(fake.stores)))])
        config = load_config(site, dict(os.environ))
        items = read_site(config)
        catalogs = fetch_catalogs(config, make_providers(config, items), offline=False,
                                  strict=False, progress=None, warnings=[])
        cpu = []
        for _ in range(runs):
            with _interpreter_tuned():
                started = time.process_time()
                merge(config, items, catalogs)
                cpu.append(time.process_time() - started)
    return median(cpu)


def main() -> None:
    """Parse the options, run both scenarios and the merge timing, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--items", type=int, default=2000, help="items per location")
    parser.add_argument("--merge-items", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3, help="builds per scenario (median)")
    parser.add_argument("--quick", action="store_true", help="1 run, 500 items, 2,000 merged")
    parser.add_argument("--source", type=Path, default=None,
                        help="run hugo_pos from this source tree (e.g. an older commit's "
                             "`git archive`), for before/after figures")
    parser.add_argument("--compare", type=Path, default=None, metavar="SOURCE",
                        help="also run hugo_pos from this source tree, taking turns with the "
                             "first, and print a row for each (before/after in one run)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one build per scenario (cProfile, top 25)")
    args = parser.parse_args()
    # Measure an installation as users have it: with compiled bytecode, written by the first
    # (warm-up) run. PYTHONDONTWRITEBYTECODE would make every run compile changed modules.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.quick:
        args.runs, args.items, args.merge_items = 1, 500, 2000
    trees = [Tree.of_source(args.source) if args.source else Tree("installed")]
    if args.compare:
        trees.append(Tree.of_source(args.compare))
        if trees[0].label == trees[1].label:
            parser.error("--compare names the tree already measured; give another source tree")
    if args.source:
        sys.path.insert(0, str(args.source.resolve()))  # merge_cpu below: the first tree's
    print(f"hugo_pos from {', '.join(t.label for t in trees)}")
    print(f"machine: {machine()}")
    print(f"latency {args.latency * 1000:.0f} ms/request, {args.items} items x 3 locations, "
          f"{args.runs} run(s) per scenario (median)")
    version_walls = version_times(trees, max(3, args.runs))
    for label, wall in version_walls.items():
        print(f"hugo_pos --version ({label}): {wall:.3f} s  (target < 0.3 s: "
              f"{verdict(wall < 0.3)})")
    print()
    rows = []
    shared = make_fake(args.items, 3, "shared-token", args.latency)
    rows += bench_scenario("shared (1 account, 3 stores)", [shared], [3], args.items,
                           args.runs, trees, version_walls, args.latency, args.profile)
    separate = [make_fake(args.items, 1, f"token-{i}", args.latency) for i in range(3)]
    rows += bench_scenario("separate (3 accounts)", separate, [1, 1, 1], args.items,
                           args.runs, trees, version_walls, args.latency, args.profile)
    print(table(rows, ["scenario", "wall s", "CPU s", "net s", "floor s", "ratio", "<=1.3",
                       "pull s", "pull ratio", "requests/min", "=min", "peak MB", "<250"]))
    cpu = merge_cpu(args.merge_items, max(3, args.runs))
    print(f"\nmerge() CPU for {args.merge_items} items ({trees[0].label}): {cpu:.3f} s  "
          f"(target < 1 s: {verdict(cpu < 1.0)})")


if __name__ == "__main__":
    main()
