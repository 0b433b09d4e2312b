"""READ: the site's menu items from Hugo content front matter (YAML, TOML or JSON).

Items live under ``content/<menu_section>/`` (default ``content/menu/``) as pages or leaf bundles
(``dragon-roll/index.md``). A branch bundle's ``_index.md`` is not an item: its ``title`` names
the category of the items below it and its ``weight`` orders the categories.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import posixpath
import re
import tomllib
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler

from hugo_pos import __version__
from hugo_pos.catalog import SiteItem, SiteModifierGroup, SiteOption, SiteVariant, slug
from hugo_pos.config import SiteConfig
from hugo_pos.errors import ConfigError
from hugo_pos.money import MoneyError, to_minor
from hugo_pos.write import write_atomic

log = logging.getLogger(__name__)

CACHE_FILE = Path(".hugo_pos/cache/front-matter.json")
# The version that wrote a cache, and what it keeps: bump the number when that changes (2: the
# keys that look like typos of ours are kept too, so that rebuilds warn about them).
_CACHE_TAG = f"{__version__}/2"

CONTENT_SUFFIXES = (".md", ".markdown", ".html")
ITEM_KEYS = ("title", "sku", "price", "category", "description", "image", "weight", "draft",
             "locations", "variants", "modifiers")


_FAST_YAML = getattr(yaml, "CSafeLoader", None)


class _YamlHandler(YAMLHandler):
    """YAML front matter parsed by libyaml when PyYAML has it (about 8x faster on big menus).

    A file libyaml rejects is parsed again by the pure-Python parser, so error messages stay
    the same wherever hugo_pos runs.
    """

    def load(self, fm: str, **kwargs: Any) -> Any:
        if _FAST_YAML is None:
            return super().load(fm, **kwargs)
        try:
            return yaml.load(fm, Loader=_FAST_YAML)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            return super().load(fm, **kwargs)


class _TomlHandler(BaseHandler):
    """TOML front matter (``+++``) read with the standard library's tomllib."""

    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str) -> dict[str, Any]:
        return tomllib.loads(fm)


class _JsonHandler(JSONHandler):
    """JSON front matter as Hugo reads it: the object that opens the file, on one line or on
    several (python-frontmatter's own handler wants each brace on a line of its own)."""

    def detect(self, text: str) -> bool:
        return text.startswith("{")

    def split(self, text: str) -> tuple[str, str]:
        try:
            _, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return text, ""  # load() then raises the same error, with its line
        return text[:end], text[end:]


_HANDLERS = (_YamlHandler(), _TomlHandler(), _JsonHandler())


def read_site(config: SiteConfig, *, cache: bool = False,
              warnings: list[str] | None = None) -> tuple[SiteItem, ...]:
    """Return every non-draft menu item of the site, in menu order.

    ``cache``: reuse and update ``.hugo_pos/cache/front-matter.json`` (see FrontMatterCache).
    Raises ConfigError listing every broken file (with its line) and every invalid field.
    Keys hugo_pos does not know inside its own lists (a variant's ``prize``) and top-level keys
    a letter or two from one it reads (``modifers``) are added to ``warnings``, or logged as
    warnings when it is None: such a typo would otherwise change a price without a word.
    """
    if not (config.root / "content" / config.menu_section).is_dir():
        raise ConfigError([f"content/{config.menu_section}/: folder not found"],
                          "put one page per menu item there, or set `menu_section` in "
                          "data/locations.yaml")
    problems: list[str] = []
    categories: dict[str, tuple[str, int]] = {}
    pages: list[tuple[str, dict]] = []
    front_matter = FrontMatterCache(config.root / CACHE_FILE if cache else None)
    # Paths are "/"-joined strings relative to the site root: pathlib cost more than the
    # cached front matter on a 2,000-item menu.
    for rel in _content_files(config.root, f"content/{config.menu_section}"):
        meta = front_matter.parse(rel, config.root, problems)
        if meta is None:
            continue
        folder, name = posixpath.split(rel)
        if posixpath.splitext(name)[0] == "_index":
            categories[folder] = (str(meta.get("title") or _humanize(posixpath.basename(folder))),
                                  _int(meta.get("weight"), 0))
        elif not meta.get("draft"):
            pages.append((rel, meta))
    section = f"content/{config.menu_section}"
    found: list[str] = []
    items = [_item(rel, meta, config, categories, section, problems, found)
             for rel, meta in pages]
    _check_unique(items, problems)
    if problems:
        raise ConfigError(
            problems, "fix the front matter named above; the README lists the keys")
    front_matter.save()
    if warnings is None:
        for warning in found:
            log.warning("%s", warning)
    else:
        warnings.extend(found)
    return tuple(sorted((i for i in items if i is not None),
                        key=lambda i: (i.category_weight, i.category, i.weight, i.title)))


