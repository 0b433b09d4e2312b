"""The front matter cache: a rebuild parses only the content files that changed."""

from __future__ import annotations

import json
import os

import pytest

import hugo_pos.site as site_module
from hugo_pos.config import load_config
from hugo_pos.site import CACHE_FILE, read_site


@pytest.fixture
def parsed(monkeypatch):
    """The relative paths whose front matter was parsed (not taken from the cache)."""
    seen: list[str] = []
    parse = site_module._front_matter

    def spy(rel, text, problems):
        seen.append(rel)
        return parse(rel, text, problems)

    monkeypatch.setattr(site_module, "_front_matter", spy)
    return seen


def read(site):
    return {i.key: i for i in read_site(load_config(site, {}), cache=True)}


def test_a_rebuild_parses_only_the_files_that_changed(mini_site, parsed):
    first = read(mini_site)
    assert len(parsed) == 7 and (mini_site / CACHE_FILE).is_file()
    parsed.clear()
    assert read(mini_site) == first
    assert parsed == []

    cali = mini_site / "content/menu/rolls/california.md"
    stat = cali.stat()
    cali.write_text(cali.read_text().replace("48.5", "48.0"))  # same size...
    os.utime(cali, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # ...and the same mtime
    assert read(mini_site)["ROLL-CALI"].variants[0].price == 4800
    assert parsed == ["content/menu/rolls/california.md"]


def test_a_value_json_cannot_hold_exactly_is_parsed_every_time(mini_site, parsed):
    dragon = mini_site / "content/menu/rolls/dragon.md"
    dragon.write_text("---\ntitle: Dragon Roll\nsku: 2024-01-01\nprice: 95\n---\n")
    assert "2024-01-01" in read(mini_site)  # a YAML date, as str() gives it
    parsed.clear()
    assert "2024-01-01" in read(mini_site)
    assert parsed == ["content/menu/rolls/dragon.md"]


def test_a_corrupt_cache_is_an_empty_cache_and_no_cache_writes_nothing(mini_site, parsed):
    (mini_site / CACHE_FILE).parent.mkdir(parents=True)
    (mini_site / CACHE_FILE).write_text("[not a cache")
    first = read(mini_site)
    assert len(parsed) == 7
    (mini_site / CACHE_FILE).unlink()
    assert {i.key: i for i in read_site(load_config(mini_site, {}))} == first
    assert not (mini_site / CACHE_FILE).exists()


def test_a_cache_of_another_hugo_pos_version_is_not_used(mini_site, parsed, monkeypatch):
    read(mini_site)
    monkeypatch.setattr(site_module, "_CACHE_TAG", "0.0.0-other/2")
    parsed.clear()
    read(mini_site)
    assert len(parsed) == 7


def test_a_cache_that_kept_fewer_keys_is_not_used(mini_site, parsed):
    # Written by this version before the cache kept the keys that look like typos of ours:
    # used, it would hide their warnings on every rebuild of an unchanged file.
    read(mini_site)
    path = mini_site / CACHE_FILE
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "hugo_pos": site_module.__version__}))
    parsed.clear()
    read(mini_site)
    assert len(parsed) == 7
