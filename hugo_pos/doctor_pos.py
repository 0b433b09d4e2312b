"""Doctor's checks of one POS of one location, through the provider's own client (read-only).

Loyverse: ``GET merchant/`` (answers? credentials?), ``GET stores`` (store and currency, with the
provider's own ``check_account``), ``GET payment_types``, ``GET webhooks/`` (notes §6.1).
Odoo: ``common.version``, ``common.authenticate``, ``pos.config`` read, ``pos.payment.method``
read, and the "Send Webhook Notification" server actions (``ir.actions.server``, state
``webhook``, odoo.md §4.1) with their automation rules (``base.automation``, ``active``).
Other providers: a catalog pull stands in for "answers and accepts the credentials".
Each call is tried once (no retries): a doctor must answer quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from hugo_pos.doctor import FAIL, PASS, SKIP, WARN, Check, render_error
from hugo_pos.errors import HugoPosError, PosUnavailable
from hugo_pos.http import RetryPolicy
from hugo_pos.providers.base import Provider
from hugo_pos.providers.odoo_catalog import OPEN_SESSION_STATES
from hugo_pos.providers.odoo_rpc import m2o_id

WEBHOOKS_FIX = ("run `hugo_pos webhooks register` (creates missing webhooks, re-enables "
                "disabled ones)")


def pos_checks(provider: Provider, relay_url: str, token: str) -> list[Check]:
    """The checks of one provider instance (one POS of one location)."""
    line = partial(Check, provider.context.location.id, provider.context.pos_name)
    if provider.name == "local":
        return [line("pos", PASS, "no POS: orders go to the relay's kitchen board")]
    if provider.name == "loyverse":
        return _loyverse(provider, line, relay_url, token)
    if provider.name == "odoo":
        return _odoo(provider, line, relay_url, token)
    return _generic(provider, line)


def _attempt(line: Callable[..., Check], name: str, run: Callable[[], Check]) -> Check:
    """Run one check; a HugoPosError becomes its failure line (the error's hint is the fix)."""
    try:
        return run()
    except HugoPosError as exc:
        return line(name, FAIL, *render_error(exc))


def _connect(line: Callable[..., Check], probe: Callable[[], Any]) -> list[Check] | None:
    """Check that the POS answers and takes the credentials; None when both pass."""
    try:
        probe()
    except PosUnavailable as exc:
        return [line("reachable", FAIL, *render_error(exc)),
                line("credentials", SKIP, "not checked: the POS did not answer")]
    except HugoPosError as exc:
        return [line("reachable", PASS, "the API answered"),
                line("credentials", FAIL, *render_error(exc))]
    return None


def _generic(provider: Provider, line: Callable[..., Check]) -> list[Check]:
    failed = _connect(line, provider.fetch_catalog)
    return failed or [line("reachable", PASS, "the catalog was read"),
                      line("credentials", PASS, "accepted")]


# -- Loyverse ------------------------------------------------------------------------------------


def _loyverse(provider: Any, line: Callable[..., Check], relay_url: str,
              token: str) -> list[Check]:
    from hugo_pos.providers.loyverse_catalog import Account, list_all

    client = provider.client
    client.policy = RetryPolicy(max_retries=0)
    merchant: dict = {}
    failed = _connect(line, lambda: merchant.update(client.get_json("merchant/")))
    if failed:
        return failed
    currency = (merchant.get("currency") or {}).get("code") or "?"
    checks = [line("reachable", PASS, f"{provider.api_url} answered"),
              line("credentials", PASS, f"account {merchant.get('business_name') or '?'} "
                   f"({currency})")]

    def store() -> Check:
        stores = list_all(client, "stores", "stores")
        provider.check_account(Account(merchant, stores, [], [], [], []))
        name = next(s.get("name") for s in stores if s["id"] == provider.store_id)
        return line("store", PASS, f"store {name}")

    def payment_type() -> Check:
        wanted = provider.settings.get("payment_type_id")
        if not wanted:
            return line("payment type", FAIL, "no payment_type_id: orders cannot be recorded",
                        f"create a payment type (e.g. \"Online\", type Other) in the Loyverse back "
                        f"office and set {provider.setting_source('payment_type_id')} to its id")
        types = [t for t in list_all(client, "payment_types", "payment_types")
                 if not t.get("deleted_at")]
        found = next((t for t in types if t.get("id") == wanted), None)
        if found is None:
            names = ", ".join(f"{t.get('name')} ({t.get('id')})" for t in types)
            return line("payment type", FAIL, f"payment type {wanted} is not in this account",
                        f"set {provider.setting_source('payment_type_id')} to one of: "
                        f"{names or 'none (create one)'}")
        if "stores" in found and provider.store_id not in (found.get("stores") or []):
            return line("payment type", FAIL, f"payment type {found.get('name')} is not "
                        "available at this location's store",
                        "enable it for the store in the Loyverse back office (Settings > "
                        "Payment types)")
        return line("payment type", PASS, f"payment type {found.get('name')}")

    def webhooks() -> Check:
        from hugo_pos.providers.loyverse_webhooks import EVENT_TYPES

        url = f"{relay_url}/webhooks/loyverse"
        if not provider.settings.get("webhook_secret"):
            if not token:
                return line("webhooks", FAIL, "HUGO_POS_WEBHOOK_TOKEN is not set, so unsigned "
                            "Loyverse webhooks cannot reach the relay",
                            "set HUGO_POS_WEBHOOK_TOKEN (32+ random characters) here and in the "
                            f"relay, then {WEBHOOKS_FIX}")
            url = f"{url}/{token}"
        hooks = list_all(client, "webhooks/", "webhooks")  # one pull for every event type
        return _webhook_line(line, url, token, {
            kind: [h for h in hooks if h.get("url") == url and h.get("type") == kind]
            for kind in EVENT_TYPES})

    checks += [_attempt(line, "store", store), _attempt(line, "payment type", payment_type)]
    if relay_url:
        checks.append(_attempt(line, "webhooks", webhooks))
    else:
        checks.append(line("webhooks", SKIP, "no relay_url: nothing to deliver webhooks to"))
    return checks


def _webhook_line(line: Callable[..., Check], url: str, token: str,
                  found: dict[str, list[dict]]) -> Check:
    shown = url.replace(token, "***") if token else url
    missing = [kind for kind, hooks in found.items() if not hooks]
    disabled = [kind for kind, hooks in found.items()
                if hooks and all(h.get("status") != "ENABLED" for h in hooks)]
    if missing or disabled:
        parts = ([f"not registered: {', '.join(missing)}"] if missing else []) + (
            [f"disabled: {', '.join(disabled)}"] if disabled else [])
        return line("webhooks", FAIL, f"{'; '.join(parts)} (to {shown})", WEBHOOKS_FIX)
    return line("webhooks", PASS, f"{len(found)} enabled, to {shown}")


# -- Odoo ----------------------------------------------------------------------------------------


def _odoo(provider: Any, line: Callable[..., Check], relay_url: str, token: str) -> list[Check]:
    rpc = provider.rpc
    rpc.http.policy = RetryPolicy(max_retries=0)
    try:
        major = rpc.major
    except HugoPosError as exc:
        return [line("reachable", FAIL, *render_error(exc)),
                line("credentials", SKIP, "not checked: the POS did not answer")]
    config_id = int(provider.settings["pos_config_id"])
    record: dict = {}

    def read_config() -> None:
        if not rpc.uses_json2:
            rpc.uid  # noqa: B018 (JSON-RPC: authenticate first; it answers false, not an error)
        found = rpc.call("pos.config", "search_read", domain=[("id", "=", config_id)],
                         fields=["name", "current_session_id", "current_session_state",
                                 "payment_method_ids"], limit=1)
        record.update(found[0] if found else {})

    reachable = line("reachable", PASS, f"Odoo {major} at {rpc.url}")
    failed = _connect(line, read_config)
    if failed:
        return failed if failed[0].status == FAIL else [reachable, failed[1]]
    checks = [reachable, line("credentials", PASS, f"logged in as {rpc.login}")]
    if not record:
        checks.append(line("pos config", FAIL, f"pos.config {config_id} not found in company "
                           f"{rpc.company_id}", "set pos_config_id (and company_id) of this "
                           "location to the ids shown in Point of Sale > Configuration"))
        return checks
    checks.append(line("pos config", PASS, f"{record.get('name')}"))
    if record.get("current_session_state") not in OPEN_SESSION_STATES:
        being = " (one is being closed)" if record.get("current_session_id") else ""
        checks.append(line("session", WARN, f"no open POS session{being}: web orders wait "
                           "until one opens", "open a session in Odoo Point of Sale before "
                           "taking orders"))
    if provider.settings.get("order_state") == "paid":
        method = int(provider.settings.get("payment_method_id") or 0)
        allowed = record.get("payment_method_ids") or []
        status = PASS if method in allowed else FAIL
        checks.append(line("payment method", status, f"payment method {method} "
                           f"{'is' if status == PASS else 'is not'} enabled on {record['name']}",
                           "add it to the POS's payment methods or fix payment_method_id"))
    if not relay_url:
        checks.append(line("webhooks", SKIP, "no relay_url: nothing to deliver webhooks to"))
    elif major < 17:
        checks.append(line("webhooks", WARN, f"Odoo {major} cannot send webhooks (17+): order "
                           "status and stock reach the relay only through rebuilds",
                           "upgrade to Odoo 17+ for live order status and stock"))
    elif not token:
        checks.append(line("webhooks", FAIL, "HUGO_POS_WEBHOOK_TOKEN is not set; Odoo webhooks "
                           "carry it in their URL", "set HUGO_POS_WEBHOOK_TOKEN (32+ random "
                           "characters) here and in the relay, then point Odoo's webhook "
                           "actions at /webhooks/odoo/<token>"))
    else:
        checks.append(_attempt(line, "webhooks",
                               lambda: _odoo_webhooks(rpc, line, relay_url, token)))
    return checks


def _odoo_webhooks(rpc: Any, line: Callable[..., Check], relay_url: str, token: str) -> Check:
    url = f"{relay_url}/webhooks/odoo/{token}"
    shown = url.replace(token, "***")
    fix = (f"in Odoo (Settings > Technical > Automation Rules) add rules on pos.order and "
           f"product.template whose action is \"Send Webhook Notification\" to {shown}, and "
           "keep them active (README, Deployment)")
    try:
        actions = rpc.call("ir.actions.server", "search_read",
                           domain=[("state", "=", "webhook"), ("webhook_url", "=", url)],
                           fields=["name", "base_automation_id"])
    except PosUnavailable:
        raise
    except HugoPosError as exc:
        return line("webhooks", WARN, f"cannot read the automation rules ({exc.message})",
                    f"check them by hand: {fix}")
    if not actions:
        return line("webhooks", FAIL, f"no automation rule posts to {shown}", fix)
    rule_ids = [i for i in (m2o_id(a.get("base_automation_id")) for a in actions) if i]
    rules = rpc.call("base.automation", "read", rule_ids, fields=["name", "active"]) \
        if rule_ids else []
    active = [r for r in rules if r.get("active")]
    if not active:
        names = ", ".join(str(r.get("name")) for r in rules) or "none"
        return line("webhooks", FAIL, f"disabled: the rules posting to {shown} are archived "
                    f"({names})", fix)
    return line("webhooks", PASS, f"{len(active)} active rule(s) post to {shown}")
