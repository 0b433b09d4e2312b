"""`hugo_pos init` scaffolds an existing Hugo site and never overwrites a file."""

from __future__ import annotations

import subprocess

import pytest
from site_support import hugo_bin


def test_init_scaffolds_then_builds_with_the_real_hugo(tmp_path, run_cli):
    site = tmp_path / "site"
    (site / "layouts").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "https://x.example/"\ntitle = "Chez Nous"\n'
                                    'theme = "ananke"\n')
    (site / ".gitignore").write_text("public/\n")
    (site / "layouts" / "index.html").write_text(
        '{{ $m := partial "hugo-pos/data.html" . }}<p>{{ len $m.locations }} location</p>')
    result = run_cli("init", "--site", str(site))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "created  data/locations.yaml", "created  data/pos-mapping.yaml", "created  env.example",
        "updated  hugo.toml: theme list starts with hugo-pos",
        "updated  .gitignore: +7 line(s)"]
    assert 'theme = ["hugo-pos", "ananke"]' in (site / "hugo.toml").read_text()
    assert "name: Chez Nous" in (site / "data/locations.yaml").read_text()
    assert "themes/hugo-pos/" in (site / ".gitignore").read_text()

    (site / "data/locations.yaml").write_text("# mine\n" + (site / "data/locations.yaml")
                                              .read_text())
    again = run_cli("init", "--site", str(site))
    assert "kept     data/locations.yaml (already exists)" in again.output
    assert (site / "data/locations.yaml").read_text().startswith("# mine\n")
    assert (site / "hugo.toml").read_text().count("hugo-pos") == 1

    (site / "content/menu/tea.md").write_text("---\ntitle: Tea\nprice: 3\n---\n")
    (site / "hugo.toml").write_text((site / "hugo.toml").read_text()
                                    .replace('"hugo-pos", "ananke"', '"hugo-pos"'))
    assert run_cli("build", "--site", str(site)).exit_code == 0
    hugo = subprocess.run([hugo_bin(), "--source", str(site), "--quiet"], capture_output=True,
                          text=True)
    assert hugo.returncode == 0, hugo.stderr
    assert "<p>1 location</p>" in (site / "public/index.html").read_text()


def test_init_refuses_a_folder_that_is_not_a_hugo_site(tmp_path, run_cli):
    result = run_cli("init", "--site", str(tmp_path))
    assert result.exit_code == 1
    assert "no Hugo site configuration (hugo.toml, config.toml...)" in result.stderr


@pytest.mark.parametrize(("name", "before", "after"), [
    ("hugo.toml", 'title = "X"\ntheme = [\n  "ananke",  # the look\n  "extras",\n]\n[params]\n'
     'theme = "dark"\n', 'title = "X"\ntheme = ["hugo-pos", "ananke", "extras"]\n[params]\n'
     'theme = "dark"\n'),
    ("hugo.toml", '# built on hugo-pos? not yet\ntitle = "X"\n',
     'theme = ["hugo-pos"]\n# built on hugo-pos? not yet\ntitle = "X"\n'),
    ("hugo.yaml", "title: X\ntheme:\n  - ananke\n  - extras\n\nparams:\n  a: 1\n",
     'title: X\ntheme: ["hugo-pos", "ananke", "extras"]\n\nparams:\n  a: 1\n'),
    ("config.yml", "theme:\n- ananke\nparams: {}\n", 'theme: ["hugo-pos", "ananke"]\nparams: {}\n'),
    ("hugo.json", '{"title": "X", "theme": "ananke"}',
     '{\n  "theme": [\n    "hugo-pos",\n    "ananke"\n  ],\n  "title": "X"\n}\n'),
    ("config/_default/hugo.toml", 'theme = "ananke"\n', 'theme = ["hugo-pos", "ananke"]\n'),
])
def test_init_puts_hugo_pos_first_in_any_theme_list(tmp_path, run_cli, name, before, after):
    config = tmp_path / name
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(before)
    result = run_cli("init", "--site", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"updated  {name}: theme list starts with hugo-pos" in result.output
    assert config.read_text() == after
    assert f"kept     {name} (already lists hugo-pos)" in \
        run_cli("init", "--site", str(tmp_path)).output


def test_init_leaves_a_config_it_cannot_read_alone(tmp_path, run_cli):
    (tmp_path / "hugo.toml").write_text("theme = [\n")
    result = run_cli("init", "--site", str(tmp_path))
    assert "skipped  hugo.toml: put \"hugo-pos\" first in its theme list by hand (it does not " \
        "parse)" in result.output
    assert (tmp_path / "hugo.toml").read_text() == "theme = [\n"
