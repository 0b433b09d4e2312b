"""Bad input stops the build with exact, one-line-per-problem messages, exit 1, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

OUTPUTS = ("data/hugo_pos/menu.json", "static/hugo-pos/menu.json", "static/hugo-pos/config.js")

LOYVERSE_ON = """\
currency: TTD
locations:
  - id: town
    name: Town
    whatsapp: "+1 868 555 0101"
    pos:
      loyverse:
        enabled: true
        store_id: "{{ env `LOYVERSE_STORE_ID_TOWN` }}"
        access_token: "{{ env `LOYVERSE_ACCESS_TOKEN_TOWN` }}"
        payment_type_id: "{{ env `LOYVERSE_PAYMENT_TYPE_TOWN` }}"
"""


def assert_nothing_written(site: Path) -> None:
    for rel in OUTPUTS:
        assert not (site / rel).exists(), rel


def build_with_combo(site: Path, run_cli, front_matter: str):
    """Add content/menu/rolls/combo.md with this YAML front matter and build the site."""
    (site / "content/menu/rolls/combo.md").write_text(f"---\n{front_matter}---\n")
    return run_cli("build", "--site", str(site))


def test_broken_yaml(mini_site, run_cli):
    (mini_site / "data/locations.yaml").write_text(
        "currency: TTD\nlocations:\n  - id: town\n   name: Town\n")
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: data/locations.yaml: line 4: invalid YAML: expected <block end>, but found "
        "'<block mapping start>'\nHint: check the indentation and quoting around that line\n")
    assert_nothing_written(mini_site)


def test_unknown_location_in_front_matter(mini_site, run_cli):
    item = mini_site / "content/menu/drinks/rum-punch.md"
    item.write_text(item.read_text().replace('["town"]', '["twon"]'))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: content/menu/drinks/rum-punch.md: locations[0]: unknown location 'twon' "
        "(known: town, truck; see data/locations.yaml)")
    assert_nothing_written(mini_site)


def test_missing_env_var_of_an_enabled_provider(mini_site, run_cli, monkeypatch):
    for name in ("LOYVERSE_STORE_ID_TOWN", "LOYVERSE_ACCESS_TOKEN_TOWN",
                 "LOYVERSE_PAYMENT_TYPE_TOWN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOYVERSE_STORE_ID_TOWN", "store-1")
    (mini_site / "data/locations.yaml").write_text(LOYVERSE_ON)
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: data/locations.yaml: locations[0].pos.loyverse.access_token: environment "
        "variable LOYVERSE_ACCESS_TOKEN_TOWN is not set\n"
        "data/locations.yaml: locations[0].pos.loyverse.payment_type_id: environment variable "
        "LOYVERSE_PAYMENT_TYPE_TOWN is not set\n"
        "Hint: set LOYVERSE_ACCESS_TOKEN_TOWN, LOYVERSE_PAYMENT_TYPE_TOWN in the environment or "
        "the site's .env file (see env.example), or set `enabled: false` on that POS\n")
    assert_nothing_written(mini_site)


def test_missing_env_var_of_a_disabled_provider_is_fine(mini_site, run_cli, monkeypatch):
    monkeypatch.delenv("LOYVERSE_ACCESS_TOKEN_TOWN", raising=False)
    (mini_site / "data/locations.yaml").write_text(
        LOYVERSE_ON.replace("enabled: true", "enabled: false"))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0, result.stderr
    assert (mini_site / "static/hugo-pos/menu.json").exists()


def test_wrong_types_are_all_reported_at_once(mini_site, run_cli):
    path = mini_site / "data/locations.yaml"
    path.write_text(path.read_text().replace("name: Town", "name: [Town]")
                    .replace("kind: food-truck", "kind: truck"))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: data/locations.yaml: locations[0].name: expected a string but received a list\n"
        "data/locations.yaml: locations[1].kind: expected one of restaurant, food-truck, got "
        "'truck'\n"
        "Hint: fix the values above in data/locations.yaml; the README's configuration "
        "reference lists every key\n")
    assert_nothing_written(mini_site)


@pytest.mark.parametrize(("text", "message"), [
    ("---\ntitle: X\nprice: [1\n---\n",
     "content/menu/drinks/bad.md: line 4: invalid front matter: did not find expected ',' or "
     "']'"),
    ('+++\ntitle = "X"\nprice = \n+++\n',
     "content/menu/drinks/bad.md: line 3: invalid front matter: Invalid value (at line 3, "
     "column 9)"),
    ("---\ntitle: X\nprice: 1.005\n---\n",
     "content/menu/drinks/bad.md: price: 1.005 has more than 2 decimals, which TTD cannot "
     "represent"),
    ('{\n  "title": "X",\n  "price": 1\n  "sku": "X"\n}\nSome text.\n',
     "content/menu/drinks/bad.md: line 4: invalid front matter: Expecting ',' delimiter"),
])
def test_broken_front_matter_names_file_and_line(mini_site, run_cli, text, message):
    (mini_site / "content/menu/drinks/bad.md").write_text(text)
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"Error: {message}"
    assert_nothing_written(mini_site)


def test_duplicate_sku(mini_site, run_cli):
    (mini_site / "content/menu/drinks/copy.md").write_text("---\ntitle: Copy\nsku: ROLL-CALI\n"
                                                           "price: 1\n---\n")
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: content/menu/rolls/california.md: sku: 'ROLL-CALI' is also used by "
        "content/menu/drinks/copy.md; SKUs must be unique")


def test_strict_turns_warnings_into_exit_1(mini_site, run_cli, monkeypatch):
    monkeypatch.delenv("POS_API_URL", raising=False)
    result = run_cli("build", "--site", str(mini_site), "--strict")
    assert result.exit_code == 1
    assert "WARNING: data/locations.yaml: relay_url: environment variable POS_API_URL is not " \
           "set; using \"\"" in result.stderr
    assert "Error: 1 warning(s) with --strict; nothing was written" in result.stderr
    assert_nothing_written(mini_site)
    quiet = run_cli("build", "--site", str(mini_site), "--strict", "-q")
    assert quiet.exit_code == 1
    assert quiet.stderr.splitlines() == [
        "Error: 1 warning(s) with --strict; nothing was written: data/locations.yaml: relay_url: "
        "environment variable POS_API_URL is not set; using \"\"",
        "Hint: fix them, or build without --strict"]


def test_minor_units_teach_an_unknown_currency_and_cannot_contradict_a_known_one(mini_site,
                                                                                 run_cli):
    path = mini_site / "data/locations.yaml"
    text = path.read_text()
    path.write_text(text.replace("currency: TTD", "currency: XTT\nminor_units: 3"))
    assert run_cli("build", "--site", str(mini_site)).exit_code == 0
    path.write_text(text.replace("currency: TTD", "currency: TTD\nminor_units: 0"))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: data/locations.yaml: minor_units: TTD has 2 decimals, not 0; remove minor_units")


def test_the_console_script_keeps_exit_code_and_output(mini_site):
    """``main()`` ends the process without the interpreter's teardown (os._exit): the exit code
    and every line written before it must survive, through pipes."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "hugo_pos", "build", "--site", str(mini_site)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("hugo_pos build: 2 location(s)")
    assert ok.stdout.rstrip().splitlines()[-1].startswith("  written: ")

    menu = (mini_site / OUTPUTS[0]).read_bytes()
    (mini_site / "data/locations.yaml").write_text("currency: TTD\nlocations: [")
    bad = subprocess.run([sys.executable, "-m", "hugo_pos", "build", "--site", str(mini_site)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: data/locations.yaml: line ")
    assert bad.stderr.rstrip().splitlines()[-1].startswith("Hint: ")
    assert (mini_site / OUTPUTS[0]).read_bytes() == menu


def test_only_the_console_script_builds_without_the_cyclic_gc(mini_site, run_cli, monkeypatch):
    """The console script (``main()``, whose process ends with the command) leaves the cyclic
    GC off after a build, sparing a pass over the build's objects; in-process callers (click's
    runner, tests, the demo) get it back on."""
    import gc
    import os
    import sys

    from hugo_pos import cli

    assert gc.isenabled()
    assert run_cli("build", "--site", str(mini_site), "-q").exit_code == 0
    assert gc.isenabled()

    def ended(code):
        raise SystemExit(code)

    monkeypatch.setattr(cli, "_ONE_SHOT", False)  # restored after the test
    monkeypatch.setattr(os, "_exit", ended)
    monkeypatch.setattr(sys, "argv", ["hugo_pos", "build", "--site", str(mini_site), "-q"])
    try:
        with pytest.raises(SystemExit) as done:
            cli.main()
        assert done.value.code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_unset_env_var_outside_an_enabled_provider_is_a_warning(mini_site, run_cli,
                                                                    monkeypatch):
    # DESIGN §4: a missing env var outside an enabled provider is a warning (the key keeps its
    # default); one of a required key or of an enabled POS stays an error.
    for name in ("TRUCK_TZ", "TRUCK_VARIANT", "TOWN_WHATSAPP", "POS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    path = mini_site / "data/locations.yaml"
    text = path.read_text().replace('kind: food-truck', 'kind: food-truck\n'
                                    '    timezone: "{{ env `TRUCK_TZ` }}"')
    path.write_text(text)
    (mini_site / "data/pos-mapping.yaml").write_text(
        'items:\n  ROLL-CALI: {loyverse: {variant_id: "{{ env `TRUCK_VARIANT` }}"}}\n')
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0, result.stderr
    assert ("WARNING: data/locations.yaml: locations[1].timezone: environment variable TRUCK_TZ "
            "is not set; using 'UTC'") in result.stderr
    assert ("WARNING: data/pos-mapping.yaml: items.ROLL-CALI.loyverse.variant_id: environment "
            "variable TRUCK_VARIANT is not set; using \"\"") in result.stderr
    path.write_text(text.replace('"+1 868 555 0101"', '"{{ env `TOWN_WHATSAPP` }}"'))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: data/locations.yaml: locations[0].whatsapp: environment variable TOWN_WHATSAPP "
        "is not set",
        "Hint: set TOWN_WHATSAPP in the environment or the site's .env file (see env.example)"]


def test_a_bad_pos_mapping_is_named_in_the_hint(mini_site, run_cli):
    (mini_site / "data/pos-mapping.yaml").write_text("items:\n  ROLL-CALI: 42\n")
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Hint: fix the values above in data/pos-mapping.yaml; the README's configuration "
        "reference lists every key")


def test_names_that_would_share_a_menu_id_are_refused(mini_site, run_cli):
    # DESIGN §4: variant and option ids are unique within a location's menu; ids made from
    # names must not collide inside an item.
    result = build_with_combo(mini_site, run_cli, (
        "title: Combo\nsku: COMBO\nprice: 10\nvariants:\n  - {name: 8 pc}\n"
        "  - {name: 8-pc}\n  - {name: Big, sku: COMBO-BIG}\n  - {name: Huge, sku: COMBO-BIG}\n"
        "modifiers:\n  - name: Sauce\n    options: [Extra hot, extra-hot]\n"
        "  - name: sauce!\n    options: [Mayo]\n"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:-1] == [
        "Error: content/menu/rolls/combo.md: variants[1]: the variant '8-pc' gets the same id "
        "as variants[0] ('8 pc'); give it its own name or sku",
        "content/menu/rolls/combo.md: variants[3]: the variant 'Huge' gets the same id as "
        "variants[2] ('Big'); give it its own name or sku",
        "content/menu/rolls/combo.md: modifiers[0].options[1]: the option 'extra-hot' gets the "
        "same id as modifiers[0].options[0] ('Extra hot'); give it its own name",
        "content/menu/rolls/combo.md: modifiers[1]: the modifier group 'sauce!' gets the same "
        "id as modifiers[0] ('Sauce'); give it its own name"]
    assert_nothing_written(mini_site)


def test_a_colliding_name_is_named_by_its_place_in_the_file(mini_site, run_cli):
    result = build_with_combo(mini_site, run_cli, (
        "title: Combo\nsku: COMBO\nprice: 10\nvariants:\n  - {sku: NO-NAME}\n"
        "  - {name: 8 pc}\n  - {name: 8-pc}\n"))
    assert result.exit_code == 1
    assert "content/menu/rolls/combo.md: variants[2]: the variant '8-pc' gets the same id as " \
        "variants[1] ('8 pc'); give it its own name or sku" in result.stderr



def test_a_misspelt_key_is_a_warning_that_names_it(mini_site, run_cli):
    # A typo would otherwise change a price without a word: the variant would take the item's
    # price, the option would be free.
    result = build_with_combo(mini_site, run_cli, (
        "title: Combo\nsku: COMBO\nprice: 10\nprices: 12\nvariants:\n"
        "  - {name: Double, sku: COMBO-2, prize: 15.75}\n"
        "modifers: []\nmodifiers:\n  - name: Sauce\n    mx: 1\n"
        "    options: [{name: Bacon, prce: 2}]\nimages: [combo.jpg]\ncategories: [rolls]\n"))
    assert result.exit_code == 0, result.stderr
    combo = [line for line in result.stderr.splitlines() if "combo.md" in line]
    assert combo == [
        "WARNING: content/menu/rolls/combo.md: prices: not a key hugo_pos reads (did you mean "
        "'price'?); the item is built without it",
        "WARNING: content/menu/rolls/combo.md: modifers: not a key hugo_pos reads (did you mean "
        "'modifiers'?); the item is built without it",
        "WARNING: content/menu/rolls/combo.md: variants[0].prize: not a key hugo_pos reads (did "
        "you mean 'price'?); it reads name, sku, price",
        "WARNING: content/menu/rolls/combo.md: modifiers[0].mx: not a key hugo_pos reads (did "
        "you mean 'max'?); it reads name, min, max, options",
        "WARNING: content/menu/rolls/combo.md: modifiers[0].options[0].prce: not a key hugo_pos "
        "reads (did you mean 'price'?); it reads name, price"]
    again = run_cli("build", "--site", str(mini_site), "--strict")  # from the cache this time
    assert again.exit_code == 1
    assert sum("combo.md" in line for line in again.stderr.splitlines()) == 5


def test_a_relay_without_site_origins_is_a_warning(mini_site, run_cli, monkeypatch):
    # The relay answers CORS only for site_origins: with none, the browser may not post.
    monkeypatch.setenv("POS_API_URL", "https://relay.example.com")
    monkeypatch.delenv("HUGO_POS_CORS_ORIGINS", raising=False)
    path = mini_site / "data/locations.yaml"
    assert run_cli("build", "--site", str(mini_site), "--strict").exit_code == 0
    path.write_text(path.read_text().replace("site_origins: [https://mini.example.com]\n", ""))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0
    assert ("WARNING: data/locations.yaml: site_origins: is empty, so browsers on the site may "
            "not send orders to the relay at https://relay.example.com (CORS) and every order "
            "goes by WhatsApp only; list the site's origin, e.g. [https://menu.example.com], "
            "unless the relay is on the site's own origin") in result.stderr.splitlines()
    monkeypatch.setenv("HUGO_POS_CORS_ORIGINS", "https://mini.example.com")
    assert run_cli("build", "--site", str(mini_site), "--strict").exit_code == 0
    monkeypatch.delenv("POS_API_URL")  # WhatsApp only: nothing to allow
    monkeypatch.delenv("HUGO_POS_CORS_ORIGINS")
    assert "site_origins" not in run_cli("build", "--site", str(mini_site)).stderr


def test_a_missing_locations_file_says_where_it_looked_and_why(mini_site, tmp_path, run_cli):
    (mini_site / "hugo.toml").write_text('title = "Mini"\n')
    (mini_site / "data/locations.yaml").unlink()
    cases = {mini_site: f"Error: data/locations.yaml: not found in the Hugo site {mini_site}\n"
                        "Hint: run `hugo_pos init` there to create it\n",
             mini_site / "content": f"Error: {mini_site / 'content'} is not a Hugo site (no "
                                    "hugo.toml, config.toml...)\nHint: run hugo_pos in your "
                                    "Hugo site's folder, or pass --site DIR\n",
             tmp_path / "nowhere": f"Error: {tmp_path / 'nowhere'}: no such folder\n"
                                   "Hint: pass your Hugo site's folder with --site DIR\n"}
    for site, expected in cases.items():
        result = run_cli("build", "--site", str(site))
        assert (result.exit_code, result.stderr) == (1, expected)


def test_a_misspelt_key_in_locations_yaml_is_named_with_the_one_meant(mini_site, run_cli):
    path = mini_site / "data/locations.yaml"
    text = path.read_text()
    path.write_text(text.replace("currency: TTD", "curency: TTD"))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: data/locations.yaml: currency: required but missing (is 'curency' meant to be "
        "'currency'?)")
    path.write_text(text.replace("    kind: restaurant", "    kind: restaurant\n"
                                 "    fulfillment: [pickup]", 1))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0
    assert ("WARNING: data/locations.yaml: locations[0].fulfillment: unknown key (did you mean "
            "'fulfilment'?) (known: id, name, kind, whatsapp, timezone, hours, catalog, pos, "
            "fulfilment)") in result.stderr.splitlines()


@pytest.mark.parametrize(("number", "error"), [
    ("(868) 555-0100 ext 2", True),  # the 2 would join the number in the wa.me link
    ("868 555", True),
    ("1 868 555 0100", False),       # a warning: no leading +
])
def test_a_whatsapp_number_must_be_one_number_with_its_country_code(mini_site, run_cli, number,
                                                                   error):
    path = mini_site / "data/locations.yaml"
    path.write_text(path.read_text().replace('"+1 868 555 0101"', f'"{number}"', 1))
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == (1 if error else 0)
    if error:
        assert result.stderr.splitlines()[0] == (
            f"Error: data/locations.yaml: locations[0].whatsapp: '{number}' is not a phone "
            "number; write only the number, with the country code, e.g. \"+1 868 555 0101\"")
    else:
        assert (f"WARNING: data/locations.yaml: locations[0].whatsapp: '{number}' has no "
                "leading +: WhatsApp links need the country code first; write it as e.g. "
                "\"+1 868 555 0101\"") in result.stderr.splitlines()
