"""The relay's settings: where the site, menu and database are, secrets and limits, from env.

``RelaySettings.from_env()`` reads every ``HUGO_POS_*`` variable the relay knows (listed in
``ENV``); the CLI and tests override fields with ``dataclasses.replace``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path

from hugo_pos.errors import HugoPosError

ENV = {
    "HUGO_POS_SITE": "a Hugo site directory (locations.yaml and data/hugo_pos/menu.json)",
    "HUGO_POS_CONFIG": "a locations.yaml path, when there is no site checkout",
    "HUGO_POS_MENU_URL": "the deployed site's /hugo-pos/menu.json",
    "HUGO_POS_DATABASE_URL": "sqlite:///path or postgresql://...",
    "HUGO_POS_BOARD_TOKEN": "the kitchen board's token",
    "HUGO_POS_WEBHOOK_TOKEN": "the URL token of unsigned webhooks",
    "HUGO_POS_REBUILD_HOOK_URL": "POSTed (debounced) when a POS catalog changed",
    "HUGO_POS_RATE_LIMIT": "orders per minute per client address and process (0: off)",
    "HUGO_POS_TRUSTED_PROXIES": "comma-separated proxy addresses allowed to set X-Forwarded-For",
    "HUGO_POS_RETRY_BUDGET": "seconds a delivery is retried before it is failed (86400)",
    "HUGO_POS_WORKER": "process (a delivery process beside gunicorn's web workers, the default "
                       "under gunicorn.conf.py), thread (deliver inside each web process) or off",
    "HUGO_POS_WORKER_THREADS": "POS calls a delivery worker makes at once (4)",
    "HUGO_POS_WORKER_NICE": "the delivery process's CPU priority below the web workers': idle "
                            "(the default: the CPU only when they leave it free) or a nice "
                            "value from 0 (the same) to 19",
    "HUGO_POS_CORS_ORIGINS": "extra allowed origins beside site_origins (e.g. a local preview)",
}

# process: a delivery process beside gunicorn's web workers, started by gunicorn.conf.py's hooks.
WORKER_MODES = ("process", "thread", "off")


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class RelaySettings:
    """Everything the relay needs besides the site configuration itself.

    Times are in seconds. ``clock`` returns epoch seconds (tests inject their own);
    ``backoff_base``/``backoff_cap`` shape the retry delays, ``claim_ttl`` is how long a worker's
    claim on a delivery lasts (a crashed worker's deliveries come back after it).
    """

    site: Path | None = None
    config_path: Path | None = None
    menu_url: str = ""
    database_url: str = ""
    board_token: str = ""
    webhook_token: str = ""
    rebuild_hook_url: str = ""
    rate_limit: int = 60
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    retry_budget: float = 86400.0
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    claim_ttl: float = 30.0
    rebuild_debounce: float = 30.0
    rebuild_max_wait: float = 300.0
    menu_check_interval: float = 1.0
    menu_url_interval: float = 60.0
    worker: str = "thread"
    worker_threads: int = 4
    # The delivery process's priority below the web workers' ("idle" or a nice value): when both
    # want the CPU (a burst of orders), a customer waiting for their 201 goes first, and
    # deliveries, safe in the outbox and already on the kitchen board, catch up as the CPU
    # frees (bench/RESULTS.md).
    worker_nice: int | str = "idle"
    poll_interval: float = 0.5
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    clock: Callable[[], float] = field(default=_now, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> RelaySettings:
        """Read the settings from ``env`` (default ``os.environ``); ``overrides`` win."""
        env = dict(os.environ if env is None else env)
        site = env.get("HUGO_POS_SITE")
        config = env.get("HUGO_POS_CONFIG")
        values = dict(
            site=Path(site) if site else None,
            config_path=Path(config) if config else None,
            menu_url=env.get("HUGO_POS_MENU_URL", ""),
            database_url=env.get("HUGO_POS_DATABASE_URL", ""),
            board_token=env.get("HUGO_POS_BOARD_TOKEN", ""),
            webhook_token=env.get("HUGO_POS_WEBHOOK_TOKEN", ""),
            rebuild_hook_url=env.get("HUGO_POS_REBUILD_HOOK_URL", ""),
            rate_limit=_number(env, "HUGO_POS_RATE_LIMIT", 60, int),
            trusted_proxies=_list(env, "HUGO_POS_TRUSTED_PROXIES"),
            cors_origins=_list(env, "HUGO_POS_CORS_ORIGINS"),
            retry_budget=_number(env, "HUGO_POS_RETRY_BUDGET", 86400.0, float),
            backoff_base=_number(env, "HUGO_POS_BACKOFF_BASE", 1.0, float),
            backoff_cap=_number(env, "HUGO_POS_BACKOFF_CAP", 30.0, float),
            claim_ttl=_number(env, "HUGO_POS_CLAIM_TTL", 30.0, float),
            poll_interval=_number(env, "HUGO_POS_POLL_INTERVAL", 0.5, float),
            worker=env.get("HUGO_POS_WORKER") or "thread",
            worker_threads=_number(env, "HUGO_POS_WORKER_THREADS", 4, int),
            worker_nice=("idle" if env.get("HUGO_POS_WORKER_NICE", "").strip().lower()
                         in ("", "idle") else _number(env, "HUGO_POS_WORKER_NICE", 10, int)),
            env=env,
        )
        values.update(overrides)
        settings = cls(**values)
        if settings.worker not in WORKER_MODES:
            raise HugoPosError(f"HUGO_POS_WORKER is {settings.worker!r}",
                               f"set HUGO_POS_WORKER to {', '.join(WORKER_MODES[:-1])} or "
                               f"{WORKER_MODES[-1]}")
        if settings.worker_threads < 1:
            raise HugoPosError("HUGO_POS_WORKER_THREADS is 0", "set it to 1 or more")
        if settings.worker_nice != "idle" and not 0 <= int(settings.worker_nice) <= 19:
            raise HugoPosError(f"HUGO_POS_WORKER_NICE is {settings.worker_nice}",
                               "set it to idle, or to a nice value from 0 (the web workers' "
                               "priority) to 19")
        for proxy in settings.trusted_proxies:
            try:
                ip_network(proxy, strict=False)
            except ValueError:
                raise HugoPosError(f"HUGO_POS_TRUSTED_PROXIES has {proxy!r}, not an address or "
                                   "network", "list IP addresses or networks, comma-separated, "
                                   "e.g. 10.0.0.0/8,192.168.1.10") from None
        return settings

    @property
    def site_root(self) -> Path:
        """The site directory (the config file's site when only HUGO_POS_CONFIG is given)."""
        if self.site:
            return self.site
        if self.config_path:
            return self.config_path.parent
        raise HugoPosError("the relay does not know which site to serve",
                           "set HUGO_POS_SITE to the site directory (or HUGO_POS_CONFIG to a "
                           "locations.yaml), or pass --site DIR")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())


def _number(env: Mapping[str, str], name: str, default, kind):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise HugoPosError(f"{name} is {raw!r}, not a number",
                           f"set {name} to a number such as {default}") from None
    if value < 0:
        raise HugoPosError(f"{name} is negative", f"set {name} to 0 or more")
    return value
