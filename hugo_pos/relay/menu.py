"""Where the relay's menu comes from: a site's ``data/hugo_pos/menu.json`` or a URL.

The menu is read once and kept; it is read again only when the file's mtime (or the URL's
ETag) changes, checked at most every ``check_interval`` seconds, never on every request. Each
loaded menu gets lookup tables (variant and option ids per location) built once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hugo_pos.catalog import (
    LocationMenu,
    Menu,
    MenuItem,
    MenuModifierGroup,
    MenuOption,
    MenuVariant,
)

log = logging.getLogger(__name__)

MENU_FILE = "data/hugo_pos/menu.json"


@dataclass(frozen=True)
class LocationIndex:
    """Lookups over one location's menu: variant id -> (item, variant), option id -> (group,
    option), and POS-side ids (e.g. a Loyverse variant_id) -> menu variant ids."""

    menu: LocationMenu
    variants: dict[str, tuple[MenuItem, MenuVariant]]
    options: dict[str, tuple[MenuModifierGroup, MenuOption]]
    pos_ids: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class LoadedMenu:
    """A menu and its per-location indexes."""

    menu: Menu
    locations: dict[str, LocationIndex]

    @classmethod
    def of(cls, menu: Menu) -> LoadedMenu:
        """Index ``menu``."""
        return cls(menu, {lid: _index(loc) for lid, loc in menu.locations.items()})


def _index(loc: LocationMenu) -> LocationIndex:
    variants, options, pos_ids = {}, {}, {}
    for item in loc.items.values():
        for variant in item.variants:
            variants[variant.id] = (item, variant)
            for ids in variant.pos.values():
                values = ids.values() if isinstance(ids, dict) else (ids,)
                for value in values:
                    pos_ids.setdefault(str(value), []).append(variant.id)
        for group in item.modifier_groups:
            for option in group.options:
                options[option.id] = (group, option)
    return LocationIndex(loc, variants, options, {k: tuple(v) for k, v in pos_ids.items()})


class MenuSource:
    """The current menu, reloaded when its file or URL changes.

    ``current()`` is cheap: it looks at the file's mtime at most every ``check_interval`` s (the
    URL every ``url_interval`` s). A menu that fails to load keeps the previous one in service.
    """

    def __init__(self, path: Path | None = None, url: str = "", *,
                 check_interval: float = 1.0, url_interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, background: bool = False) -> None:
        self.path, self.url = path, url
        self.background = background  # revalidate a URL in a thread, never inside a request
        self.check_interval = check_interval if path else url_interval
        self.clock = clock
        self._loaded: LoadedMenu | None = None
        self._stamp: object = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.error = "" if path or url else (
            "no menu: set HUGO_POS_MENU_URL to the site's /hugo-pos/menu.json "
            "(or HUGO_POS_SITE to a built site)")

    def current(self) -> LoadedMenu | None:
        """Return the menu in service (None until one has loaded)."""
        if self._loaded is None:
            self.refresh()
        elif self.clock() - self._checked >= self.check_interval:
            if self.background and self.url:
                self._checked = self.clock()  # one revalidation at a time
                threading.Thread(target=self.refresh, daemon=True).start()
            else:
                self.refresh()
        return self._loaded

    def refresh(self, force: bool = False) -> LoadedMenu | None:
        """Reload the menu if it changed (always look when ``force``)."""
        if not self._lock.acquire(blocking=self._loaded is None or force):
            return self._loaded  # another thread is reloading; serve the current menu
        try:
            if self.url:
                self._from_url(force)
            elif self.path:
                self._from_file()
            self._checked = self.clock()
            return self._loaded
        finally:
            self._lock.release()

    def _from_file(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            self._fail(f"{self.path} does not exist; run `hugo_pos build` in the site")
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            self._fail(f"cannot read {self.path}: {exc}")
            return
        self._install(data, stamp)

    def _from_url(self, force: bool) -> None:
        import requests

        headers = {} if force or not self._stamp else {"If-None-Match": str(self._stamp)}
        try:
            response = requests.get(self.url, headers=headers, timeout=(5, 15))
        except requests.RequestException as exc:
            self._fail(f"cannot fetch {self.url}: {type(exc).__name__}")
            return
        if response.status_code == 304:
            return
        if response.status_code != 200:
            self._fail(f"{self.url} answered HTTP {response.status_code}")
            return
        try:
            data = response.json()
        except ValueError:
            self._fail(f"{self.url} is not JSON")
            return
        self._install(data, response.headers.get("ETag") or response.headers.get(
            "Last-Modified"))

    def _install(self, data: dict, stamp: object) -> None:
        try:
            menu = Menu.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            self._fail(f"the menu is not a hugo_pos menu.json ({type(exc).__name__}: {exc})")
            return
        if self._loaded is None or menu.version != self._loaded.menu.version:
            log.info("menu loaded", extra={"menu_version": menu.version})
        self._loaded, self._stamp, self.error = LoadedMenu.of(menu), stamp, ""

    def _fail(self, message: str) -> None:
        if message != self.error:
            log.error("menu not loaded: %s", message)
        self.error = message
