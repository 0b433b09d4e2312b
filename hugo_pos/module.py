"""The Hugo module (layouts/, static/, data/, i18n/) that gives a site the checkout widget.

A pip-installed hugo_pos carries it as ``hugo_pos/module/``; a source checkout has it at the
repository root. ``install_module`` copies it to ``<site>/themes/hugo-pos/`` (git-ignored and
refreshed every build), so a site lists ``theme = ["hugo-pos", "<its theme>"]`` and no path of
the build machine lands in its configuration.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

THEME_NAME = "hugo-pos"
MODULE_DIRS = ("layouts", "static", "data", "i18n")
_GENERATED = ("menu.json", "config.js", "img")


def module_source() -> Path:
    """Return the folder holding the Hugo module shipped with this hugo_pos."""
    package = Path(__file__).resolve().parent
    shipped = package / "module"
    if (shipped / "layouts").is_dir():
        return shipped
    return package.parent


def install_module(site_root: Path) -> Path:
    """Copy the Hugo module to ``site_root/themes/hugo-pos`` (replacing an older copy)."""
    source = module_source()
    themes = site_root / "themes"
    themes.mkdir(parents=True, exist_ok=True)
    target = themes / THEME_NAME
    staging = Path(tempfile.mkdtemp(dir=themes, prefix=f".{THEME_NAME}."))
    try:
        for name in MODULE_DIRS:
            if (source / name).is_dir():
                shutil.copytree(source / name, staging / name,
                                ignore=shutil.ignore_patterns(*_GENERATED, "__pycache__"))
        (staging / "README.md").write_text(
            "Copied by `hugo_pos build` from the installed hugo-pos package. Do not edit:\n"
            "it is replaced on every build. Add `themes/hugo-pos/` to .gitignore.\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
