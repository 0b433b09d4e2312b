"""``hugo_pos init``: add hugo-pos to an existing Hugo site without overwriting anything."""

from __future__ import annotations

import re
from pathlib import Path

from hugo_pos.errors import HugoPosError
from hugo_pos.module import THEME_NAME
from hugo_pos.write import write_atomic

SITE_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml",
                "config.yml", "config.json")
IGNORED = ("themes/hugo-pos/", ".hugo_pos/", "data/hugo_pos/", "static/hugo-pos/menu.json",
           "static/hugo-pos/config.js", "static/hugo-pos/img/", ".env")
MAPPING = ("# Map site items to POS items when their SKUs differ (hugo-pos).\n"
           "# items:\n#   ROLL-DRAGON: {loyverse: {variant_id: ...}, odoo: {product_id: 42}}\n"
           "items: {}\n")


def init_site(root: Path) -> list[str]:
    """Scaffold hugo-pos into the Hugo site at ``root``; return one line per action taken."""
    from jinja2 import Environment, PackageLoader

    site_config = next((root / name for name in SITE_CONFIGS if (root / name).is_file()), None)
    if site_config is None:
        raise HugoPosError(f"{root}: no Hugo site configuration (hugo.toml, config.toml...)",
                           "run `hugo new site` first, or pass --site DIR")
    templates = Environment(loader=PackageLoader("hugo_pos", "templates"),
                            keep_trailing_newline=True)
    title = _site_title(site_config.read_text(encoding="utf-8")) or root.resolve().name
    files = {
        "data/locations.yaml": templates.get_template("locations.yaml.j2").render(
            site_name=title),
        "data/pos-mapping.yaml": MAPPING,
        "env.example": templates.get_template("env.example.j2").render(),
    }
    done = []
    for rel, text in files.items():
        path = root / rel
        if path.exists():
            done.append(f"kept     {rel} (already exists)")
        else:
            write_atomic(path, text)
            done.append(f"created  {rel}")
    (root / "content" / "menu").mkdir(parents=True, exist_ok=True)
    done.append(_add_theme(site_config))
    done.append(_add_ignores(root / ".gitignore"))
    return done


def _site_title(text: str) -> str | None:
    found = re.search(r"""^\s*"?title"?\s*[:=]\s*["']?([^"'\n]+)""", text, re.MULTILINE)
    return found.group(1).strip() if found else None


def _add_theme(path: Path) -> str:
    """Put hugo-pos first in the site's theme list (TOML and YAML configs)."""
    text = path.read_text(encoding="utf-8")
    if THEME_NAME in text:
        return f"kept     {path.name} (already lists {THEME_NAME})"
    if path.suffix == ".json":
        return f"skipped  {path.name}: add \"{THEME_NAME}\" first in \"theme\" by hand"
    toml = path.suffix == ".toml"
    pattern = r"^theme\s*=\s*(.+)$" if toml else r"^theme\s*:\s*(.+)$"
    found = re.search(pattern, text, re.MULTILINE)
    if found:
        themes = re.findall(r"[\w.-]+", found.group(1).replace("theme", ""))
        line = _theme_line([THEME_NAME, *themes], toml)
        text = text[:found.start()] + line + text[found.end():]
    else:
        text = _theme_line([THEME_NAME], toml) + "\n" + text
    write_atomic(path, text)
    return f"updated  {path.name}: theme list starts with {THEME_NAME}"


def _theme_line(themes: list[str], toml: bool) -> str:
    quoted = ", ".join(f'"{t}"' for t in dict.fromkeys(themes))
    return f"theme = [{quoted}]" if toml else f"theme: [{quoted}]"


def _add_ignores(path: Path) -> str:
    existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [line for line in IGNORED if line not in existing]
    if not missing:
        return "kept     .gitignore"
    block = ["", "# hugo-pos generated files", *missing] if existing else missing
    write_atomic(path, "\n".join([*existing, *block]) + "\n")
    return f"updated  .gitignore: +{len(missing)} line(s)"
