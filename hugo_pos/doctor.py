"""``hugo_pos doctor``: can this deployment take orders? Every check, and how to fix what fails.

Per location and POS: the env vars are set, the POS answers, the credentials work, the store /
pos.config and payment settings exist, the relay's webhooks are registered and enabled. Then the
relay: it answers ``/healthz``, is ready (``/readyz``: store reachable, menu loaded), and serves
the menu version the site was built with. Every call is a read; nothing is created or changed.
No click in here: the CLI prints ``Report.table()`` and exits 1 when ``Report.failed``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hugo_pos.config import LOCATIONS_FILE, load_config, read_dotenv, read_yaml
from hugo_pos.errors import ConfigError, HugoPosError
from hugo_pos.options import env_refs

log = logging.getLogger(__name__)

PASS, FAIL, WARN, SKIP = "pass", "FAIL", "warn", "skip"
SITE_MENU = "data/hugo_pos/menu.json"
RELAY_TIMEOUT = (3.0, 10.0)


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is pass, FAIL, warn or skip; ``fix`` says what to do
    when it is not a pass. ``location`` is ``-`` for checks of the whole site."""

    location: str
    pos: str
    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    """Every check doctor ran, in order; ``secrets`` are masked when the report is shown."""

    checks: tuple[Check, ...]
    secrets: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def failed(self) -> bool:
        """Whether any check failed (the CLI then exits 1)."""
        return any(c.status == FAIL for c in self.checks)

    def table(self) -> str:
        """The checks as a text table, each failure followed by its fix, then a summary."""
        head = ("RESULT", "LOCATION", "POS", "CHECK", "DETAIL")
        rows = [(c.status, c.location, c.pos, c.name, self._mask(c.detail)) for c in self.checks]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        indent = " " * (sum(widths) + 2 * 4)
        lines = []
        for check, row in zip((None, *self.checks), [head, *rows], strict=True):
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False))
                         + "  " + row[4])
            if check is not None and check.fix and check.status in (FAIL, WARN):
                lines.append(f"{indent}fix: {self._mask(check.fix)}")
        counts = {s: sum(c.status == s for c in self.checks) for s in (PASS, FAIL, WARN, SKIP)}
        lines.append(f"{len(self.checks)} checks: {counts[PASS]} passed, {counts[FAIL]} failed, "
                     f"{counts[WARN]} warnings, {counts[SKIP]} skipped")
        return "\n".join(line.rstrip() for line in lines)

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


def diagnose(site: str | os.PathLike, *, relay_url: str | None = None,
             env: Mapping[str, str] | None = None) -> Report:
    """Run every check for the site in ``site`` and return the report.

    ``env`` defaults to ``os.environ`` plus the site's ``.env`` (as ``hugo_pos build`` reads
    it); ``relay_url`` is where to reach the relay if not at the site's ``relay_url`` (e.g.
    a port-forwarded relay); webhooks are still checked against the public ``relay_url``.
    """
    from hugo_pos.build import make_providers
    from hugo_pos.doctor_pos import pos_checks

    root = Path(site)
    env = dict(read_dotenv(root / ".env"), **(os.environ if env is None else env))
    token = env.get("HUGO_POS_WEBHOOK_TOKEN", "")
    secrets = {token} if token else set()
    try:
        raw = read_yaml(root / LOCATIONS_FILE, LOCATIONS_FILE, required=True)
    except ConfigError as exc:
        return Report((Check("-", "site", "config", FAIL, exc.message, exc.hint or ""),),
                      frozenset(secrets))
    checks = env_checks(raw, env)
    try:
        config = load_config(root, env=env)
    except ConfigError as exc:
        # Unset variables of enabled POSes already have their env line; anything else (e.g. a
        # variable pos-mapping.yaml needs) is reported here.
        reported = {name for c in checks if c.name == "env" and c.status == FAIL
                    for name in c.detail.removesuffix(" not set").split(", ")}
        unreported = [p for p in exc.problems
                      if not any(f"environment variable {n} is not set" in p for n in reported)]
        checks += [Check("-", "site", "config", FAIL, problem, exc.hint or "")
                   for problem in unreported]
        checks.append(Check("-", "site", "live checks", SKIP,
                            "not run: fix the configuration first"))
        return Report(tuple(checks), frozenset(secrets))
    secrets |= set(config.secrets)
    checks += [Check("-", "site", "config", WARN, warning) for warning in config.warnings
               if ": relay_url: environment variable" not in warning]  # an env line says it
    try:
        providers = make_providers(config)
    except HugoPosError as exc:
        checks.append(Check("-", "site", "config", FAIL, *render_error(exc)))
        return Report(tuple(checks), frozenset(secrets))
    for provider in providers.values():
        # Webhooks must reach the public relay_url, even when --relay names another address.
        checks += pos_checks(provider, config.relay_url, token)
    checks += relay_checks(root, (config.relay_url if relay_url is None else relay_url)
                           .rstrip("/"))
    return Report(tuple(checks), frozenset(secrets))


