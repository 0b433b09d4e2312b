"""`hugo_pos doctor` against the fake POS servers and a real relay, all on loopback (issue #7).

A two-location site: "town" sells through Loyverse and Odoo, "truck" through the same Loyverse
account. Everything passes first; then a bad token, an unreachable POS, a disabled webhook (in
Loyverse and in Odoo), a relay that is down and a stale menu each give their failure line, the
fix, and exit code 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fakes.loyverse import DEFAULT_TOKEN, FakeLoyverse
from fakes.loyverse import serve as serve_loyverse
from fakes.odoo import serve as serve_odoo
from odoo_seed import seed
from site_support import TESTS, copy_site

from hugo_pos.doctor import FAIL, PASS, diagnose

TOKEN = "relay-url-token-0123456789abcdef"
REFUSED = "http://127.0.0.1:1"  # nothing listens on port 1: the connection is refused at once


def locations_yaml() -> dict:
    def env(name: str) -> str:
        return f"{{{{ env `{name}` }}}}"

    loyverse = {"store_id": env("LOYVERSE_STORE_ID_{0}"),
                "access_token": env("LOYVERSE_ACCESS_TOKEN_{0}"),
                "payment_type_id": env("LOYVERSE_PAYMENT_TYPE_{0}"),
                "api_url": env("LOYVERSE_API_URL")}
    odoo = {"url": env("ODOO_API_URL_TOWN"), "database": env("ODOO_DATABASE_TOWN"),
            "login": env("ODOO_LOGIN_TOWN"), "api_key": env("ODOO_API_KEY_TOWN"),
            "company_id": env("ODOO_COMPANY_ID_TOWN"),
            "pos_config_id": env("ODOO_POS_CONFIG_ID_TOWN")}

    def pos(settings: dict, suffix: str) -> dict:
        return {k: v.replace("{0}", suffix) for k, v in settings.items()}

    return {"currency": "TTD", "relay_url": env("POS_API_URL"),
            "site_origins": ["https://mini.example.com"],
            "locations": [
                {"id": "town", "name": "Town", "kind": "restaurant",
                 "whatsapp": "+1 868 555 0101", "catalog": "loyverse",
                 "pos": {"loyverse": pos(loyverse, "TOWN"), "odoo": odoo}},
                {"id": "truck", "name": "Truck", "kind": "food-truck",
                 "whatsapp": "+1 868 555 0102",
                 "pos": {"loyverse": pos(loyverse, "TRUCK")}}]}


class World:
    """The fakes, the site, the relay and the env under which everything passes."""

    def __init__(self, site: Path, loyverse: FakeLoyverse, odoo, env: dict[str, str],
                 relay_url: str) -> None:
        self.site, self.loyverse, self.odoo, self.env = site, loyverse, odoo, env
        self.relay_url = relay_url

    def report(self, relay_url: str | None = None, site: Path | None = None, **changes: str):
        return diagnose(site or self.site, relay_url=relay_url, env={**self.env, **changes})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from hugo_pos.build import build
    from hugo_pos.relay.app import create_app
    from hugo_pos.relay.settings import RelaySettings

    tmp = tmp_path_factory.mktemp("doctor")
    site = copy_site(TESTS / "sites" / "mini", tmp / "site")
    (site / "data" / "locations.yaml").write_text(yaml.safe_dump(locations_yaml()),
                                                  encoding="utf-8")
    loyverse = FakeLoyverse(currency="TTD")
    town, truck = loyverse.add_store("Town"), loyverse.add_store("Truck")
    online = loyverse.add_payment_type("Online")
    loyverse.add_item("California Roll", sku="ROLL-CALI", price="45.00")
    seeded = seed(17)
    odoo = seeded.fake
    odoo.fields["ir.actions.server"] = {"name", "state", "webhook_url", "base_automation_id"}
    odoo.fields["base.automation"] = {"name", "active", "trigger"}
    with serve_loyverse(loyverse) as loyverse_url, serve_odoo(odoo) as odoo_url:
        env = {"LOYVERSE_API_URL": loyverse_url, "LOYVERSE_STORE_ID_TOWN": town,
               "LOYVERSE_STORE_ID_TRUCK": truck, "LOYVERSE_ACCESS_TOKEN_TOWN": DEFAULT_TOKEN,
               "LOYVERSE_ACCESS_TOKEN_TRUCK": DEFAULT_TOKEN,
               "LOYVERSE_PAYMENT_TYPE_TOWN": online, "LOYVERSE_PAYMENT_TYPE_TRUCK": online,
               "ODOO_API_URL_TOWN": odoo_url, "ODOO_DATABASE_TOWN": odoo.database,
               "ODOO_LOGIN_TOWN": odoo.login, "ODOO_API_KEY_TOWN": odoo.api_key,
               "ODOO_COMPANY_ID_TOWN": "1", "ODOO_POS_CONFIG_ID_TOWN": str(seeded.config_id),
               "HUGO_POS_WEBHOOK_TOKEN": TOKEN}
        build(site, env={**env, "POS_API_URL": ""})
        settings = RelaySettings.from_env({**env, "HUGO_POS_SITE": str(site),
                                           "HUGO_POS_WORKER": "off",
                                           "HUGO_POS_DATABASE_URL": f"sqlite:///{tmp}/r.db"})
        with serve_odoo(create_app(settings)) as relay_url:
            env["POS_API_URL"] = relay_url
            # The relay's webhooks, as `hugo_pos webhooks register` and the Odoo admin made them
            # (the fake only accepts https URLs through the API, so they are put in directly).
            for kind in ("items.update", "inventory_levels.update", "receipts.update"):
                loyverse.webhooks.append({"id": f"hook-{kind}", "type": kind,
                                          "url": f"{relay_url}/webhooks/loyverse/{TOKEN}",
                                          "status": "ENABLED",
                                          "merchant_id": loyverse.merchant["id"]})
            rule = odoo.add("base.automation", name="Web order status", active=True,
                            trigger="on_state_set")
            odoo.add("ir.actions.server", name="Notify hugo-pos", state="webhook",
                     webhook_url=f"{relay_url}/webhooks/odoo/{TOKEN}", base_automation_id=rule)
            yield World(site, loyverse, odoo, env, relay_url)


def lines(report) -> list[str]:
    """The report's table lines, whitespace collapsed."""
    return [re.sub(r"\s+", " ", line.strip()) for line in report.table().splitlines()]


