"""`hugo_pos build` on a small real site: outputs, determinism, cache, secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hugo_pos.build import build
from hugo_pos.catalog import LocationMenu, Menu, MenuCategory, MenuItem, MenuVariant

OUTPUTS = ("data/hugo_pos/menu.json", "static/hugo-pos/menu.json", "static/hugo-pos/config.js")


def read_menu(site: Path) -> dict:
    return json.loads((site / "static/hugo-pos/menu.json").read_text())


def test_build_writes_the_menu_of_each_location(mini_site, run_cli):
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0, result.stderr
    menu = read_menu(mini_site)
    assert (mini_site / "data/hugo_pos/menu.json").read_bytes() == \
        (mini_site / "static/hugo-pos/menu.json").read_bytes()
    assert menu["currency"] == "TTD" and menu["minor_units"] == 2
    town, truck = menu["locations"]["town"], menu["locations"]["truck"]
    assert [c["name"] for c in town["categories"]] == ["Rolls", "Drinks"]
    assert town["categories"][1]["items"] == ["BAR-RUM-PUNCH", "menu/drinks/sorrel"]
    assert "BAR-RUM-PUNCH" not in truck["items"]          # sold only in town
    assert "SECRET" not in town["items"]                   # draft
    dragon = town["items"]["ROLL-DRAGON"]
    assert [(v["id"], v["price"], v["available"]) for v in dragon["variants"]] == [
        ("ROLL-DRAGON-4", 5500, True), ("ROLL-DRAGON-8", 9500, True)]
    extras = dragon["modifier_groups"][0]
    assert (extras["id"], extras["min"], extras["max"]) == ("ROLL-DRAGON~extras", 0, 2)
    assert [(o["id"], o["price"]) for o in extras["options"]] == [
        ("ROLL-DRAGON~extras~spicy-mayo", 400), ("ROLL-DRAGON~extras~tobiko", 1050)]
    assert town["items"]["ROLL-CALI"]["variants"][0]["price"] == 4850   # TOML float 48.5
    assert town["items"]["menu/drinks/sorrel"]["variants"][0]["id"] == "menu/drinks/sorrel"
    assert town["hours"] == {"mon": ["11:00-22:00"], "fri": ["18:00-02:00"]}
    assert truck["ordering"] == {"online": False, "fulfilment": ["pickup"],
                                 "whatsapp_url": "https://wa.me/18685550102"}
    assert Menu.from_json(menu).to_json() == menu           # the relay reads back what we wrote
    assert (mini_site / "themes/hugo-pos/layouts").is_dir()  # the module, copied for Hugo
    assert "town" in result.stdout and "written:" in result.stdout


def test_config_js_holds_public_settings_only(mini_site, run_cli):
    run_cli("build", "--site", str(mini_site), env={"POS_API_URL": "https://pos.example.com/"})
    text = (mini_site / "static/hugo-pos/config.js").read_text()
    config = json.loads(re.search(r"window.HUGO_POS_CONFIG = (.*);\n$", text).group(1))
    assert config["relayUrl"] == "https://pos.example.com"
    assert config["menuVersion"] == read_menu(mini_site)["version"]
    assert [loc["id"] for loc in config["locations"]] == ["town", "truck"]
    assert set(config["locations"][0]) == {"id", "name", "kind", "whatsapp", "timezone",
                                           "fulfilment", "hours"}



def test_config_js_text_cannot_close_the_script_element():
    from hugo_pos.write import script_json

    text = script_json({"closed": "</script><script>alert('x')</script> & more"})
    assert "<" not in text and ">" not in text and "'" not in text and "&" not in text
    assert json.loads(text) == {"closed": "</script><script>alert('x')</script> & more"}

def test_two_builds_are_byte_identical_and_a_price_changes_the_version(mini_site, tmp_path):
    build(mini_site)
    first = {rel: (mini_site / rel).read_bytes() for rel in OUTPUTS}
    again = build(mini_site)
    assert again.written == []
    assert {rel: (mini_site / rel).read_bytes() for rel in OUTPUTS} == first
    item = mini_site / "content/menu/rolls/california.md"
    item.write_text(item.read_text().replace("48.5", "49"))
    changed = build(mini_site)
    assert changed.menu.version != json.loads(first["static/hugo-pos/menu.json"])["version"]
    assert changed.menu.locations["town"].items["ROLL-CALI"].variants[0].price == 4900


def test_secrets_never_reach_outputs_or_logs(mini_site, run_cli):
    secrets = {
        "LOYVERSE_ACCESS_TOKEN_TRUCK": "SECRET-loyverse-token-7f3a",
        "LOYVERSE_STORE_ID_TRUCK": "SECRET-store-id-77",
        "LOYVERSE_WEBHOOK_SECRET": "SECRET-webhook-9c1d",
        "HUGO_POS_WEBHOOK_TOKEN": "SECRET-url-token-2b8e",
        "HUGO_POS_BOARD_TOKEN": "SECRET-board-5d6f",
    }
    result = run_cli("build", "--site", str(mini_site), "-vv", env=secrets)
    assert result.exit_code == 0, result.stderr
    written = [p for p in mini_site.rglob("*") if p.is_file() and "content" not in p.parts
               and p.name != "locations.yaml"]
    for value in secrets.values():
        assert value not in result.output
        for path in written:
            assert value not in path.read_text(errors="replace"), path


def test_dotenv_supplies_env_vars_without_overriding_the_environment(mini_site, monkeypatch):
    monkeypatch.setenv("POS_API_URL", "https://from-env.example.com")
    (mini_site / ".env").write_text("# local secrets\nPOS_API_URL='https://from-dotenv.example'\n")
    assert build(mini_site).config.relay_url == "https://from-env.example.com"
    monkeypatch.delenv("POS_API_URL")
    assert build(mini_site).config.relay_url == "https://from-dotenv.example"


def test_a_leaf_bundle_image_becomes_a_site_url(mini_site):
    index = mini_site / "content/menu/drinks/sorrel/index.md"
    index.write_text(index.read_text().replace("price: 20", "price: 20\nimage: sorrel.jpg"))
    menu = build(mini_site).menu
    assert menu.locations["town"].items["menu/drinks/sorrel"].image == \
        "/menu/drinks/sorrel/sorrel.jpg"


def test_the_module_copy_is_refreshed_only_when_it_differs(mini_site, run_cli):
    """themes/hugo-pos is kept when every file matches the module, replaced when one differs."""
    run_cli("build", "--site", str(mini_site))
    theme = mini_site / "themes/hugo-pos"
    script = theme / "static/hugo-pos/checkout.js"
    original = script.read_bytes()
    marker = theme / "layouts/stray.html"  # not in the module: only a refresh removes it
    marker.write_text("stray")
    run_cli("build", "--site", str(mini_site))
    assert not marker.exists()
    kept = theme.stat().st_ino
    run_cli("build", "--site", str(mini_site))
    assert theme.stat().st_ino == kept  # nothing differed: the copy stayed
    script.write_text("// edited by hand")
    run_cli("build", "--site", str(mini_site))
    assert script.read_bytes() == original
    assert theme.stat().st_ino != kept


def test_a_module_copy_from_another_hugo_pos_version_is_refreshed(mini_site, run_cli):
    """Packaging that gives every file one modification time (Nix) leaves size and time alike
    after an upgrade that edits a file: the version in the copy's README still tells."""
    import os

    from hugo_pos import __version__

    run_cli("build", "--site", str(mini_site))
    theme = mini_site / "themes/hugo-pos"
    script = theme / "static/hugo-pos/checkout.js"
    original, times = script.read_bytes(), script.stat()
    edited = original.replace(b"hugo-pos checkout", b"HUGO-POS checkout", 1)  # same size
    assert edited != original and len(edited) == len(original)
    script.write_bytes(edited)
    os.utime(script, ns=(times.st_atime_ns, times.st_mtime_ns))
    readme = theme / "README.md"
    older = "9" * len(__version__)  # another version, the same size
    readme.write_text(readme.read_text().replace(f"hugo-pos {__version__} ", f"hugo-pos {older} "))
    run_cli("build", "--site", str(mini_site))
    assert script.read_bytes() == original


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"])), st.integers(-2**63, 2**63 - 1))
def test_menu_json_text_is_what_the_standard_json_module_writes(text, amount):
    # menu.json is written by orjson for speed; its bytes (and so the menu version) are those
    # of json.dumps with the compact separators and UTF-8, escapes and all.
    item = MenuItem(key=text, name=text, description=f'"{text}"\\\n\x00\x1f\x7f\u2028',
                    image="", category=text, variants=(
                        MenuVariant(id=text, name="😀", price=amount, available=True,
                                    pos={"loyverse": {text: None, "n": 1.5}}),))
    location = LocationMenu(id="x", name=text, kind="restaurant", whatsapp="", timezone="UTC",
                            hours={"mon": ("11:00-15:00",)}, ordering={"online": False},
                            categories=(MenuCategory("c", text, (text,)),), items={text: item})
    menu = Menu(version="", currency="TTD", minor_units=2, locations={"x": location})
    assert menu.json_text == json.dumps(menu.to_json(), separators=(",", ":"),
                                        ensure_ascii=False) + "\n"


def test_json_front_matter_on_one_line_or_several(mini_site, run_cli):
    # Hugo reads the JSON object that opens the file, however it is laid out.
    drinks = mini_site / "content/menu/drinks"
    (drinks / "cola.md").write_text('{"title": "Cola", "sku": "COLA", "price": 2}\nIce cold.\n')
    (drinks / "tea.md").write_text('{\n  "title": "Tea",\n  "sku": "TEA",\n  "price": "3.50"\n}'
                                   '\nHot, with a {brace} in the text.\n')
    result = run_cli("build", "--site", str(mini_site))
    assert result.exit_code == 0, result.stderr
    items = read_menu(mini_site)["locations"]["town"]["items"]
    assert (items["COLA"]["name"], items["COLA"]["variants"][0]["price"]) == ("Cola", 200)
    assert (items["TEA"]["name"], items["TEA"]["variants"][0]["price"]) == ("Tea", 350)
