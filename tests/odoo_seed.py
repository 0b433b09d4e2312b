"""A small OMG Sushi company in the fake Odoo (tests/fakes/odoo.py), for the Odoo tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fakes.odoo import FakeOdoo

from hugo_pos.config import Location
from hugo_pos.providers.base import PosLine, PosLineModifier, PosOrder, ProviderContext
from hugo_pos.providers.odoo import OdooProvider


@dataclass
class Seeded:
    """The fake and the ids tests need."""

    fake: FakeOdoo
    config_id: int
    session_id: int
    payment_method_id: int
    vat: int
    service: int
    food: int


def seed(version: int, products: list[tuple[str, str, float, str]] | None = None,
         session_state: str = "opened") -> Seeded:
    """Company 1 in TTD with a 12.5% VAT included in prices and a 10% excluded service tax,
    POS categories Food > Rolls and Bar, one pos.config limited to Food, one session.

    ``products``: ``(sku, name, list price, tax)`` with tax ``incl``, ``excl`` or ``both``.
    """
    fake = FakeOdoo(version)
    ttd = fake.add("res.currency", name="TTD", rounding=0.01)
    vat = fake.add("account.tax", name="VAT 12.5%", amount=12.5, amount_type="percent",
                   price_include=True, company_id=1, sequence=1)
    service = fake.add("account.tax", name="Service 10%", amount=10.0, amount_type="percent",
                       price_include=False, company_id=1, sequence=2)
    fake.add("res.company", id=1, name="OMG Sushi Ltd", currency_id=ttd,
             tax_calculation_rounding_method="round_per_line", account_sale_tax_id=vat)
    food = fake.add("pos.category", name="Food", sequence=1)
    rolls = fake.add("pos.category", name="Rolls", parent_id=food, sequence=2)
    bar = fake.add("pos.category", name="Bar", sequence=3)
    cash = fake.add("pos.payment.method", name="Web payments", company_id=1)
    config = fake.add("pos.config", name="Diamond Vale truck", company_id=1, pricelist_id=False,
                      limit_categories=True, iface_available_categ_ids=[food],
                      payment_method_ids=[cash])
    session = fake.add("pos.session", name="POS/00042", config_id=config, state=session_state,
                       company_id=1, user_id=2)
    taxes = {"incl": [vat], "excl": [service], "both": [vat, service]}
    for sku, name, price, tax in products if products is not None else [
            ("ROLL-DRAGON", "Dragon Roll", 65.5, "incl"),
            ("NIGIRI-SALMON", "Salmon Nigiri", 1.05, "excl"),
            ("BAR-CARIB", "Carib", 20.0, "both")]:
        category = bar if sku.startswith("BAR-") else rolls
        fake.add("product.template", name=name, default_code=sku, list_price=price,
                 available_in_pos=True, sale_ok=True, taxes_id=taxes[tax], company_id=1,
                 **({"pos_categ_id": category} if version <= 16 else
                    {"pos_categ_ids": [category]}))
    return Seeded(fake, config, session, cash, vat, service, food)


def move_to_a_branch(seeded: Seeded) -> str:
    """Run the seeded POS in company 3, a branch of company 1 (Odoo 17+), which keeps the
    products and taxes; return the branch's id as a setting."""
    fake = seeded.fake
    fake.add("res.company", id=3, name="OMG Sushi trucks", parent_id=1,
             currency_id=fake.records["res.company"][1]["currency_id"])
    fake.user_companies = (1, 3)
    fake.records["pos.config"][seeded.config_id]["company_id"] = 3
    fake.records["pos.session"][seeded.session_id]["company_id"] = 3
    return "3"