def failures(report) -> list[tuple[str, str, str]]:
    return [(c.location, c.pos, c.name) for c in report.checks if c.status == FAIL]


def test_everything_passes(world: World, run_cli) -> None:
    report = world.report()
    assert ("-", "site", "config") not in failures(report)
    assert {c.status for c in report.checks} == {PASS}
    checks = {(c.location, c.pos, c.name) for c in report.checks}
    for pos, names in (("loyverse", ("env", "reachable", "credentials", "store", "payment type",
                                     "webhooks")),
                       ("odoo", ("env", "reachable", "credentials", "pos config", "webhooks"))):
        assert {("town", pos, name) for name in names} <= checks
    assert {("-", "relay", "health"), ("-", "relay", "ready"),
            ("-", "relay", "menu version")} <= checks
    shown = lines(report)
    assert "pass town loyverse store store Town" in shown
    assert "pass town odoo reachable Odoo 17 at " + world.env["ODOO_API_URL_TOWN"] in shown
    assert f"pass town loyverse webhooks 3 enabled, to {world.relay_url}/webhooks/loyverse/***" \
        in shown
    assert shown[-1] == f"{len(report.checks)} checks: {len(report.checks)} passed, 0 failed, " \
                        "0 warnings, 0 skipped"
    result = run_cli("doctor", "--site", str(world.site), env=world.env)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output and DEFAULT_TOKEN not in result.output


def test_bad_token_fails_the_credentials_with_the_env_var_to_fix(world: World, run_cli) -> None:
    report = world.report(LOYVERSE_ACCESS_TOKEN_TRUCK="not-the-token")
    assert failures(report) == [("truck", "loyverse", "credentials")]
    shown = lines(report)
    at = shown.index("FAIL truck loyverse credentials Loyverse (location truck) rejected the "
                     "credentials (HTTP 401): UNAUTHORIZED: Invalid or expired access token")
    assert shown[at + 1].startswith("fix: check LOYVERSE_ACCESS_TOKEN_TRUCK (read by ")
    assert shown[at + 1].endswith("): it is missing, expired or revoked")
    result = run_cli("doctor", "--site", str(world.site),
                     env={**world.env, "LOYVERSE_ACCESS_TOKEN_TRUCK": "not-the-token"})
    assert result.exit_code == 1
    assert "not-the-token" not in result.output


