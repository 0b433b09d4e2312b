"""SYNC: push the site menu into a POS (``hugo_pos sync``), show drift (``hugo_pos diff``) and
subscribe the relay to POS webhooks (``hugo_pos webhooks register``). No click in here.

Provider-agnostic: each POS implements ``push_items`` (and, when it has webhooks to create,
``register_webhooks``); this module picks the providers and renders what they report.
"""

from __future__ import annotations

import difflib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from hugo_pos.catalog import Catalog, SiteItem
from hugo_pos.config import LOCATIONS_FILE, SiteConfig
from hugo_pos.errors import HugoPosError
from hugo_pos.providers import installed_providers
from hugo_pos.providers.base import Provider, SyncPlan

log = logging.getLogger(__name__)


def select_providers(config: SiteConfig, site_items: tuple[SiteItem, ...],
                     provider_name: str | None = None,
                     location: str | None = None) -> dict[tuple[str, str], Provider]:
    """The enabled POS providers, keyed ``(location, POS name)``, optionally filtered.

    ``provider_name`` matches the provider (``loyverse``) or the POS's name under ``pos:``.
    Raises HugoPosError when nothing matches.
    """
    from hugo_pos.build import make_providers

    if location is not None:
        config.location(location)  # raises, listing the known ids
    providers = {key: p for key, p in make_providers(config, site_items).items()
                 if (location is None or key[0] == location)
                 and (provider_name is None or provider_name in (p.name, key[1]))}
    if not providers:
        where = f"location {location!r}" if location else "any location"
        names = {*installed_providers(), *(p.name for loc in config.locations for p in loc.pos)}
        if provider_name and provider_name not in names:
            enabled = sorted({key[1] for key in make_providers(config, site_items)} - {"local"})
            close = difflib.get_close_matches(provider_name, sorted(names), n=1)
            hint = (f"did you mean {close[0]!r}? " if close else "") + \
                f"enabled here: {', '.join(enabled) or 'none (only the local provider)'}"
            raise HugoPosError(f"no POS named {provider_name!r} at {where}", hint)
        raise HugoPosError(f"no enabled {provider_name or 'POS'} at {where}",
                           f"enable it under `pos:` in {LOCATIONS_FILE} (enabled: true)")
    return providers


def _with_a_pos(providers: dict[tuple[str, str], Provider], what: str
                ) -> dict[tuple[str, str], Provider]:
    """``providers``, if one of them reaches a POS; else an error saying why."""
    if not any(type(p).remote for p in providers.values()):
        raise HugoPosError(f"nothing to {what}: the local provider has no POS, its catalog is "
                           "the site's own front matter",
                           f"enable a POS (e.g. loyverse) under `pos:` in {LOCATIONS_FILE}")
    return providers


def plan_sync(config: SiteConfig, site_items: tuple[SiteItem, ...], provider_name: str,
              location: str | None = None, apply: bool = False) -> list[SyncPlan]:
    """Plan pushing each location's site items into its ``provider_name`` POS.

    With ``apply`` each plan is carried out, one location after the other (locations may share
    a POS account: the next one sees what the previous one created). Never deletes.
    """
    plans = []
    for (loc_id, _), provider in _with_a_pos(select_providers(
            config, site_items, provider_name, location), "push to").items():
        items = tuple(item for item in site_items if item.sold_at(loc_id))
        plans.append(provider.push_items(items, apply))
    return plans


def render_plans(plans: list[SyncPlan]) -> str:
    """Show plans as text: one block per location, each change with its field diffs."""
    out = []
    for plan in plans:
        state = "applied" if plan.applied else "plan only, run with --apply to carry it out"
        out.append(f"{plan.provider} · {plan.location} ({state})")
        for change in plan.pending:
            out.append(f"  {change.action:<9} {change.key}  {change.name}")
            for field, (before, after) in change.diffs.items():
                out.append(f"      {field}: {_show(before)} -> {_show(after)}")
        counts = {a: sum(c.action == a for c in plan.changes)
                  for a in ("create", "update", "unchanged")}
        out.append(f"  {counts['create']} to create, {counts['update']} to update, "
                   f"{counts['unchanged']} unchanged")
    return "\n".join(out)


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def find_drift(config: SiteConfig, site_items: tuple[SiteItem, ...],
               location: str | None = None) -> list[str]:
    """Return site-vs-POS drift (price drift, items missing on either side); writes nothing.

    Catalogs are pulled live (one pull per account, accounts in parallel) and compared with
    the same rules as the build's merge, whose warnings are the drift.
    """
    from hugo_pos.build import account_groups, pull_group
    from hugo_pos.merge import merge

    if location is not None:
        config = replace(config, locations=(config.location(location),))
    providers = _with_a_pos(select_providers(config, site_items, None, location),
                            "compare")
    groups = account_groups(providers)
    catalogs: dict[tuple[str, str], Catalog] = {}
    with ThreadPoolExecutor(max_workers=min(8, len(groups))) as pool:
        for found in pool.map(partial(pull_group, providers), groups):
            catalogs.update(found)
    return list(merge(config, site_items, catalogs).warnings)


def register_webhooks(config: SiteConfig, token: str | None,
                      location: str | None = None) -> list[str]:
    """Subscribe the relay (``relay_url``) to every enabled POS's webhooks; idempotent.

    ``token`` is ``HUGO_POS_WEBHOOK_TOKEN`` (the URL secret of unsigned webhooks). Providers
    without ``register_webhooks`` are listed as skipped. Returns lines to print.
    """
    if not config.relay_url:
        raise HugoPosError(f"relay_url is empty in {LOCATIONS_FILE}",
                           "set it (e.g. via POS_API_URL) to the relay's public https URL")
    lines: list[str] = []
    done: set[tuple[type, str]] = set()
    for (loc_id, pos_name), provider in select_providers(config, (), None, location).items():
        register = getattr(provider, "register_webhooks", None)
        if register is None:
            lines.append(f"{loc_id} · {pos_name}: skipped ({provider.name} has no webhooks "
                         "to register)")
            continue
        account = (type(provider), provider.account_key())
        if account in done:
            lines.append(f"{loc_id} · {pos_name}: same account as above")
            continue
        done.add(account)
        lines.extend(f"{loc_id} · {pos_name}: {line}"
                     for line in register(config.relay_url, token))
    return lines