class FrontMatterCache:
    """The front matter of each content file, keyed by a hash of the file's bytes.

    Parsing YAML is most of reading a big menu (about 0.2 ms a file); a rebuild re-parses only
    the files that changed. Only the keys hugo_pos reads are kept, and only when JSON holds
    them exactly (a ``date`` value, say, is parsed every time). A missing or unreadable cache
    file, or one written by another hugo_pos version, is an empty cache; ``path=None`` is no
    cache at all.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, list] = {}
        try:
            loaded = json.loads(path.read_bytes()) if path else None
        except (OSError, ValueError):
            loaded = None
        fresh = isinstance(loaded, dict) and loaded.get("hugo_pos") == _CACHE_TAG
        files = loaded.get("files") if fresh else None  # type: ignore[union-attr]
        self.old: dict = files if isinstance(files, dict) else {}

    def parse(self, rel: str, root: Path, problems: list[str]) -> dict | None:
        """Return the front matter of the file ``rel`` (relative to ``root``); ``None``, with
        a problem added, if it is broken."""
        with open(os.path.join(root, rel), "rb") as handle:
            data = handle.read()
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        known = self.old.get(rel)
        if isinstance(known, list) and len(known) == 2 and known[0] == digest:
            self.entries[rel] = known
            return known[1]
        # decoded as read_text() does: universal newlines
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        meta = _front_matter(rel, text, problems)
        if meta is not None:
            kept = {key: value for key, value in meta.items()
                    if key in ITEM_KEYS or _misspelt(key)}
            try:
                exact = json.loads(json.dumps(kept, allow_nan=False)) == kept
            except (TypeError, ValueError):
                exact = False
            if exact:
                self.entries[rel] = [digest, kept]
        return meta

    def save(self) -> None:
        """Write the entries seen by this read (files that are gone are dropped)."""
        if self.path and self.entries != self.old:
            write_atomic(self.path, json.dumps({"hugo_pos": _CACHE_TAG, "files": self.entries},
                                               sort_keys=True))


def _front_matter(rel: str, text: str, problems: list[str]) -> dict | None:
    handler = next((h for h in _HANDLERS if h.detect(text.lstrip())), None)
    if handler is None:
        return {}
    try:
        meta, _ = frontmatter.parse(text, handler=handler)
    except Exception as exc:  # noqa: BLE001 - each parser raises its own error type
        problems.append(f"{rel}: line {_error_line(exc)}: invalid front matter: {_first_line(exc)}")
        return None
    return meta


def _error_line(exc: Exception) -> int | str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return mark.line + 1
    if getattr(exc, "lineno", None):
        return exc.lineno
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else "?"


def _first_line(exc: Exception) -> str:
    return (getattr(exc, "problem", None) or getattr(exc, "msg", None) or str(exc)).splitlines()[0]


def _content_files(root: Path, section: str) -> list[str]:
    """The content files under ``section``, relative to ``root``, in path order."""
    found = []
    top = os.path.join(root, section)
    for folder, _, names in os.walk(top):
        where = section + folder[len(top):].replace(os.sep, "/")
        found.extend(f"{where}/{name}" for name in names if name.endswith(CONTENT_SUFFIXES))
    return sorted(found, key=lambda rel: rel.split("/"))


def _item(rel: str, meta: dict, config: SiteConfig, categories: dict, section: str,
          problems: list[str], warnings: list[str]) -> SiteItem | None:
    folder, name = posixpath.split(rel)
    stem = posixpath.splitext(name)[0]
    bundle = stem == "index"
    page = folder if bundle else f"{folder}/{stem}"
    page_path = page.removeprefix("content/")

    def problem(field: str, message: str) -> None:
        problems.append(f"{rel}: {field}: {message}")

    def unknown_keys(entry: dict, known: tuple[str, ...], where: str) -> None:
        for key in entry:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                warnings.append(f"{rel}: {where}{key}: not a key hugo_pos reads"
                                + (f" (did you mean {close[0]!r}?)" if close else "")
                                + f"; it reads {', '.join(known)}")

    for key in meta:
        meant = _misspelt(key)
        if meant:
            warnings.append(f"{rel}: {key}: not a key hugo_pos reads (did you mean "
                            f"{meant!r}?); the item is built without it")
        elif key not in ITEM_KEYS and key not in _HUGO_KEYS:
            log.debug("%s: front matter key %r is not used by hugo_pos", rel, key)
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problem("title", "required: the item's name")
        title = posixpath.basename(page)
    sku = _optional_str(meta.get("sku"))
    category_name, category_weight = _category_of(posixpath.dirname(page), section, categories)
    category = _optional_str(meta.get("category")) or category_name
    price = _price(meta.get("price"), "price", config.currency, problem)
    variants = _variants(meta.get("variants"), title, sku, price, config.currency, problem,
                         unknown_keys)
    locations = meta.get("locations")
    if locations is not None:
        if not isinstance(locations, list) or not all(isinstance(x, str) for x in locations):
            problem("locations", "expected a list of location ids, e.g. [ariapita]")
            locations = None
        else:
            for i, loc in enumerate(locations):
                if loc not in config.location_ids:
                    problem(f"locations[{i}]", f"unknown location {loc!r} (known: "
                            f"{', '.join(config.location_ids)}; see data/locations.yaml)")
            locations = tuple(locations)
    return SiteItem(
        key=sku or page_path, title=title.strip(), category=category, variants=variants,
        source=rel, sku=sku, description=str(meta.get("description") or ""),
        image=_image_url(str(meta.get("image") or ""), page_path, bundle),
        weight=_int(meta.get("weight"), 0),
        category_weight=category_weight, locations=locations,
        modifiers=_modifiers(meta.get("modifiers"), config.currency, problem, unknown_keys),
        has_variants=bool(meta.get("variants")))


_HUGO_KEYS = ("date", "lastmod", "publishDate", "expiryDate", "slug", "url", "aliases", "tags",
              "summary", "layout", "type", "params", "build", "cascade", "menus", "linkTitle",
              "keywords", "outputs", "resources", "translationKey", "headless", "location",
              # Hugo's other page keys, its default taxonomies, its embedded templates' keys
              "menu", "markup", "sitemap", "isCJKLanguage", "categories", "series", "images",
              "videos", "audio")


def _misspelt(key: object) -> str | None:
    """The key hugo_pos reads that a top-level front matter ``key`` looks like a typo of."""
    if key in ITEM_KEYS or key in _HUGO_KEYS or not isinstance(key, str):
        return None
    close = difflib.get_close_matches(key.lower(), ITEM_KEYS, n=1, cutoff=0.8)
    return close[0] if close else None


def _image_url(image: str, page_path: str, bundle: bool) -> str:
    """Make a leaf bundle's relative image (``dragon.jpg``) a site URL, as Hugo publishes it."""
    if not image or not bundle or image.startswith("/") or "://" in image:
        return image
    return f"/{page_path}/{image}"