def env_checks(raw: Mapping[str, Any], env: Mapping[str, str]) -> list[Check]:
    """Whether the env vars each enabled POS refers to (``{{ env `NAME` }}``) are set."""
    checks = []
    relay_refs = env_refs(str(raw.get("relay_url") or ""))
    unset = [name for name in relay_refs if not env.get(name)]
    if unset:
        checks.append(Check("-", "site", "env", WARN,
                            f"{', '.join(unset)} not set: relay_url is empty, so the site takes "
                            "orders by WhatsApp only", f"set {', '.join(unset)} to the relay's "
                            "public URL (see env.example) to take orders online"))
    for index, loc in enumerate(raw.get("locations") or []):
        if not isinstance(loc, Mapping):
            continue
        loc_id = str(loc.get("id") or f"#{index}")
        for pos_name, settings in (loc.get("pos") or {}).items():
            if not isinstance(settings, Mapping):
                continue
            if str(settings.get("enabled", True)).lower() in ("false", "0"):
                checks.append(Check(loc_id, pos_name, "env", SKIP, "disabled (enabled: false)"))
                continue
            names = [n for value in settings.values() for n in env_refs(str(value))]
            missing = [n for n in names if not env.get(n)]
            if missing:
                checks.append(Check(loc_id, pos_name, "env", FAIL,
                                    f"{', '.join(missing)} not set",
                                    "set them in the environment or the site's .env file (see "
                                    "env.example); in Kubernetes, in the Secret "
                                    "omgsushi-pos-secrets"))
            else:
                checks.append(Check(loc_id, pos_name, "env", PASS,
                                    f"all {len(names)} variables set"))
    return checks


def relay_checks(root: Path, relay_url: str) -> list[Check]:
    """The relay answers /healthz, is ready, and serves the menu version the site built."""
    import requests

    if not relay_url:
        return [Check("-", "relay", "health", SKIP, "no relay_url: WhatsApp-only ordering")]
    checks = []
    try:
        health = requests.get(f"{relay_url}/healthz", timeout=RELAY_TIMEOUT)
    except requests.RequestException as exc:
        return [Check("-", "relay", "health", FAIL,
                      f"{relay_url} did not answer ({type(exc).__name__})",
                      "start the relay (Kubernetes: kubectl -n omgsushi-pos get pods,ingress; "
                      "locally: hugo_pos relay serve) and check relay_url / POS_API_URL")]
    if health.status_code != 200:
        return [Check("-", "relay", "health", FAIL,
                      f"{relay_url}/healthz answered HTTP {health.status_code}",
                      "check that relay_url points at the relay and that the Ingress routes "
                      "/healthz and /readyz (k8s/pos-integration-service.yaml)")]
    checks.append(Check("-", "relay", "health", PASS, f"{relay_url} answered /healthz"))
    try:
        ready = requests.get(f"{relay_url}/readyz", timeout=RELAY_TIMEOUT)
        state = ready.json()
    except (requests.RequestException, ValueError) as exc:
        checks.append(Check("-", "relay", "ready", FAIL, f"/readyz failed ({type(exc).__name__})",
                            "see the relay's log"))
        return checks
    if ready.status_code != 200:
        problems, fixes = [], []
        if not state.get("store"):
            problems.append("its store is unreachable")
            fixes.append("check HUGO_POS_DATABASE_URL and that PostgreSQL is up")
        if not state.get("menu"):
            problems.append(f"no menu loaded ({state.get('menu_error') or 'unknown reason'})")
            fixes.append("check HUGO_POS_MENU_URL (the deployed site's /hugo-pos/menu.json) or "
                         "HUGO_POS_SITE")
        checks.append(Check("-", "relay", "ready", FAIL, "not ready: " + "; ".join(problems),
                            "; ".join(fixes)))
        return checks
    checks.append(Check("-", "relay", "ready", PASS, "store reachable, menu loaded"))
    checks.append(menu_check(root, state.get("menu")))
    return checks


def menu_check(root: Path, served: str | None) -> Check:
    """Compare the menu version the relay serves with the site's built menu.json."""
    path = root / SITE_MENU
    try:
        built = json.loads(path.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return Check("-", "relay", "menu version", FAIL, f"{SITE_MENU} is missing or unreadable",
                     "run `hugo_pos build` in the site, then compare again")
    if built == served:
        return Check("-", "relay", "menu version", PASS, f"relay and site both at {built}")
    return Check("-", "relay", "menu version", FAIL,
                 f"the relay serves menu {served}, the site was built with {built}",
                 "deploy the site (the relay reloads HUGO_POS_MENU_URL within a minute), or "
                 "rebuild it if the deployed one is newer")


def render_error(exc: HugoPosError) -> tuple[str, str]:
    """A HugoPosError as (detail, fix) for a report line."""
    return exc.message, exc.hint or ""
