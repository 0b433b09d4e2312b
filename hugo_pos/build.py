"""build(): read -> fetch -> merge -> write. The only place the build stages meet.

Catalogs are fetched in parallel, one pull per POS account; each success is cached in
``.hugo_pos/cache/`` so a build can go on (with a warning) when a POS is down, or run with
``offline=True`` from the cache alone.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hugo_pos.catalog import Catalog, Menu
from hugo_pos.config import SiteConfig, load_config
from hugo_pos.errors import HugoPosError, PosUnavailable
from hugo_pos.providers import provider_class
from hugo_pos.providers.base import Provider, ProviderContext

log = logging.getLogger(__name__)

CACHE_DIR = Path(".hugo_pos/cache")
Progress = Callable[[str, str, str, float], None]


@dataclass
class BuildResult:
    """What a build did: the menu, the files it changed, its warnings and timings."""

    config: SiteConfig
    menu: Menu
    written: list[Path]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """Return the one-screen summary the CLI prints."""
        lines = [f"hugo_pos build: {len(self.menu.locations)} location(s), "
                 f"menu version {self.menu.version}"]
        for loc in self.config.locations:
            menu = self.menu.locations[loc.id]
            variants = [v for i in menu.items.values() for v in i.variants]
            available = sum(v.available for v in variants)
            pos = ", ".join(p.name for p in loc.enabled_pos)
            lines.append(f"  {loc.id:<16} {len(menu.items):>4} items  {available:>4}/"
                         f"{len(variants):<4} orderable  catalog: {loc.catalog:<9} POS: {pos}")
        lines.append(f"  {len(self.warnings)} warning(s)")
        lines.append("  written: " + (", ".join(p.as_posix() for p in self.written)
                                      or "nothing changed"))
        return "\n".join(lines)


def build(site: str | Path, *, strict: bool = False, offline: bool = False,
          env: dict[str, str] | None = None, progress: Progress | None = None,
          on_config: Callable[[SiteConfig], None] | None = None) -> BuildResult:
    """Build the site's hugo-pos data files.

    ``strict`` makes warnings (and a stale cached catalog) fatal; ``offline`` uses only cached
    catalogs. ``progress(location, pos, status, seconds)`` is called as each catalog arrives.
    Raises HugoPosError (nothing written) on invalid input or an unusable POS.
    """
    with _interpreter_tuned():
        return _build(Path(site), strict=strict, offline=offline, env=env, progress=progress,
                      on_config=on_config)


def _build(root: Path, *, strict: bool, offline: bool, env: dict[str, str] | None,
           progress: Progress | None, on_config: Callable[[SiteConfig], None] | None
           ) -> BuildResult:
    started = time.monotonic()
    config = load_config(root, env)
    if on_config:
        on_config(config)
    warnings = list(config.warnings)
    fresh: list[str] = []  # warnings nobody has logged yet
    site_items: Future = Future()
    # The providers (and the HTTP stack they import) come first so that the pull starts at
    # once; the site is read while the catalogs download, as the two do not depend on each other.
    providers = make_providers(config, site_items)
    with ThreadPoolExecutor(max_workers=1) as fetcher:
        fetched = fetcher.submit(fetch_catalogs, config, providers, offline=offline,
                                 strict=strict, progress=progress, warnings=fresh)
        try:  # the stages after the pull are imported during it
            from hugo_pos.merge import merge
            from hugo_pos.module import install_module
            from hugo_pos.site import read_site
            from hugo_pos.write import write_outputs

            items = read_site(config, cache=True, warnings=warnings)
        except BaseException as exc:
            site_items.set_exception(exc)
            raise  # after the pull has ended: a broken site is reported before a POS failure
        site_items.set_result(items)
        catalogs = fetched.result()
    result = merge(config, items, catalogs)
    fresh.extend(result.warnings)
    for warning in [*warnings, *fresh]:
        log.warning("%s", warning)
    warnings += fresh + catalogs.logged_warnings
    if strict and warnings:
        if log.isEnabledFor(logging.WARNING):
            raise HugoPosError(f"{len(warnings)} warning(s) with --strict; nothing was written",
                               "fix the warnings above, or build without --strict")
        raise HugoPosError(  # -q hid them: the error names them
            f"{len(warnings)} warning(s) with --strict; nothing was written: "
            + "; ".join(warnings), "fix them, or build without --strict")
    install_module(root)
    written = write_outputs(root, result.menu, config)
    return BuildResult(config=config, menu=result.menu, written=written, warnings=warnings,
                       seconds=time.monotonic() - started)


def make_providers(config: SiteConfig, items: tuple | Future = (),
                   root: Path | None = None) -> dict[tuple[str, str], Provider]:
    """Return a provider for every enabled POS of every location, keyed (location, POS name).

    ``items`` are the site's items, or a Future of them (see ProviderContext).
    """
    root = root or config.root
    providers = {}
    for loc in config.locations:
        for pos in loc.enabled_pos:
            context = ProviderContext(location=loc, pos_name=pos.name, currency=config.currency,
                                      items=items, cache_dir=root / CACHE_DIR,
                                      static_dir=root / "static")
            providers[(loc.id, pos.name)] = provider_class(pos.provider)(pos.settings, context)
    return providers


class Catalogs(dict):
    """``{(location, POS name): Catalog}`` plus the warnings providers logged while fetching."""

    logged_warnings: list[str]


def fetch_catalogs(config: SiteConfig, providers: dict[tuple[str, str], Provider], *,
                   offline: bool, strict: bool, progress: Progress | None,
                   warnings: list[str]) -> Catalogs:
    """Fetch the catalogs of ``providers`` (see make_providers): one pull per account, the
    accounts in parallel.

    A POS that is down is replaced by its cached catalog, with a warning added to ``warnings``.
    """
    catalogs = Catalogs()
    with _WarningCollector() as collector, ThreadPoolExecutor(max_workers=8) as pool:
        futures = {pool.submit(_fetch_group, providers, keys, config.root, offline, progress):
                   keys for keys in account_groups(providers)}
        for future, keys in futures.items():
            try:
                catalogs.update(future.result())
            except PosUnavailable as exc:
                catalogs.update(_from_cache(config.root, keys, exc, strict, warnings))
    catalogs.logged_warnings = collector.messages
    return catalogs


def account_groups(providers: dict[tuple[str, str], Provider]) -> list[list[tuple[str, str]]]:
    """Group the keys of ``providers`` by POS account: each group is pulled once."""
    groups: dict[tuple[type, str], list[tuple[str, str]]] = {}
    for key, provider in providers.items():
        groups.setdefault((type(provider), provider.account_key()), []).append(key)
    return list(groups.values())


def pull_group(providers: dict[tuple[str, str], Provider], keys: list[tuple[str, str]]
               ) -> dict[tuple[str, str], Catalog]:
    """Pull the catalogs of one account group (see account_groups) from the POS."""
    group = [providers[key] for key in keys]
    return dict(zip(keys, type(group[0]).fetch_catalogs(group), strict=True))


def _fetch_group(providers: dict, keys: list[tuple[str, str]], root: Path, offline: bool,
                 progress: Progress | None) -> dict[tuple[str, str], Catalog]:
    started = time.monotonic()
    if offline and type(providers[keys[0]]).remote:  # a group shares its provider's type
        found = {key: _read_cache(root, key) for key in keys}
        missing = [key for key, catalog in found.items() if catalog is None]
        if missing:
            raise HugoPosError(
                f"--offline: no cached catalog for {', '.join('/'.join(k) for k in missing)}",
                "run one build with the POS reachable first")
        status = "cached"
    else:
        from hugo_pos.write import write_atomic

        found = pull_group(providers, keys)
        for key, catalog in found.items():
            write_atomic(_cache_path(root, key), catalog.json_text())
        status = "fetched"
    if progress:
        for key in keys:
            progress(key[0], key[1], status, time.monotonic() - started)
    return found


def _from_cache(root: Path, keys: list, error: PosUnavailable, strict: bool,
                warnings: list[str]) -> dict[tuple[str, str], Catalog]:
    found = {key: _read_cache(root, key) for key in keys}
    names = ", ".join("/".join(k) for k in keys)
    if strict or any(c is None for c in found.values()):
        hint = ("--strict refuses a cached catalog; build again when the POS is back"
                if strict else "no cached catalog yet: build once while the POS is reachable")
        raise HugoPosError(f"{names}: {error.message}", hint) from None
    warnings.append(f"{names}: {error.message}; using the catalog cached by the last build")
    return found


def _cache_path(root: Path, key: tuple[str, str]) -> Path:
    return root / CACHE_DIR / f"{key[0]}--{key[1]}.json"


def _read_cache(root: Path, key: tuple[str, str]) -> Catalog | None:
    path = _cache_path(root, key)
    if not path.is_file():
        return None
    try:
        return Catalog.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        log.warning("%s is unreadable; ignoring it", path.relative_to(root).as_posix())
        return None


@contextmanager
def _interpreter_tuned() -> Iterator[None]:
    # A build allocates a few hundred thousand acyclic objects (parsed JSON, catalogs): the
    # cyclic collector's full passes over them cost about 0.1 s of a 6,000-item build
    # (bench/RESULTS.md) and free nothing.
    # The download threads each wake dozens of times per page (a socket read each time) while
    # projecting and reading the site keep the GIL busy: at the default 5 ms switch interval
    # each wake-up could wait that long, stretching a 50 ms page to 60-100 ms.
    enabled, interval = gc.isenabled(), sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(interval, 0.001))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if enabled:
            gc.enable()


class _WarningCollector(logging.Handler):
    """Collects the warnings providers log while fetching, so the build can count them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _WarningCollector:
        logging.getLogger("hugo_pos.providers").addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("hugo_pos.providers").removeHandler(self)
