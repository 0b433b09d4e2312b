"""The Hugo module (layouts/, static/, data/, i18n/) that gives a site the checkout widget.

A pip-installed hugo_pos carries it as ``hugo_pos/module/``; a source checkout has it at the
repository root. ``install_module`` copies it to ``<site>/themes/hugo-pos/`` (git-ignored and
refreshed every build), so a site lists ``theme = ["hugo-pos", "<its theme>"]`` and no path of
the build machine lands in its configuration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hugo_pos import __version__

THEME_NAME = "hugo-pos"
MODULE_DIRS = ("layouts", "static", "data", "i18n")
_GENERATED = ("menu.json", "config.js", "img")
_README = (f"Copied by `hugo_pos build` from the installed hugo-pos {__version__} package. Do "
           "not edit:\nit is replaced on every build. Add `themes/hugo-pos/` to .gitignore.\n")


def module_source() -> Path:
    """Return the folder holding the Hugo module shipped with this hugo_pos."""
    package = Path(__file__).resolve().parent
    shipped = package / "module"
    if (shipped / "layouts").is_dir():
        return shipped
    return package.parent


def install_module(site_root: Path) -> Path:
    """Copy the Hugo module to ``site_root/themes/hugo-pos`` (replacing an older copy).

    A copy made by this hugo_pos version whose files all match the module's (name, size and
    modification time: the copy keeps the times) is left as it is. The version matters where
    packaging gives every file the same time (Nix, reproducible builds): an upgrade that keeps
    a file's size would otherwise keep the old file.
    """
    source = module_source()
    themes = site_root / "themes"
    target = themes / THEME_NAME
    readme = target / "README.md"
    if readme.is_file() and readme.read_text(encoding="utf-8") == _README and \
            _listing(target) == _listing(source):
        return target
    themes.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=themes, prefix=f".{THEME_NAME}."))
    try:
        for name in MODULE_DIRS:
            if (source / name).is_dir():
                shutil.copytree(source / name, staging / name,
                                ignore=shutil.ignore_patterns(*_GENERATED, "__pycache__"))
        (staging / "README.md").write_text(_README)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _listing(root: Path) -> set[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` of the module files under ``root``."""
    found = set()
    for name in MODULE_DIRS:
        top = os.path.join(root, name)
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in _GENERATED and d != "__pycache__"]
            for file in files:
                if file in _GENERATED:
                    continue
                path = os.path.join(folder, file)
                stat = os.stat(path)
                found.add((os.path.relpath(path, root), stat.st_size, stat.st_mtime_ns))
    return found