def add_modifiers(fake: FakeOdoo, sku: str, name: str,
                  options: list[tuple[str, float]]) -> dict[str, int]:
    """Give the template ``sku`` an attribute that creates no variant (Odoo's modifiers);
    return ``{option name: ptav id}``."""
    tmpl = next(t["id"] for t in fake.records["product.template"].values()
                if t.get("default_code") == sku)
    attribute = next((a["id"] for a in fake.records["product.attribute"].values()
                      if a["name"] == name), None) or fake.add(
        "product.attribute", name=name, create_variant="no_variant", display_type="radio")
    return {option: fake.add("product.template.attribute.value", name=option,
                             price_extra=extra, attribute_id=attribute, product_tmpl_id=tmpl)
            for option, extra in options}


def provider_for(url: str, seeded: Seeded, location_id: str = "diamond-vale",
                 **settings) -> OdooProvider:
    """An OdooProvider of ``location_id`` talking to the fake at ``url``."""
    location = Location(id=location_id, name="Diamond Vale", kind="food-truck",
                        whatsapp="+1 868 555 0103", timezone="America/Port_of_Spain",
                        hours=None, catalog="odoo", fulfilment=("pickup",))
    context = ProviderContext(location=location, pos_name="odoo", currency="TTD",
                              **settings.pop("context", {}))
    return OdooProvider({"url": url, "database": "omg", "login": "bot@omg.tt",
                         "api_key": "odoo-key-123", "company_id": "1",
                         "pos_config_id": str(seeded.config_id), **settings}, context,
                        sleep=lambda s: None)


def order_of(provider: OdooProvider, lines: list[tuple], order_id: str = "OMG-7Q2K",
             **extra) -> PosOrder:
    """A PosOrder priced from the provider's own catalog, as the relay would price it;
    ``lines`` are ``(sku, quantity)`` or ``(sku, quantity, [modifier option names])``."""
    found = {v.sku: (item, v) for item in provider.fetch_catalog().items for v in item.variants}
    options = {(sku, o.name): o for sku, (item, _) in found.items() for m in item.modifiers
               for o in m.options}
    pos_lines = tuple(PosLine(variant_id=sku, name=found[sku][0].name, quantity=qty,
                              unit_price=found[sku][1].price, pos=found[sku][1].pos,
                              modifiers=tuple(PosLineModifier(
                                  name=m, price=options[(sku, m)].price,
                                  pos=options[(sku, m)].pos) for m in mods))
                      for sku, qty, *rest in lines for mods in [rest[0] if rest else ()])
    return PosOrder(order_id=order_id, uuid=extra.pop("uuid", "1b4e28ba-2fa1-4d3b-a3f5-"
                                                              "ef19b5a7633b"),
                    location=provider.context.location.id, currency="TTD", lines=pos_lines,
                    total=sum(line.total for line in pos_lines), customer_name="Ann Ali",
                    customer_phone="+1 868 555 0199", fulfilment="pickup",
                    created_at="2026-11-25T18:30:00Z", **extra)


def enable_odoo(site: Path, location: str = "diamond-vale") -> None:
    """Flip `enabled: false` to true for the first POS of ``location`` in the example's
    locations.yaml (Diamond Vale has only odoo)."""
    path = site / "data" / "locations.yaml"
    head, tail = path.read_text(encoding="utf-8").split(f"- id: {location}", 1)
    path.write_text(head + f"- id: {location}" + tail.replace("enabled: false", "enabled: true",
                                                              1), encoding="utf-8")


def odoo_env(url: str, seeded: Seeded, suffix: str = "DIAMOND_VALE") -> dict[str, str]:
    """The env vars the example's locations.yaml reads for an Odoo POS on the fake."""
    fake = seeded.fake
    return {f"ODOO_API_URL_{suffix}": url, f"ODOO_DATABASE_{suffix}": fake.database,
            f"ODOO_LOGIN_{suffix}": fake.login, f"ODOO_API_KEY_{suffix}": fake.api_key,
            f"ODOO_COMPANY_ID_{suffix}": "1", f"ODOO_POS_CONFIG_ID_{suffix}": str(seeded.config_id),
            f"ODOO_PAYMENT_METHOD_ID_{suffix}": str(seeded.payment_method_id)}
