"""No secret ever reaches a generated file or a log line, even with a real POS provider on."""

from __future__ import annotations

import re

import pytest
from fakes.loyverse import FakeLoyverse, serve
from site_support import EXAMPLE

ENV_REF = re.compile(r"\{\{\s*env\s+`([A-Z0-9_]+)`\s*\}\}")


@pytest.fixture
def secret_env(example_site, monkeypatch):
    """Every env var the example's locations.yaml names, set to a recognisable value."""
    names = set(ENV_REF.findall((EXAMPLE / "data/locations.yaml").read_text()))
    names |= {"LOYVERSE_WEBHOOK_SECRET", "HUGO_POS_WEBHOOK_TOKEN", "HUGO_POS_BOARD_TOKEN",
              "HUGO_POS_DATABASE_URL"}
    values = {name: f"SECRET-{name.lower().replace('_', '-')}" for name in names}
    values["POS_API_URL"] = "https://pos.omgsushi.example"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def enable_loyverse_at_ariapita(site, api_url):
    path = site / "data/locations.yaml"
    text = path.read_text()
    start = text.index("      loyverse:")
    block = text[start:text.index("      odoo:", start)]
    enabled = block.replace("enabled: false", "enabled: true") + f"        api_url: {api_url}\n"
    path.write_text(text.replace(block, enabled, 1))


def generated_text(site) -> dict[str, str]:
    roots = [site / "data/hugo_pos", site / "static/hugo-pos", site / ".hugo_pos"]
    return {str(p): p.read_text(errors="replace") for root in roots for p in root.rglob("*")
            if p.is_file()}


def test_secrets_stay_out_of_outputs_and_logs(example_site, secret_env, run_cli, monkeypatch):
    fake = FakeLoyverse(token=secret_env["LOYVERSE_ACCESS_TOKEN_ARIAPITA"])
    store = fake.add_store("Ariapita")
    payment = fake.add_payment_type()
    fake.add_item("Salmon nigiri", sku="NIGIRI-SALMON", price="28.00")
    monkeypatch.setenv("LOYVERSE_STORE_ID_ARIAPITA", store)
    monkeypatch.setenv("LOYVERSE_PAYMENT_TYPE_ARIAPITA", payment)
    with serve(fake) as api_url:
        enable_loyverse_at_ariapita(example_site, api_url)
        result = run_cli("build", "--site", str(example_site), "-vv")
    assert result.exit_code == 0, result.stderr
    assert fake.request_count > 0                     # the token really was used
    outputs = generated_text(example_site)
    assert outputs
    secrets = [v for k, v in secret_env.items() if k != "POS_API_URL"]
    for value in secrets:
        assert value not in result.output, value
        for path, text in outputs.items():
            assert value not in text, (value, path)


def test_a_rejected_token_is_named_by_its_env_var_never_shown(example_site, secret_env,
                                                              run_cli, monkeypatch):
    fake = FakeLoyverse(token="the-right-token")
    monkeypatch.setenv("LOYVERSE_STORE_ID_ARIAPITA", fake.add_store("Ariapita"))
    with serve(fake) as api_url:
        enable_loyverse_at_ariapita(example_site, api_url)
        result = run_cli("build", "--site", str(example_site))
    assert result.exit_code == 1
    assert "LOYVERSE_ACCESS_TOKEN_ARIAPITA" in result.stderr
    assert secret_env["LOYVERSE_ACCESS_TOKEN_ARIAPITA"] not in result.output
    assert not (example_site / "static/hugo-pos/menu.json").exists()