def test_unreachable_pos_fails_reachable_and_skips_the_rest(world: World) -> None:
    report = world.report(ODOO_API_URL_TOWN=REFUSED)
    assert failures(report) == [("town", "odoo", "reachable")]
    shown = lines(report)
    at = shown.index("FAIL town odoo reachable Odoo (location town) did not answer "
                     "(ConnectionError)")
    assert shown[at + 1] == f"fix: check that {REFUSED} is reachable; the request is retried " \
                            "later"
    assert "skip town odoo credentials not checked: the POS did not answer" in shown
    assert report.failed


def test_disabled_loyverse_webhook_fails(world: World) -> None:
    hook = next(h for h in world.loyverse.webhooks if h["type"] == "receipts.update")
    hook["status"] = "DISABLED"
    try:
        report = world.report()
    finally:
        hook["status"] = "ENABLED"
    assert set(failures(report)) == {("town", "loyverse", "webhooks"),
                                     ("truck", "loyverse", "webhooks")}
    shown = lines(report)
    at = shown.index(f"FAIL town loyverse webhooks disabled: receipts.update (to "
                     f"{world.relay_url}/webhooks/loyverse/***)")
    assert shown[at + 1] == "fix: run `hugo_pos webhooks register` (creates missing webhooks, " \
                            "re-enables disabled ones)"


def test_archived_odoo_webhook_rule_fails(world: World) -> None:
    [rule] = world.odoo.records["base.automation"].values()
    rule["active"] = False
    try:
        report = world.report()
    finally:
        rule["active"] = True
    assert failures(report) == [("town", "odoo", "webhooks")]
    assert (f"FAIL town odoo webhooks disabled: the rules posting to {world.relay_url}"
            f"/webhooks/odoo/*** are archived (Web order status)") in lines(report)


def test_missing_webhook_and_missing_token(world: World) -> None:
    report = world.report(HUGO_POS_WEBHOOK_TOKEN="another-token-not-registered")
    assert set(failures(report)) == {("town", "loyverse", "webhooks"),
                                     ("truck", "loyverse", "webhooks"),
                                     ("town", "odoo", "webhooks")}
    assert "another-token" not in report.table()
    report = world.report(HUGO_POS_WEBHOOK_TOKEN="")
    odoo = next(c for c in report.checks if (c.location, c.pos, c.name) == (
        "town", "odoo", "webhooks"))
    assert odoo.detail.startswith("HUGO_POS_WEBHOOK_TOKEN is not set")


def test_unset_env_var_is_reported_per_location_and_pos(world: World) -> None:
    report = world.report(ODOO_API_KEY_TOWN="", LOYVERSE_STORE_ID_TRUCK="")
    shown = lines(report)
    assert "FAIL town odoo env ODOO_API_KEY_TOWN not set" in shown
    assert "FAIL truck loyverse env LOYVERSE_STORE_ID_TRUCK not set" in shown
    assert "pass town loyverse env all 4 variables set" in shown
    assert "skip - site live checks not run: fix the configuration first" in shown


def test_relay_down_and_stale_menu(world: World, tmp_path: Path) -> None:
    report = world.report(relay_url=REFUSED)
    assert failures(report) == [("-", "relay", "health")]
    assert f"FAIL - relay health {REFUSED} did not answer (ConnectionError)" in lines(report)
    stale = copy_site(world.site, tmp_path / "stale")
    menu = stale / "data" / "hugo_pos" / "menu.json"
    menu.parent.mkdir(parents=True, exist_ok=True)
    built = (world.site / "data" / "hugo_pos" / "menu.json").read_text(encoding="utf-8")
    served = re.search(r'"version": ?"([^"]+)"', built).group(1)
    menu.write_text(built.replace(served, "0000stale"), encoding="utf-8")
    report = world.report(site=stale)
    assert failures(report) == [("-", "relay", "menu version")]
    assert f"FAIL - relay menu version the relay serves menu {served}, the site was built " \
           "with 0000stale" in lines(report)


