"""`hugo_pos sync`, `hugo_pos diff` and `hugo_pos webhooks register` on the example site, with
Ariapita's Loyverse POS on the fake server (in-process CLI, env vars via monkeypatch)."""

from __future__ import annotations

import pytest
from fakes.loyverse import FakeLoyverse, serve
from loyverse_payloads import enable_loyverse

TOKEN = "cli-loyverse-token-0123456789"


@pytest.fixture
def fake_site(example_site, monkeypatch):
    """The example with Ariapita on an empty fake Loyverse account; yields (site, fake)."""
    fake = FakeLoyverse(token=TOKEN)
    fake.store = fake.add_store("Ariapita Avenue")
    enable_loyverse(example_site)
    with serve(fake) as api_url:
        for name, value in (("LOYVERSE_ACCESS_TOKEN_ARIAPITA", TOKEN),
                            ("LOYVERSE_STORE_ID_ARIAPITA", fake.store),
                            ("LOYVERSE_PAYMENT_TYPE_ARIAPITA", fake.add_payment_type()),
                            ("LOYVERSE_API_URL_ARIAPITA", api_url),
                            ("POS_API_URL", "https://relay.omgsushi.example")):
            monkeypatch.setenv(name, value)
        yield example_site, fake


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def test_sync_plans_applies_and_then_has_nothing_to_do(fake_site, run_cli):
    site, fake = fake_site
    plan = run_cli("sync", "--provider", "loyverse", "--site", str(site))
    assert plan.exit_code == 0, plan.output
    assert plan.output.startswith("loyverse · ariapita (plan only, run with --apply")
    assert "  create    ROLL-DRAGON  Dragon Roll" in plan.output
    assert "      price[ROLL-DRAGON-8]: - -> TTD 95.00" in plan.output
    assert fake.items == {}  # a plan writes nothing
    created = last_line(plan.output)
    assert created.endswith("to create, 0 to update, 0 unchanged")

    applied = run_cli("sync", "--provider", "loyverse", "--site", str(site), "--apply")
    assert applied.exit_code == 0, applied.output
    assert "(applied)" in applied.output and last_line(applied.output) == created
    count = int(created.split()[0])
    assert len(fake.items) == count

    again = run_cli("sync", "--provider", "loyverse", "--location", "ariapita",
                    "--site", str(site), "--apply")
    assert last_line(again.output) == f"0 to create, 0 to update, {count} unchanged"
    assert len(fake.items) == count


def test_diff_shows_price_drift_and_writes_nothing(fake_site, run_cli):
    site, fake = fake_site
    assert run_cli("sync", "--provider", "loyverse", "--site", str(site), "--apply"
                   ).exit_code == 0
    roll = next(i for i in fake.items.values() if i["item_name"] == "Dragon Roll")
    for variant in roll["variants"]:
        variant["stores"][0]["price"] += 5
    writes = len([r for r in fake.requests if r[0] == "POST"])
    result = run_cli("diff", "--site", str(site), "--location", "ariapita")
    assert result.exit_code == 0, result.output
    assert ("ariapita: content/menu/rolls/dragon-roll/index.md: Dragon Roll (8 pc) costs "
            "TTD 100.00 in loyverse but TTD 95.00 in the front matter") in result.output
    assert "Dragon Roll (4 pc) costs TTD 60.00 in loyverse but TTD 55.00" in result.output
    # the platter has no front-matter price, so the push made it VARIABLE in Loyverse
    assert "ariapita: Chef's Sashimi Platter has a variable price in loyverse" in result.output
    assert last_line(result.output) == "3 difference(s)"
    assert run_cli("diff", "--site", str(site), "--exit-code").exit_code == 1
    assert len([r for r in fake.requests if r[0] == "POST"]) == writes
    assert not (site / "data/hugo_pos").exists()


def test_webhooks_register_is_idempotent_and_hides_the_token(fake_site, run_cli, monkeypatch):
    site, fake = fake_site
    monkeypatch.setenv("HUGO_POS_WEBHOOK_TOKEN", "url-token-abcdefghijklmnopqrstuvwxyz")
    first = run_cli("webhooks", "register", "--site", str(site))
    second = run_cli("webhooks", "register", "--site", str(site), "--location", "ariapita")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert first.output.count("created") == 3 and second.output.count("exists") == 3
    assert "ariapita · loyverse: created  receipts.update" in first.output
    assert "mucurapo · local: skipped" in first.output
    assert "url-token-abc" not in first.output + second.output
    assert len(fake.webhooks) == 3


def test_sync_without_that_pos_says_how_to_enable_it(example_site, run_cli):
    result = run_cli("sync", "--provider", "loyverse", "--site", str(example_site))
    assert result.exit_code == 1
    assert "Error: no enabled loyverse at any location" in result.output


def test_sync_and_diff_without_any_pos_say_so(example_site, run_cli):
    local = run_cli("sync", "--provider", "local", "--site", str(example_site))
    assert (local.exit_code, local.output) == (1, (
        "Error: nothing to push to: the local provider has no POS, its catalog is the site's "
        "own front matter\nHint: enable a POS (e.g. loyverse) under `pos:` in "
        "data/locations.yaml\n"))
    typo = run_cli("sync", "--provider", "lovyerse", "--site", str(example_site))
    assert (typo.exit_code, typo.output) == (1, (
        "Error: no POS named 'lovyerse' at any location\nHint: did you mean 'loyverse'? "
        "enabled here: none (only the local provider)\n"))
    diff = run_cli("diff", "--site", str(example_site))
    assert diff.exit_code == 1
    assert diff.output.startswith("Error: nothing to compare: the local provider has no POS")
