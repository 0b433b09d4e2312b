"""Load and validate ``data/locations.yaml`` and ``data/pos-mapping.yaml`` (DESIGN §3).

Validation follows mkdocs: options are declared with a type and constraints, every problem is
collected as ``FILE: dotted.path: what is wrong``, and one ``ConfigError`` reports them all.
Values may be ``{{ env "NAME" }}`` or ``{{ env `NAME` }}``; hugo_pos resolves them from the
environment (and from the site's ``.env`` file, which never overrides the real environment).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hugo_pos.errors import ConfigError, HugoPosError
from hugo_pos.hours import DAYS, parse_range
from hugo_pos.money import MINOR_UNITS, MoneyError, register_currency
from hugo_pos.options import ENV_REF, Option, describe, env_refs

__all__ = ["Location", "Option", "PosConfig", "SiteConfig", "load_config", "read_dotenv",
           "read_yaml"]

log = logging.getLogger(__name__)

LOCATIONS_FILE = "data/locations.yaml"
# Where a Hugo site keeps its configuration: one of these makes a folder a Hugo site.
SITE_CONFIGS = tuple(f"{folder}{name}.{ext}" for folder in ("", "config/_default/")
                     for name in ("hugo", "config") for ext in ("toml", "yaml", "yml", "json"))
MAPPING_FILE = "data/pos-mapping.yaml"
# Set (1, true, yes): every location takes orders at any time, e.g. `hugo_pos demo` at night.
IGNORE_HOURS = "HUGO_POS_IGNORE_HOURS"
KINDS = ("restaurant", "food-truck")
FULFILMENTS = ("pickup", "delivery", "dine_in")
DEFAULT_FULFILMENT = {"restaurant": ("pickup", "delivery", "dine_in"), "food-truck": ("pickup",)}
_ID = re.compile(r"^[a-z0-9-]+$")


_MISSING = object()


@dataclass(frozen=True)
class PosConfig:
    """One POS of a location: ``name`` is its key under ``pos:``, ``settings`` its options."""

    name: str
    provider: str
    enabled: bool
    settings: dict[str, Any] = field(default_factory=dict)
    env_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Location:
    """A location from locations.yaml. ``catalog`` names the POS whose prices the menu shows."""

    id: str
    name: str
    kind: str
    whatsapp: str
    timezone: str
    hours: dict[str, tuple[str, ...]] | None
    catalog: str
    fulfilment: tuple[str, ...]
    pos: tuple[PosConfig, ...] = ()

    @property
    def enabled_pos(self) -> tuple[PosConfig, ...]:
        """The POSes orders go to; the embedded ``local`` provider when none is enabled."""
        enabled = tuple(p for p in self.pos if p.enabled)
        return enabled or (PosConfig(name="local", provider="local", enabled=True),)

    def pos_named(self, name: str) -> PosConfig:
        """Return the enabled POS called ``name`` (KeyError if there is none)."""
        for pos in self.enabled_pos:
            if pos.name == name:
                return pos
        raise KeyError(name)


@dataclass(frozen=True)
class SiteConfig:
    """Everything locations.yaml and pos-mapping.yaml say, validated and env-resolved.

    ``secrets`` holds every secret value resolved, so logging can redact them; ``warnings``
    the problems that are not fatal (unknown keys, unset optional env vars).
    """

    root: Path
    currency: str
    minor_units: int
    relay_url: str
    site_origins: tuple[str, ...]
    locations: tuple[Location, ...]
    menu_section: str = "menu"
    strings: dict[str, str] = field(default_factory=dict)
    mapping: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    secrets: frozenset[str] = frozenset()

    def location(self, location_id: str) -> Location:
        """Return the location with this id, or raise a HugoPosError listing the known ones."""
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise HugoPosError(f"unknown location {location_id!r}",
                           f"locations in {LOCATIONS_FILE}: {', '.join(self.location_ids)}")

    @property
    def location_ids(self) -> tuple[str, ...]:
        """The ids of every location, in file order."""
        return tuple(loc.id for loc in self.locations)


def load_config(site: str | os.PathLike, env: Mapping[str, str] | None = None,
                locations_path: str | os.PathLike | None = None) -> SiteConfig:
    """Load and validate a site's configuration.

    ``site`` is the Hugo site directory; ``locations_path`` overrides where locations.yaml is
    (e.g. a mounted ConfigMap; pos-mapping.yaml is then looked for beside it). ``env`` defaults to
    ``os.environ`` plus the site's ``.env``. Raises ConfigError listing every problem.
    """
    root = Path(site)
    env = dict(read_dotenv(root / ".env"), **(os.environ if env is None else env))
    path = Path(locations_path) if locations_path else root / LOCATIONS_FILE
    label = LOCATIONS_FILE if locations_path is None else str(path)
    checker = _Checker(label, env)
    if locations_path is None and not path.is_file():
        _no_locations_file(root)
    data = read_yaml(path, label, required=True)
    config = checker.site(root, data)
    mapping_path = path.with_name("pos-mapping.yaml")
    mapping_label = MAPPING_FILE if locations_path is None else str(mapping_path)
    enabled = {pos.name for loc in config["locations"] for pos in loc.enabled_pos}
    mapping = _check_mapping(read_yaml(mapping_path, mapping_label, required=False),
                             mapping_label, checker, enabled)
    if checker.problems:
        raise ConfigError(checker.problems, checker.hint())
    return SiteConfig(**config, mapping=mapping, warnings=tuple(checker.warnings),
                      secrets=frozenset(checker.secrets))


def _no_locations_file(root: Path) -> None:
    """Raise the error that says why ``root`` has no locations.yaml and what to do."""
    where = root.resolve()
    if not root.is_dir():
        raise ConfigError([f"{where}: no such folder"],
                          "pass your Hugo site's folder with --site DIR")
    if any((root / name).is_file() for name in SITE_CONFIGS):
        raise ConfigError([f"{LOCATIONS_FILE}: not found in the Hugo site {where}"],
                          "run `hugo_pos init` there to create it")
    raise ConfigError([f"{where} is not a Hugo site (no hugo.toml, config.toml...)"],
                      "run hugo_pos in your Hugo site's folder, or pass --site DIR")


def read_yaml(path: Path, label: str, required: bool) -> dict:
    """Parse a YAML mapping file; a syntax error names the file and line."""
    import yaml

    if not path.exists():
        if required:
            raise ConfigError([f"{label}: file not found"],
                              "run `hugo_pos init` in your Hugo site to create it")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{label}: {where}invalid YAML: {problem}"],
                          "check the indentation and quoting around that line") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: expected a mapping at the top level, got {describe(data)}"])
    return data


def read_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines of a .env file (comments and ``export`` allowed); {} if absent."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class _Checker:
    """Collects problems while walking locations.yaml."""

    def __init__(self, label: str, env: Mapping[str, str]) -> None:
        self.label = label
        self.env = env
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.secrets: set[str] = set()
        self.missing_env: list[tuple[str, bool]] = []  # (name, in an enabled POS's settings)
        self.quiet = False  # True while reading a disabled POS: its unset env vars do not matter
        # True while reading an enabled POS's settings, where every env var must be set; outside
        # them only a required key's is (DESIGN §4: e.g. an unset relay_url is a warning).
        self.in_pos = False
        self.ignore_hours = env.get(IGNORE_HOURS, "").lower() in ("1", "true", "yes")

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{self.label}: {path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{self.label}: {path}: {message}")

    def hint(self) -> str:
        if self.missing_env:
            names = ", ".join(dict.fromkeys(name for name, _ in self.missing_env))
            of_a_pos = any(in_pos for _, in_pos in self.missing_env)
            return (f"set {names} in the environment or the site's .env file (see env.example)"
                    + (", or set `enabled: false` on that POS" if of_a_pos else ""))
        files = " and ".join(dict.fromkeys(p.split(": ", 1)[0] for p in self.problems))
        return (f"fix the values above in {files or self.label}; the README's configuration "
                "reference lists every key")

    def resolve(self, value: Any, path: str, fatal: bool, secret: bool = False,
                instead: str = '""') -> Any:
        """Substitute env references in a string value; record missing variables (a problem
        when ``fatal``, else a warning saying the value ``instead`` is used)."""
        if not isinstance(value, str) or "{{" not in value:
            if secret and isinstance(value, str) and value:
                self.warn(path, "a secret written in the file; use {{ env `NAME` }} instead")
            return value

        def substitute(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            found = self.env.get(name, "")
            if found == "":
                if fatal:
                    self.missing_env.append((name, self.in_pos))
                    self.problem(path, f"environment variable {name} is not set")
                elif not self.quiet:
                    self.warn(path, f"environment variable {name} is not set; using {instead}")
            return found

        resolved = ENV_REF.sub(substitute, value)
        if "{{" in resolved:
            self.problem(path, f"cannot read {value!r}; write {{{{ env `NAME` }}}}")
        if secret and resolved:
            self.secrets.add(resolved)
        return resolved

    def unknown_keys(self, data: dict, known: Any, path: str) -> None:
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
                self.warn(f"{path}{key}", "unknown key"
                          + (f" (did you mean {close[0]!r}?)" if close else "")
                          + f" (known: {', '.join(known)})")

    def value(self, data: dict, key: str, option: Option, path: str, fatal: bool = True) -> Any:
        raw = data.get(key, _MISSING)
        if raw is _MISSING and option.env:
            raw = self.env.get(option.env, _MISSING)
            if option.secret and raw is not _MISSING and raw:
                self.secrets.add(raw)
        if raw is _MISSING or raw is None:
            if option.required and fatal:
                typo = difflib.get_close_matches(key, [str(k) for k in data], n=1, cutoff=0.75)
                self.problem(f"{path}{key}", "required but missing"
                             + (f" (is {typo[0]!r} meant to be {key!r}?)" if typo else ""))
            return option.default
        from_env = isinstance(raw, str) and "{{" in raw
        env_fatal = fatal and (option.required or self.in_pos)
        instead = '""' if option.default in (None, "") else repr(option.default)
        raw = self.resolve(raw, f"{path}{key}", env_fatal, option.secret, instead)
        if raw == "" and (option.kind is not str or (from_env and not env_fatal)):
            return option.default
        if raw == "" and option.required and fatal:
            return option.default
        try:
            return option.validate(raw, show=not from_env and not option.secret)
        except ValueError as exc:
            source = f" (from {', '.join(env_refs(data[key]))})" if from_env else ""
            report = self.warn if self.quiet else self.problem
            report(f"{path}{key}", f"{exc}{source}")
            return option.default

    # -- the file's structure ------------------------------------------------------------------

    def site(self, root: Path, data: dict) -> dict:
        known = ("currency", "minor_units", "relay_url", "site_origins", "locations",
                 "menu_section", "strings")
        self.unknown_keys(data, known, "")
        currency = self.value(data, "currency", Option(str, required=True), "") or "USD"
        currency = currency.upper()
        minor = self.value(data, "minor_units", Option(int), "")
        known = MINOR_UNITS.get(currency)
        if minor is None:
            minor = known
            if minor is None:
                self.problem("currency", f"unknown currency {currency!r}; use an ISO 4217 code "
                             "or also set minor_units")
                minor = 2
        elif known is not None and minor != known:
            self.problem("minor_units", f"{currency} has {known} decimals, not {minor}; remove "
                         "minor_units")
        elif known is None:
            try:
                register_currency(currency, minor)  # so every stage (and provider) agrees
            except MoneyError as exc:
                self.problem("minor_units", str(exc))
        origins = self.value(data, "site_origins", Option(list, default=[]), "") or []
        for i, origin in enumerate(origins):
            if not isinstance(origin, str) or not re.match(r"^https?://[^/]+$", origin):
                self.problem(f"site_origins[{i}]", f"expected an origin such as "
                             f"https://example.com (no path), got {origin!r}")
        strings = self.value(data, "strings", Option(dict, default={}), "") or {}
        raw_locations = self.value(data, "locations", Option(list, required=True), "") or []
        if not raw_locations and "locations" in data:
            self.problem("locations", "needs at least one location")
        locations = [self.location(loc, i) for i, loc in enumerate(raw_locations)]
        locations = [loc for loc in locations if loc is not None]
        if self.ignore_hours:
            self.warnings.append(f"{IGNORE_HOURS} is set: opening hours are ignored and every "
                                 "location takes orders at any time (for demos and testing; "
                                 "unset it before you deploy)")
        seen: set[str] = set()
        for i, loc in enumerate(locations):
            if loc.id in seen:
                self.problem(f"locations[{i}].id", f"duplicate id {loc.id!r}")
            seen.add(loc.id)
        relay_url = (self.value(data, "relay_url", Option(str, default=""), "", fatal=False)
                     or "").rstrip("/")
        if relay_url and not origins and not self.env.get("HUGO_POS_CORS_ORIGINS"):
            self.warn("site_origins", "is empty, so browsers on the site may not send orders "
                      f"to the relay at {relay_url} (CORS) and every order goes by WhatsApp "
                      "only; list the site's origin, e.g. [https://menu.example.com], unless "
                      "the relay is on the site's own origin")
        return dict(
            root=root, currency=currency, minor_units=minor, relay_url=relay_url,
            site_origins=tuple(o for o in origins if isinstance(o, str)),
            locations=tuple(locations),
            menu_section=self.value(data, "menu_section", Option(str, default="menu"), "")
            or "menu",
            strings={str(k): str(v) for k, v in strings.items()})

    def location(self, data: Any, index: int) -> Location | None:
        path = f"locations[{index}]."
        if not isinstance(data, dict):
            self.problem(path[:-1], f"expected a mapping but received {describe(data)}")
            return None
        known = ("id", "name", "kind", "whatsapp", "timezone", "hours", "catalog", "pos",
                 "fulfilment")
        self.unknown_keys(data, known, path)
        loc_id = self.value(data, "id", Option(str, required=True), path) or f"#{index}"
        if not _ID.match(loc_id):
            self.problem(f"{path}id", f"{loc_id!r} must use only a-z, 0-9 and -")
        kind = self.value(data, "kind", Option(str, default="restaurant", choices=KINDS), path)
        whatsapp = self.value(data, "whatsapp", Option(str, required=True), path) or ""
        if whatsapp and (len(re.sub(r"\D", "", whatsapp)) < 7
                         or re.search(r"[^\d\s()+.\-]", whatsapp)):
            # every digit goes into the wa.me link: "ext 2" would make another number
            self.problem(f"{path}whatsapp", f"{whatsapp!r} is not a phone number; write only "
                         "the number, with the country code, e.g. \"+1 868 555 0101\"")
        elif whatsapp and not whatsapp.lstrip().startswith("+"):
            self.warn(f"{path}whatsapp", f"{whatsapp!r} has no leading +: WhatsApp links need "
                      "the country code first; write it as e.g. \"+1 868 555 0101\"")
        timezone = self.value(data, "timezone", Option(str, default="UTC"), path)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(f"{path}timezone", f"unknown timezone {timezone!r}; use an IANA name "
                         "such as America/Port_of_Spain")
        fulfilment = self.value(data, "fulfilment", Option(list), path)
        if fulfilment is None:
            fulfilment = DEFAULT_FULFILMENT.get(kind or "restaurant", ("pickup",))
        for i, mode in enumerate(fulfilment):
            if mode not in FULFILMENTS:
                self.problem(f"{path}fulfilment[{i}]",
                             f"expected one of {', '.join(FULFILMENTS)}, got {mode!r}")
        pos = self.pos_list(data.get("pos"), f"{path}pos")
        enabled = [p.name for p in pos if p.enabled]
        catalog = self.value(data, "catalog", Option(str), path)
        if catalog is None:
            catalog = enabled[0] if enabled else "local"
        elif catalog not in enabled and not (catalog == "local" and not enabled):
            self.problem(f"{path}catalog", f"names {catalog!r}, which is not an enabled POS of "
                         f"this location (enabled: {', '.join(enabled) or 'none'})")
        return Location(
            id=loc_id, name=self.value(data, "name", Option(str, required=True), path) or loc_id,
            kind=kind or "restaurant", whatsapp=whatsapp, timezone=timezone or "UTC",
            hours=self.hours(data, path), catalog=catalog, fulfilment=tuple(fulfilment),
            pos=tuple(pos))

    def hours(self, data: dict, path: str) -> dict[str, tuple[str, ...]] | None:
        if "hours" not in data:
            return None
        if data["hours"] is None:  # `hours:` and nothing under it: YAML's null, not `{}`
            self.warn(f"{path}hours", "is empty, so the location never takes orders online; "
                      "list its opening hours, write `hours: {}` if that is meant, or remove "
                      "the key to take orders at any time")
        hours = self.value(data, "hours", Option(dict, default={}), path)
        result: dict[str, tuple[str, ...]] = {}
        for day, ranges in (hours or {}).items():
            where = f"{path}hours.{day}"
            if day not in DAYS:
                self.problem(where, f"unknown day; use {', '.join(DAYS)}")
                continue
            ranges = [ranges] if isinstance(ranges, str) else ranges
            if not isinstance(ranges, list):
                self.problem(where, f"expected a list of ranges but received {describe(ranges)}")
                continue
            for i, text in enumerate(ranges):
                try:
                    parse_range(text)
                except ValueError as exc:
                    self.problem(f"{where}[{i}]", str(exc))
            result[day] = tuple(str(r) for r in ranges)
        if self.ignore_hours:
            return None  # validated all the same; site() says once that they are ignored
        return {day: result[day] for day in DAYS if day in result}

    def pos_list(self, data: Any, path: str) -> list[PosConfig]:
        from hugo_pos.providers import provider_class

        if data is None:
            return []
        if not isinstance(data, dict):
            self.problem(path, f"expected a mapping of POS names but received {describe(data)}")
            return []
        result = []
        for name, settings in data.items():
            where = f"{path}.{name}."
            if not isinstance(settings, dict):
                self.problem(where[:-1], f"expected a mapping but received {describe(settings)}")
                continue
            enabled = self.value(settings, "enabled", Option(bool, default=True), where)
            provider = self.value(settings, "provider", Option(str, default=str(name)), where)
            try:
                options = provider_class(provider).options
            except HugoPosError as exc:
                report = self.problem if enabled else self.warn
                report(f"{where}provider", f"{exc.message} ({exc.hint})")
                continue
            self.unknown_keys(settings, ("enabled", "provider", *options), where)
            self.quiet, self.in_pos = not enabled, True
            values = {key: self.value(settings, key, option, where, fatal=bool(enabled))
                      for key, option in options.items()}
            self.quiet = self.in_pos = False
            result.append(PosConfig(name=str(name), provider=provider, enabled=bool(enabled),
                                    settings=values, env_names=_env_names(settings, options)))
        return result


def _env_names(settings: dict, options: Mapping[str, Option]) -> dict[str, str]:
    """Map each option to the env var it was read from, so errors can name it (never its value)."""
    names = {}
    for key, option in options.items():
        raw = settings.get(key)
        found = ENV_REF.search(raw) if isinstance(raw, str) else None
        if found:
            names[key] = found.group(1) or found.group(2)
        elif key not in settings and option.env:
            names[key] = option.env
    return names


def _check_mapping(data: dict, label: str, checker: _Checker,
                   enabled: set[str]) -> dict[str, dict[str, dict]]:
    """Validate pos-mapping.yaml: ``items: {KEY: {POS: {field: id}}}``. An unset env var is
    a problem for a POS some location has ``enabled``, a warning for any other."""
    problems_before = len(checker.problems)
    checker.label, saved = label, checker.label
    checker.in_pos = True  # every value here is a POS's id
    checker.unknown_keys(data, ("items",), "")
    items = data.get("items") or {}
    mapping: dict[str, dict[str, dict]] = {}
    if not isinstance(items, dict):
        checker.problem("items", f"expected a mapping of item keys but received {describe(items)}")
        items = {}
    for key, per_pos in items.items():
        if not isinstance(per_pos, dict) or not all(isinstance(v, dict) for v in per_pos.values()):
            checker.problem(f"items.{key}", "expected {POS name: {field: id}}, e.g. "
                            "{loyverse: {variant_id: ...}, odoo: {product_id: 42}}")
            continue
        mapping[str(key)] = {
            str(pos): {k: checker.resolve(v, f"items.{key}.{pos}.{k}", str(pos) in enabled)
                       for k, v in ids.items()} for pos, ids in per_pos.items()}
    checker.label, checker.in_pos = saved, False
    return mapping if len(checker.problems) == problems_before else {}
