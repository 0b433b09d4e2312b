"""Read what the hugo-pos partials rendered back out of an HTML page (for the tests).

``read_menu_html(text)`` returns the items of every ``data-hugo-pos-item`` article, with their
variants and modifier options, and every link of the page, using only the markup hooks the
partials promise (data-hugo-pos-* attributes and hugo-pos-* classes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
_TEXT_CLASSES = {"hugo-pos-item-name": "name", "hugo-pos-variant-name": "name",
                 "hugo-pos-option-name": "name", "hugo-pos-price": "price",
                 "hugo-pos-unavailable": "unavailable", "hugo-pos-item-description": "description"}


@dataclass
class Rendered:
    """One rendered thing (item, variant or option): its data- attributes and texts."""

    attrs: dict[str, str]
    text: dict[str, str] = field(default_factory=dict)
    variants: dict[str, Rendered] = field(default_factory=dict)
    options: dict[str, Rendered] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """Return the text of one part (name, price, unavailable...), stripped."""
        return self.text.get(name, "").strip()


@dataclass
class MenuPage:
    """The items of a page by key, and every link's href in order."""

    items: dict[str, Rendered]
    links: list[str]
    text: str


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: dict[str, Rendered] = {}
        self.links: list[str] = []
        self.stack: list[tuple[str, Rendered | None, str | None]] = []
        self.chunks: list[str] = []
        self.item: Rendered | None = None
        self.part: Rendered | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in _VOID:
            return
        owner, capture = None, None
        if "data-hugo-pos-item" in a:
            self.item = owner = Rendered(a)
            self.items[a["data-hugo-pos-item"]] = owner
        elif "data-hugo-pos-variant" in a and self.item is not None:
            self.part = owner = Rendered(a)
            self.item.variants[a["data-hugo-pos-variant"]] = owner
        elif "data-hugo-pos-option" in a and self.item is not None:
            self.part = owner = Rendered(a)
            self.item.options[a["data-hugo-pos-option"]] = owner
        for cls in a.get("class", "").split():
            if cls in _TEXT_CLASSES:
                capture = _TEXT_CLASSES[cls]
        self.stack.append((tag, owner, capture))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            top, owner, _ = self.stack.pop()
            if owner is self.item:
                self.item = None
            if owner is self.part:
                self.part = None
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        for _, _, capture in reversed(self.stack):
            if capture:
                target = self.part if capture != "description" and self.part else self.item
                if capture == "name" and self.part is None:
                    target = self.item
                if target is not None:
                    target.text[capture] = target.text.get(capture, "") + data
                return


def read_menu_html(html: str) -> MenuPage:
    """Parse a page rendered with the hugo-pos partials."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return MenuPage(items=parser.items, links=parser.links,
                    text=re.sub(r"\s+", " ", "".join(parser.chunks)))