def _category_of(folder: str, section: str, categories: dict) -> tuple[str, int]:
    while folder != section and folder.startswith(section + "/"):
        if folder in categories:
            return categories[folder]
        folder = posixpath.dirname(folder)
    return (_humanize(posixpath.basename(folder)) if folder != section else "Menu", 0)


def _variants(raw: Any, title: str, sku: str | None, price: int | None, currency: str,
              problem, unknown_keys) -> tuple[SiteVariant, ...]:
    if not raw:
        return (SiteVariant(name=title, sku=sku, price=price),)
    if not isinstance(raw, list):
        problem("variants", "expected a list of {name, sku, price}")
        return (SiteVariant(name=title, sku=sku, price=price),)
    variants, fields = [], []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not entry.get("name"):
            problem(f"variants[{i}]", "expected {name, sku, price} with a name")
            continue
        unknown_keys(entry, ("name", "sku", "price"), f"variants[{i}].")
        fields.append(f"variants[{i}]")
        variants.append(SiteVariant(
            name=str(entry["name"]), sku=_optional_str(entry.get("sku")),
            # a variant without its own price inherits the item's, already in minor units
            price=_price(entry["price"], f"variants[{i}].price", currency, problem)
            if "price" in entry else price))
    _check_distinct([(field, v.name, v.sku or "~" + slug(v.name))
                     for field, v in zip(fields, variants, strict=True)],
                    "variant", "its own name or sku", problem)
    return tuple(variants)


