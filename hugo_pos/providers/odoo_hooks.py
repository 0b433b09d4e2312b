"""Subscribe the relay to Odoo's changes: automation rules whose action is "Send Webhook
Notification" (``ir.actions.server`` with ``state = 'webhook'``, Odoo 17+; notes odoo.md §4.1).

One rule per model: ``pos.order`` (order state -> the web order's status) and
``product.template`` (availability and prices -> live stock and the rebuild hook). Each posts
the selected fields to ``<relay_url>/webhooks/odoo/<HUGO_POS_WEBHOOK_TOKEN>``; the token is the
only secret (Odoo signs nothing), so it never appears in what this module returns.
Idempotent: an action already posting to that URL for a model is left alone. Needs an API user
allowed to create automation rules (Settings / Administration). Field names are those of
``base_automation`` 17.0 (``trigger``, ``trigger_field_ids``, ``action_server_ids``) ⚠ checked
against the 17.0 sources only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hugo_pos.errors import HugoPosError
from hugo_pos.providers.odoo_rpc import m2o_id

if TYPE_CHECKING:
    from hugo_pos.providers.odoo import OdooProvider

# model -> (fields sent in the webhook body, fields whose change triggers it)
RULES = {
    "pos.order": (["name", "pos_reference", "state", "amount_total", "config_id"], ["state"]),
    "product.template": (["name", "default_code", "available_in_pos", "sale_ok", "active",
                          "list_price", "product_variant_ids"],
                         ["available_in_pos", "sale_ok", "active", "list_price", "name"]),
}


def register_webhooks(provider: OdooProvider, relay_url: str, token: str | None) -> list[str]:
    """Create the missing automation rules; return one line per model (token masked)."""
    if not token:
        raise HugoPosError("HUGO_POS_WEBHOOK_TOKEN is not set; Odoo webhooks carry it in their "
                           "URL", "set HUGO_POS_WEBHOOK_TOKEN (32+ random characters) here and "
                           "in the relay")
    rpc = provider.rpc
    if rpc.major < 17:
        return [f"skipped: Odoo {rpc.major} has no webhook actions (17+), so order status and "
                "catalog changes are not pushed; rebuild the site to pick up price changes"]
    url = f"{relay_url.rstrip('/')}/webhooks/odoo/{token}"
    shown = url.replace(token, "***")
    existing = rpc.call("ir.actions.server", "search_read",
                        domain=[("state", "=", "webhook"), ("webhook_url", "=", url)],
                        fields=["model_id", "base_automation_id"])
    models = {m["model"]: m["id"] for m in rpc.call(
        "ir.model", "search_read", domain=[("model", "in", sorted(RULES))],
        fields=["model"])}
    done = {m2o_id(a.get("model_id")) for a in existing}
    fields = rpc.call("ir.model.fields", "search_read",
                      domain=[("model", "in", sorted(RULES)),
                              ("name", "in", sorted({f for s, t in RULES.values()
                                                     for f in s + t}))],
                      fields=["name", "model"])
    ids = {(f["model"], f["name"]): f["id"] for f in fields}
    lines = []
    for model, (sent, triggers) in RULES.items():
        if models.get(model) in done:
            lines.append(f"{model}: already posts to {shown}")
            continue
        action = {"name": f"hugo-pos: notify the relay ({model})", "model_id": models[model],
                  "state": "webhook", "webhook_url": url,
                  "webhook_field_ids": [[6, 0, [ids[(model, f)] for f in sent
                                                if (model, f) in ids]]]}
        rpc.call("base.automation", "create", write=True, vals_list=[{
            "name": f"hugo-pos: {model} changes", "model_id": models[model],
            "trigger": "on_create_or_write",
            "trigger_field_ids": [[6, 0, [ids[(model, f)] for f in triggers
                                          if (model, f) in ids]]],
            "action_server_ids": [[0, 0, action]]}])
        lines.append(f"{model}: created an automation rule posting to {shown}")
    return lines
