"""``hugo_pos init``: add hugo-pos to an existing Hugo site without overwriting anything."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from pathlib import Path

from hugo_pos.config import SITE_CONFIGS
from hugo_pos.errors import HugoPosError
from hugo_pos.module import THEME_NAME
from hugo_pos.write import write_atomic

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
    config = _read_config(site_config, site_config.read_text(encoding="utf-8")) or {}
    title = str(config.get("title") or "").strip() or root.resolve().name
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
    done.append(_add_theme(site_config, site_config.relative_to(root).as_posix()))
    done.append(_add_ignores(root / ".gitignore"))
    return done


def _read_config(path: Path, text: str) -> dict | None:
    """The site configuration's top-level mapping, or None when it does not parse."""
    import yaml

    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):  # tomllib's and json's errors are ValueErrors
        return None
    return data if isinstance(data, dict) else None


def _add_theme(path: Path, shown: str) -> str:
    """Put hugo-pos first in the site's theme list, keeping the rest of the file as it is.

    The ``theme`` value (a string, or a list on one line or several) is replaced by a one-line
    list; a JSON config is rewritten. The result must parse back with the new list, else the
    file is left alone and the line to add is shown. ``shown`` names the file in messages.
    """
    text = path.read_text(encoding="utf-8")
    by_hand = f"skipped  {shown}: put \"{THEME_NAME}\" first in its theme list by hand"
    data = _read_config(path, text)
    if data is None:
        return by_hand + " (it does not parse)"
    theme = data.get("theme") or []
    current = [theme] if isinstance(theme, str) else [str(t) for t in theme]
    if THEME_NAME in current:
        return f"kept     {shown} (already lists {THEME_NAME})"
    themes = [THEME_NAME, *current]
    if path.suffix == ".json":
        updated = json.dumps({"theme": themes, **{k: v for k, v in data.items()
                                                   if k != "theme"}}, indent=2) + "\n"
    else:
        line = _theme_line(themes, toml=path.suffix == ".toml")
        span = _theme_span(text, path.suffix == ".toml") if "theme" in data else None
        updated = (text[:span[0]] + line + text[span[1]:]) if span else f"{line}\n{text}"
    check = _read_config(path, updated)
    if check is None or check.get("theme") != themes:
        return by_hand
    write_atomic(path, updated)
    return f"updated  {shown}: theme list starts with {THEME_NAME}"


def _theme_span(text: str, toml: bool) -> tuple[int, int] | None:
    """Where the top-level ``theme`` entry is in ``text``: from its key to the end of its
    value's last line (a list may span lines)."""
    found = re.search(r"^theme\s*=" if toml else r"^theme\s*:", text, re.MULTILINE)
    if not found:
        return None
    lines = text[found.start():].splitlines(keepends=True)
    ends = list(itertools.accumulate(map(len, lines)))
    last = 0
    for i, line in enumerate(lines):
        if toml:
            try:  # a TOML value ends on the first line where the entry parses
                tomllib.loads("".join(lines[:i + 1]))
                last = i
                break
            except ValueError:
                continue
        elif i == 0 or line.startswith((" ", "\t", "-")):  # YAML: indented lines, list items
            last = i
        elif line.strip():
            break
    else:
        if toml:
            return None
    newline = len(lines[last]) - len(lines[last].rstrip("\r\n"))
    return found.start(), found.start() + ends[last] - newline


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