def test_payment_type_of_another_store_fails(world: World) -> None:
    [online] = world.loyverse.payment_types.values()
    stores = online["stores"]
    online["stores"] = [world.env["LOYVERSE_STORE_ID_TOWN"]]
    try:
        report = world.report()
    finally:
        online["stores"] = stores
    assert failures(report) == [("truck", "loyverse", "payment type")]
    assert "FAIL truck loyverse payment type payment type Online is not available at this " \
           "location's store" in lines(report)


def test_bad_odoo_api_key_fails_the_credentials(world: World) -> None:
    report = world.report(ODOO_API_KEY_TOWN="wrong-key")
    assert failures(report) == [("town", "odoo", "credentials")]
    shown = lines(report)
    at = next(i for i, line in enumerate(shown)
              if line.startswith("FAIL town odoo credentials Odoo (location town) refused the "
                                 f"login '{world.odoo.login}'"))
    assert shown[at + 1].startswith("fix: check pos.odoo.login (env ODOO_LOGIN_TOWN), "
                                    "pos.odoo.api_key (env ODOO_API_KEY_TOWN) of location town")
    assert "wrong-key" not in report.table()


def test_cli_exits_1_when_the_configuration_is_incomplete(world: World, run_cli) -> None:
    result = run_cli("doctor", "--site", str(world.site),
                     env={**world.env, "LOYVERSE_STORE_ID_TRUCK": ""})
    assert result.exit_code == 1
    assert re.search(r"FAIL\s+truck\s+loyverse\s+env\s+LOYVERSE_STORE_ID_TRUCK not set",
                     result.output)


@pytest.mark.parametrize("version", [16, 19])
def test_odoo_checks_on_other_versions(version: int) -> None:
    """Odoo 19 speaks JSON-2 (no authenticate); Odoo 16 has no webhook action at all."""
    from odoo_seed import provider_for

    from hugo_pos.doctor_pos import pos_checks

    seeded = seed(version)
    relay = "https://api.example.com"
    if version >= 17:
        seeded.fake.fields["ir.actions.server"] = {"name", "state", "webhook_url",
                                                   "base_automation_id"}
        seeded.fake.fields["base.automation"] = {"name", "active"}
        rule = seeded.fake.add("base.automation", name="Orders", active=True)
        seeded.fake.add("ir.actions.server", name="Notify", state="webhook",
                        webhook_url=f"{relay}/webhooks/odoo/{TOKEN}", base_automation_id=rule)
    with serve_odoo(seeded.fake) as url:
        checks = pos_checks(provider_for(url, seeded), relay, TOKEN)
    got = {c.name: (c.status, c.detail) for c in checks}
    assert got["reachable"] == (PASS, f"Odoo {version} at {url}")
    assert got["credentials"] == (PASS, "logged in as bot@omg.tt")
    assert got["pos config"] == (PASS, "Diamond Vale truck")
    if version == 19:
        assert got["webhooks"] == (PASS, f"1 active rule(s) post to {relay}/webhooks/odoo/***")
    else:
        assert got["webhooks"][0] == "warn"
        assert got["webhooks"][1].startswith("Odoo 16 cannot send webhooks (17+)")


def test_a_variable_pos_mapping_needs_is_reported_too(world: World, tmp_path: Path) -> None:
    site = copy_site(world.site, tmp_path / "site")
    (site / "data" / "pos-mapping.yaml").write_text(
        "items:\n  ROLL-CALI:\n    loyverse: {variant_id: \"{{ env `LOYVERSE_VARIANT_CALI` }}\"}\n",
        encoding="utf-8")
    report = world.report(site=site)
    assert report.failed
    assert failures(report) == [("-", "site", "config")]
    assert "environment variable LOYVERSE_VARIANT_CALI is not set" in report.checks[-2].detail


def test_a_configuration_warning_is_a_warn_line(world: World, tmp_path: Path) -> None:
    site = copy_site(world.site, tmp_path / "site")
    path = site / "data" / "locations.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["site_origins"] = []  # the relay would refuse the site's browsers (CORS)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    report = world.report(site=site)
    [warned] = [c for c in report.checks if c.status == "warn"]
    assert (warned.location, warned.pos, warned.name) == ("-", "site", "config")
    assert warned.detail.startswith("data/locations.yaml: site_origins: is empty, so browsers")
    assert ("-", "site", "config") not in failures(report)
