"""The in-memory database of the fake Odoo (tests/fakes/odoo.py): records, domains, record
rules, and the point_of_sale methods hugo-pos calls, per version (16-19).

Behaviour emulated, with its source (see ../shared/pos-api-notes/odoo.md):
* ``read``/``search_read`` refuse unknown fields with ValueError "Invalid field 'x' on model 'y'"
  (ORM ``_determine_fields_to_fetch``); many2one values read as ``[id, name]``;
* multi-company record rules: searches skip other companies' records, ``read`` of one raises
  AccessError; ``allowed_company_ids`` outside the user's companies raises AccessError (§5);
* product.product inherits template fields (``_inherits``); ``pos_categ_id`` on 16,
  ``pos_categ_ids`` on 17+; ``detailed_type`` on 16/17, ``type`` on 18+ (§2.1);
* ``create_from_ui`` (16/17, §3.2): ``data`` keys read with ``[]`` (KeyError when missing),
  amounts stored as sent, de-duplication by ``pos_reference``, closed session -> rescue session;
* ``sync_from_ui`` (18/19, §3.3): flat dict of pos.order fields (unknown key: ValueError),
  de-duplication by ``uuid``, re-sync of a draft deletes ``access_token`` (KeyError when
  absent), no open session -> UserError "No open session available...", amounts stored as
  sent, a paid order whose payments fall short stays draft (action_pos_order_paid raises, and
  _process_order only logs it);
* pos.config's ``has_active_session`` counts a session being closed (``closing_control``) too,
  as ``_compute_current_session`` does; ``current_session_state`` says which.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any


class OdooFault(Exception):
    """An exception as Odoo raises it: ``qualname`` is what serialize_exception names it."""

    def __init__(self, qualname: str, message: str, args: tuple | None = None,
                 http_status: int = 500) -> None:
        super().__init__(message)
        self.qualname = qualname
        self.message = message
        self.arguments = list(args if args is not None else (message,))
        self.http_status = http_status


def user_error(message: str) -> OdooFault:
    """odoo.exceptions.UserError (JSON-2 status 422)."""
    return OdooFault("odoo.exceptions.UserError", message, http_status=422)


def access_error(message: str) -> OdooFault:
    """odoo.exceptions.AccessError (JSON-2 status 403)."""
    return OdooFault("odoo.exceptions.AccessError", message, http_status=403)


def key_error(key: str) -> OdooFault:
    """builtins.KeyError as serialize_exception shows it: message ``'key'``."""
    return OdooFault("builtins.KeyError", repr(key), (key,))


def invalid_field(model: str, name: str) -> OdooFault:
    """builtins.ValueError of the ORM for an unknown field."""
    return OdooFault("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")


M2O = {"company_id", "currency_id", "pricelist_id", "current_session_id", "product_tmpl_id",
       "pos_categ_id", "parent_id", "config_id", "session_id", "product_id", "categ_id",
       "account_sale_tax_id", "user_id", "partner_id", "order_id", "payment_method_id",
       "attribute_id", "fiscal_position_id", "model_id", "base_automation_id"}
COMMON = {"id", "display_name", "write_date", "create_date"}
PRODUCT = {"name", "list_price", "available_in_pos", "sale_ok", "company_id", "taxes_id",
           "description_sale", "default_code", "active", "image_512", "image_128", "combo_ids",
           "categ_id", "product_variant_ids", "to_weight", "barcode", "description"}


def schema(version: int) -> dict[str, set[str]]:
    """The fields each model has in this version (only what the fake needs)."""
    poscat = "pos_categ_id" if version <= 16 else "pos_categ_ids"
    ptype = "detailed_type" if version <= 17 else "type"
    order = {"name", "pos_reference", "session_id", "config_id", "state", "date_order",
             "amount_total", "amount_tax", "amount_paid", "amount_return", "lines", "user_id",
             "partner_id", "pricelist_id", "fiscal_position_id", "sequence_number", "company_id",
             "to_invoice", "note", "payment_ids", "access_token", "tracking_number"}
    if version >= 18:  # 19 split general_note (odoo/odoo pos_order.py after 18.0)
        order |= {"uuid"} | ({"general_note"} if version == 18 else
                             {"general_customer_note", "internal_note"})
    tax = {"name", "amount", "amount_type", "price_include", "include_base_amount", "sequence",
           "children_tax_ids", "company_id", "type_tax_use"}
    if version >= 18:
        tax.add("price_include_override")
    return {
        "res.company": {"name", "currency_id", "tax_calculation_rounding_method", "parent_id",
                        "account_sale_tax_id"},
        "res.currency": {"name", "rounding", "decimal_places"},
        "pos.config": {"name", "company_id", "currency_id", "pricelist_id", "limit_categories",
                       "iface_available_categ_ids", "current_session_id", "has_active_session",
                       "current_session_state", "payment_method_ids"},
        "pos.session": {"name", "config_id", "state", "company_id", "user_id"},
        "pos.category": {"name", "parent_id", "sequence", "child_id"},
        "product.template": PRODUCT | {poscat, ptype, "product_variant_ids"},
        "product.product": PRODUCT | {poscat, ptype, "product_tmpl_id", "lst_price",
                                      "product_template_attribute_value_ids", "price_extra"},
        "product.template.attribute.value": {"name", "price_extra", "product_tmpl_id",
                                             "attribute_id", "ptav_active"},
        "product.attribute": {"name", "create_variant", "display_type"},
        "account.tax": tax,
        "product.pricelist": {"name", "company_id", "currency_id", "item_ids"},
        "product.pricelist.item": {"pricelist_id", "applied_on", "product_tmpl_id", "product_id",
                                   "compute_price", "fixed_price", "percent_price",
                                   "min_quantity", "date_start", "date_end", "categ_id"},
        "pos.order": order,
        "pos.order.line": {"order_id", "product_id", "qty", "price_unit", "discount",
                           "price_subtotal", "price_subtotal_incl", "tax_ids",
                           "full_product_name", "customer_note", "uuid", "price_extra", "name",
                           "attribute_value_ids"},
        "pos.payment": {"pos_order_id", "payment_method_id", "amount", "payment_date", "name"},
        "pos.payment.method": {"name", "company_id"},
        # base / base_automation (17.0): what registering webhooks touches
        "ir.model": {"model", "name"},
        "ir.model.fields": {"model", "name", "model_id"},
        "ir.actions.server": {"name", "state", "webhook_url", "webhook_field_ids", "model_id",
                              "base_automation_id"},
        "base.automation": {"name", "active", "trigger", "trigger_field_ids", "model_id",
                            "action_server_ids"},
    }


class Database:
    """Records of every model, keyed by id, plus the POS methods of one Odoo version."""

    def __init__(self, version: int, user_companies: tuple[int, ...] = (1,),
                 now: str = "2026-11-25 12:00:00") -> None:
        self.version = version
        self.fields = schema(version)
        self.records: dict[str, dict[int, dict]] = defaultdict(dict)
        self.user_companies = user_companies
        self.now = now
        self._ids = itertools.count(1)

    # -- records -------------------------------------------------------------------------------

    def add(self, model: str, **values: Any) -> int:
        """Insert a record as given (no checks) and return its id."""
        rid = values.pop("id", None) or next(self._ids)
        variant = values.pop("_variant", True)
        values.setdefault("write_date", self.now)
        if model == "product.template":
            values.setdefault("active", True)
        self.records[model][rid] = {"id": rid, **values}
        if model == "product.template" and variant:
            self.add("product.product", product_tmpl_id=rid)
        return rid

    def value(self, model: str, rec: dict, name: str) -> Any:
        """A field's raw value (many2one as an id), computed and inherited fields included."""
        if name in rec:
            return rec[name]
        if model == "product.product" and name in ("lst_price", "display_name"):
            tmpl = self.records["product.template"][rec["product_tmpl_id"]]
            if name == "lst_price":
                return (tmpl.get("list_price") or 0.0) + (rec.get("price_extra") or 0.0)
            names = [self.records["product.template.attribute.value"][v]["name"]
                     for v in rec.get("product_template_attribute_value_ids") or ()]
            return f"{tmpl['name']} ({', '.join(names)})" if names else tmpl["name"]
        if model == "product.product" and name != "id":
            return self.value("product.template",
                              self.records["product.template"][rec["product_tmpl_id"]], name)
        if model == "product.template" and name == "product_variant_ids":
            return [p["id"] for p in self.records["product.product"].values()
                    if p["product_tmpl_id"] == rec["id"]]
        if model == "pos.config" and name in ("current_session_id", "has_active_session",
                                              "current_session_state"):
            # pos.config._compute_current_session: any session not closed counts, one being
            # closed (closing_control) too; sessions newest first, rescue sessions left out
            # of current_session_id/state.
            live = sorted((s for s in self.records["pos.session"].values()
                           if s["config_id"] == rec["id"] and s["state"] != "closed"),
                          key=lambda s: -s["id"])
            current = [s for s in live if not s["name"].startswith("(RESCUE FOR")]
            if name == "has_active_session":
                return bool(live)
            if name == "current_session_state":
                return current[0]["state"] if current else False
            return current[0]["id"] if current else False
        if model == "pos.config" and name == "currency_id":
            return self.records["res.company"][rec["company_id"]]["currency_id"]
        if model == "pos.order" and name == "config_id":
            return self.records["pos.session"][rec["session_id"]]["config_id"]
        if name == "display_name":
            return rec.get("name", f"{model},{rec['id']}")
        if name in ("active", "sale_ok", "ptav_active"):
            return True
        if name in M2O:
            return False
        return False

    def _m2o_model(self, model: str, name: str) -> str:
        return {"company_id": "res.company", "currency_id": "res.currency",
                "pricelist_id": "product.pricelist", "current_session_id": "pos.session",
                "session_id": "pos.session", "config_id": "pos.config",
                "product_tmpl_id": "product.template", "product_id": "product.product",
                "pos_categ_id": "pos.category", "parent_id": model,
                "account_sale_tax_id": "account.tax", "order_id": "pos.order",
                "payment_method_id": "pos.payment.method",
                "attribute_id": "product.attribute", "model_id": "ir.model",
                "base_automation_id": "base.automation"}.get(name, "")

    def read_record(self, model: str, rec: dict, fields: list[str] | None,
                    load: str | None = "_classic_read") -> dict:
        """Format one record as ``read`` does (many2one as [id, display name])."""
        known = self.fields[model] | COMMON
        for name in fields or ():
            if name not in known:
                raise invalid_field(model, name)
        out = {"id": rec["id"]}
        for name in fields or sorted(known - {"image_512", "image_128"}):
            value = self.value(model, rec, name)
            if name in M2O and value and load is not None:
                target = self._m2o_model(model, name)
                other = self.records[target].get(value, {}) if target else {}
                value = [value, self.value(target, other, "display_name") if other else ""]
            out[name] = value
        return out

    # -- security ------------------------------------------------------------------------------

    def allowed(self, context: dict | None) -> list[int]:
        """The companies of this call; AccessError when the user may not use one of them."""
        companies = list((context or {}).get("allowed_company_ids") or self.user_companies[:1])
        if any(c not in self.user_companies for c in companies):
            raise access_error("Access to unauthorized or invalid companies.")
        return companies

    def visible(self, model: str, rec: dict, companies: list[int]) -> bool:
        """The multi-company record rule: no company, or one of the allowed ones (from 17 on,
        or a parent of one: a branch sees its parent companies' records)."""
        company = self.value(model, rec, "company_id") if "company_id" in self.fields.get(
            model, ()) else False
        if self.version >= 17 and company:
            return any(self._descends(c, [company], "res.company") for c in companies)
        return not company or company in companies

    # -- domains -------------------------------------------------------------------------------

    def search(self, model: str, domain: list, companies: list[int],
               active_test: bool = True) -> list[dict]:
        """Records matching a domain (Polish notation, the operators hugo-pos uses)."""
        if model in ("ir.model", "ir.model.fields") and not self.records[model]:
            self._describe_models()
        uses_active = any(isinstance(t, (list, tuple)) and t[0] == "active" for t in domain)
        found = []
        for rec in self.records[model].values():
            if not self.visible(model, rec, companies):
                continue
            if active_test and not uses_active and model.startswith("product") and \
                    not self.value(model, rec, "active"):
                continue
            if self._match(model, rec, list(domain)):
                found.append(rec)
        return found

    def _describe_models(self) -> None:
        # ir.model / ir.model.fields from the schema, in their own id range so that the ids of
        # the records tests add do not depend on whether this ran.
        ids = itertools.count(100_000)
        for name, fields in sorted(self.fields.items()):
            model_id = next(ids)
            self.records["ir.model"][model_id] = {"id": model_id, "model": name, "name": name}
            for field in sorted(fields):
                fid = next(ids)
                self.records["ir.model.fields"][fid] = {"id": fid, "model": name,
                                                        "name": field, "model_id": model_id}

    def _match(self, model: str, rec: dict, domain: list) -> bool:
        stack: list[bool] = []
        for term in reversed(domain):
            if term == "&" or term == "|":
                a, b = stack.pop(), stack.pop()
                stack.append(a and b if term == "&" else a or b)
            elif term == "!":
                stack.append(not stack.pop())
            else:
                stack.append(self._term(model, rec, *term))
        return all(stack)

    def _term(self, model: str, rec: dict, name: str, op: str, wanted: Any) -> bool:
        value = self.value(model, rec, name)
        values = value if isinstance(value, list) else [value]
        if op == "=":
            return value == wanted or (isinstance(value, list) and wanted in value)
        if op == "!=":
            return value != wanted
        if op == "in":
            return any(v in wanted for v in values)
        if op == "not in":
            return not any(v in wanted for v in values)
        if op == "parent_of":  # 17+: the company and its ancestors (branches)
            wanted = wanted if isinstance(wanted, list) else [wanted]
            return any(self._descends(w, values, "res.company") for w in wanted)
        if op == "child_of":
            wanted = wanted if isinstance(wanted, list) else [wanted]
            return any(self._descends(v, wanted, model if name == "id" else "pos.category")
                       for v in values)
        if op in (">", "<", ">=", "<="):
            return {">": value > wanted, "<": value < wanted, ">=": value >= wanted,
                    "<=": value <= wanted}[op]
        if op == "ilike":
            return str(wanted).lower() in str(value).lower()
        raise OdooFault("builtins.ValueError", f"Invalid leaf {(name, op, wanted)!r}")

    def _descends(self, rid: Any, roots: list[int], model: str) -> bool:
        seen = 0
        while rid and seen < 50:
            if rid in roots:
                return True
            rid = self.records[model].get(rid, {}).get("parent_id")
            seen += 1
        return False
