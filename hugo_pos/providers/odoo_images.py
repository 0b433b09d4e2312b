"""Product images from Odoo, for site items that have none of their own.

Written as ``static/hugo-pos/img/odoo-<template id>.<ext>`` and named in the catalog item's
``pos["image"]`` (``/hugo-pos/img/...``). Cached by the template's ``write_date``: an index in
the provider's cache folder remembers the date of each file, so an unchanged image costs one
batched ``read`` of dates and no download. Never a request per product.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import replace
from pathlib import Path

from hugo_pos.catalog import Catalog
from hugo_pos.providers.base import ProviderContext
from hugo_pos.providers.odoo_rpc import OdooRpc, m2o_id

log = logging.getLogger(__name__)

IMAGE_DIR = Path("hugo-pos/img")
_MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg", b"GIF8": "gif", b"RIFF": "webp",
          b"<svg": "svg", b"<?xm": "svg"}


def attach_images(rpc: OdooRpc, catalog: Catalog, products: list[dict],
                  context: ProviderContext) -> Catalog:
    """Return ``catalog`` with ``pos["image"]`` set on items whose site item has no image."""
    wanted = _templates_without_site_image(products, context)
    if not wanted:
        return catalog
    target = Path(context.static_dir) / IMAGE_DIR
    index_path = Path(context.cache_dir or target) / "odoo-images.json"
    index = _read_index(index_path)
    dates = {r["id"]: str(r.get("write_date") or "")
             for r in rpc.call("product.template", "read", sorted(wanted), fields=["write_date"])}
    stale = [t for t in sorted(wanted) if _stale(index.get(str(t)), dates.get(t, ""), target)]
    if stale:
        for record in rpc.call("product.template", "read", stale, fields=["image_512"]):
            entry = _write_image(target, record["id"], record.get("image_512"))
            index[str(record["id"])] = {"write_date": dates.get(record["id"], ""), **entry}
        index_path.parent.mkdir(parents=True, exist_ok=True)
        index_path.write_text(json.dumps(index, sort_keys=True, indent=1), encoding="utf-8")
    items = []
    for item in catalog.items:
        entry = index.get(str(item.pos.get("product_tmpl_id")), {})
        if item.pos.get("product_tmpl_id") in wanted and entry.get("file"):
            item = replace(item, pos={**item.pos, "image": f"/{IMAGE_DIR.as_posix()}/"
                                                        f"{entry['file']}"})
        items.append(item)
    return replace(catalog, items=tuple(items))


def _stale(entry: dict | None, write_date: str, target: Path) -> bool:
    if entry is None or entry.get("write_date") != write_date:
        return True
    return bool(entry.get("file")) and not (target / entry["file"]).is_file()


def _templates_without_site_image(products: list[dict], context: ProviderContext) -> set[int]:
    without = {}
    for item in context.site_items:
        for variant in item.variants:
            key = (variant.sku or item.sku or "").casefold()
            if key:
                without[key] = not item.image
    return {m2o_id(p["product_tmpl_id"]) for p in products
            if without.get(str(p.get("default_code") or "").casefold())}


def _write_image(target: Path, tmpl_id: int, data: object) -> dict:
    if not data:
        return {"file": ""}
    try:
        raw = base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError):
        log.warning("product.template %s: its image is not valid base64; skipped", tmpl_id)
        return {"file": ""}
    ext = next((e for magic, e in _MAGIC.items() if raw.startswith(magic)), "png")
    name = f"odoo-{tmpl_id}.{ext}"
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(raw)
    return {"file": name}


def _read_index(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