def _modifiers(raw: Any, currency: str, problem, unknown_keys) -> tuple[SiteModifierGroup, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list):
        problem("modifiers", "expected a list of {name, min, max, options}")
        return ()
    groups, group_fields = [], []
    for i, entry in enumerate(raw):
        where = f"modifiers[{i}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            problem(where, "expected {name, min, max, options: [{name, price}]}")
            continue
        unknown_keys(entry, ("name", "min", "max", "options"), f"{where}.")
        options, option_fields = [], []
        for j, opt in enumerate(entry.get("options") or []):
            if isinstance(opt, str):
                opt = {"name": opt}
            if not isinstance(opt, dict) or not opt.get("name"):
                problem(f"{where}.options[{j}]", "expected {name, price}")
                continue
            unknown_keys(opt, ("name", "price"), f"{where}.options[{j}].")
            price = _price(opt.get("price", 0), f"{where}.options[{j}].price", currency, problem)
            options.append(SiteOption(name=str(opt["name"]), price=price or 0))
            option_fields.append(f"{where}.options[{j}]")
        _check_distinct([(field, o.name, slug(o.name))
                         for field, o in zip(option_fields, options, strict=True)],
                        "option", "its own name", problem)
        low, high = _int(entry.get("min"), 0), _int(entry.get("max"), len(options))
        if not 0 <= low <= high or high > max(len(options), 1):
            problem(where, f"min {low} / max {high} do not fit its {len(options)} options")
        groups.append(SiteModifierGroup(name=str(entry["name"]), min=low, max=high,
                                        options=tuple(options)))
        group_fields.append(where)
    _check_distinct([(field, g.name, slug(g.name))
                     for field, g in zip(group_fields, groups, strict=True)],
                    "modifier group", "its own name", problem)
    return tuple(groups)


def _check_distinct(entries: list[tuple[str, str, str]], what: str, fix: str, problem) -> None:
    """Report each entry ``(field, name, id)`` whose id an earlier entry already has: the
    menu ids made from names (DESIGN §4) must be unique."""
    first: dict[str, tuple[str, str]] = {}
    for field, name, ident in entries:
        if ident in first:
            other_field, other_name = first[ident]
            problem(field, f"the {what} {name!r} gets the same id as {other_field} "
                    f"({other_name!r}); give it {fix}")
        first.setdefault(ident, (field, name))


def _price(value: Any, field: str, currency: str, problem) -> int | None:
    if value is None or value == "":
        return None
    try:
        amount = to_minor(value, currency)
    except MoneyError as exc:
        problem(field, str(exc))
        return None
    if amount < 0:
        problem(field, "a price cannot be negative")
    return amount


def _check_unique(items: list[SiteItem | None], problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item is None:
            continue
        ids = {item.key, *(item.variant_id(v) for v in item.variants)} if item.has_variants \
            else {item.key}
        for ident in ids:
            if ident in seen and seen[ident] != item.source:
                problems.append(f"{item.source}: sku: {ident!r} is also used by {seen[ident]}; "
                                "SKUs must be unique")
            seen.setdefault(ident, item.source)


def _optional_str(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _humanize(name: str) -> str:
    return name.replace("-", " ").replace("_", " ").title()
