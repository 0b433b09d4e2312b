"""The wheel carries the Hugo module, so a pip-installed hugo_pos can give a site the widget."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from site_support import REPO


def test_wheel_carries_the_hugo_module_and_templates(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info beside setup.py.
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "examples",
        "tests", "bench", "node_modules", ".hugo_pos"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("hugo_pos-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hugo_pos/templates/locations.yaml.j2" in names  # `hugo_pos init`
    assert "hugo_pos/module/layouts/_partials/hugo-pos/money.html" in names
    assert not [n for n in names if n.endswith(("menu.json", "config.js"))]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "hugo_pos = hugo_pos.cli:main" in text
    assert "[hugo_pos.providers]" in text and "local = hugo_pos.providers.local:LocalProvider" \
        in text
