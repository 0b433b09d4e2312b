"""POS webhooks (DESIGN §6): verify, store, dedupe, answer at once; the worker applies them.

``POST /webhooks/<provider>`` takes signed webhooks (Loyverse OAuth apps: ``X-Loyverse-Signature``
checked with the POS's ``webhook_secret``); ``POST /webhooks/<provider>/<token>`` (or ``?token=``)
takes unsigned ones, whose URL token must equal ``HUGO_POS_WEBHOOK_TOKEN``; their events are
hints, confirmed with the POS (``confirm_event``) before anything changes. A bad signature or
token is a 401 and nothing is stored. Events are stored once per ``(provider, event_id)``, so a
replay is acknowledged and has no second effect.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import asdict
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from hugo_pos.errors import HugoPosError, PosUnavailable
from hugo_pos.hours import is_open
from hugo_pos.providers.base import Provider, WebhookEvent
from hugo_pos.relay.app import MAX_WEBHOOK_BODY, error, request_body
from hugo_pos.relay.store import ORDER_STATUSES

log = logging.getLogger(__name__)

webhooks = Blueprint("webhooks", __name__)
URL_TOKEN_HEADER = "X-Hugo-Pos-Url-Token"
REBUILD_TIMER = "rebuild"
_STATUS_ALIASES = {"done": "completed", "closed": "completed", "paid": "completed",
                   "canceled": "cancelled", "cancel": "cancelled", "refunded": "cancelled"}


def _relay():
    return current_app.extensions["hugo_pos_relay"]


def _error(code: str, message: str, status: int) -> Response:
    return error(code, message, None, status)


@webhooks.post("/webhooks/<provider_name>")
@webhooks.post("/webhooks/<provider_name>/<token>")
def receive(provider_name: str, token: str | None = None) -> Response:
    """Verify a webhook, store its events (deduplicated) and acknowledge it."""
    relay = _relay()
    candidates = [(loc, pos) for loc in relay.config.locations for pos in loc.enabled_pos
                  if pos.provider == provider_name]
    token = token or request.args.get("token")
    body = request_body(MAX_WEBHOOK_BODY)
    if not candidates:
        # Only a caller holding the URL token learns how the relay is configured.
        if token is not None and _token_ok(relay, token):
            return _error("not_found", f"no enabled POS uses the {provider_name} provider", 404)
        return _error("unauthorized", "invalid webhook signature or token", 401)
    found = _authenticate(relay, candidates, token, body)
    if found is None:
        log.warning("webhook refused: bad signature or token", extra={"provider": provider_name})
        return _error("unauthorized", "invalid webhook signature or token", 401)
    try:
        events = _parse(relay, found, candidates, body)
    except HugoPosError as exc:
        return _error("invalid", f"cannot read this webhook: {exc.message}", 400)
    except (ValueError, RecursionError):  # (JSON nested thousands deep)
        return _error("invalid", "cannot read this webhook", 400)
    now, new = relay.now(), 0
    for (location, pos_name), event in events:
        new += relay.store.add_event(
            provider=provider_name, event_id=event.event_id, kind=event.kind,
            pos_name=pos_name, location=event.location,
            payload={"event": asdict(event), "source_location": location},
            needs_confirm=token is not None or event.recheck, now=now)
    if new:
        relay.wake.set()
    log.info("webhook stored", extra={"provider": provider_name, "events": len(events),
                                      "new": new})
    return jsonify({"received": len(events), "new": new, "duplicates": len(events) - new})


def _parse(relay, found, candidates, body: bytes) -> list:
    """Events of every POS of this provider that shares the authenticated POS's account.

    One account (e.g. a Loyverse merchant) may serve several locations; each location's
    provider picks the events that concern it. Events are deduplicated by ``event_id``.
    """
    location, pos_name, provider = found
    events: dict[str, tuple[tuple[str, str], WebhookEvent]] = {}
    for loc, pos in [(loc, pos) for loc, pos in candidates
                     if (loc.id, pos.name) != (location, pos_name)]:
        other = relay.provider(loc.id, pos.name)
        if other.account_key() == provider.account_key():
            for event in other.parse_webhook(body):
                events.setdefault(event.event_id, ((loc.id, pos.name), event))
    for event in provider.parse_webhook(body):
        events[event.event_id] = ((location, pos_name), event)
    return list(events.values())


def _token_ok(relay, token: str) -> bool:
    expected = relay.settings.webhook_token
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def _authenticate(relay, candidates, token: str | None, body: bytes
                  ) -> tuple[str, str, Provider] | None:
    """Return ``(location, pos name, provider)`` of the POS that vouches for this webhook."""
    headers = dict(request.headers)
    if token is not None:
        if not _token_ok(relay, token):
            return None
        expected = relay.settings.webhook_token
        loc, pos = candidates[0]
        provider = relay.provider(loc.id, pos.name)
        try:
            ok = provider.verify_webhook({**headers, URL_TOKEN_HEADER: token}, body, expected)
        except HugoPosError:
            ok = True  # the provider has no check of its own; the URL token was checked above
        return (loc.id, pos.name, provider) if ok else None
    tried: set[str] = set()
    for loc, pos in candidates:
        secret = pos.settings.get("webhook_secret") or ""
        if not secret or secret in tried:
            continue
        tried.add(secret)
        provider = relay.provider(loc.id, pos.name)
        try:
            if provider.verify_webhook(headers, body, secret):
                return loc.id, pos.name, provider
        except HugoPosError:
            continue
    return None


# -- processing (in the worker) -------------------------------------------------------------

def process_events(relay, limit: int = 50) -> int:
    """Apply stored, unprocessed webhook events; return how many were handled."""
    store = relay.store
    now = relay.now()
    rows = store.claim_events(now=now, until=now + relay.settings.claim_ttl, limit=limit)
    for row in rows:
        payload = row["payload"]
        event = WebhookEvent(**{**payload["event"],
                                "variant_ids": tuple(payload["event"]["variant_ids"])})
        try:
            result = _apply(relay, row, payload["source_location"], event)
        except PosUnavailable as exc:
            log.warning("webhook event not confirmed yet: %s", exc.message,
                        extra={"event_id": event.event_id})
            continue  # the claim expires and the event is tried again
        except Exception:  # noqa: BLE001 - one bad event must not block the others
            log.exception("webhook event failed", extra={"event_id": event.event_id})
            result = "error"
        store.finish_event(row["provider"], row["event_id"], result, relay.now())
    return len(rows)


def _confirm(relay, row: dict, source_location: str, event: WebhookEvent
             ) -> WebhookEvent | None:
    """Re-read an unsigned event from the POS: its own location's first, then the others of
    that provider (an unsigned URL does not say which of them sent it)."""
    order = [(source_location, row["pos_name"])] + [
        (loc.id, pos.name) for loc in relay.config.locations for pos in loc.enabled_pos
        if pos.provider == row["provider"] and (loc.id, pos.name) != (source_location,
                                                                       row["pos_name"])]
    seen: set[str] = set()
    for location, pos_name in order:
        provider = relay.provider(location, pos_name)
        if provider.account_key() in seen:
            continue
        seen.add(provider.account_key())
        confirmed = provider.confirm_event(event)
        if confirmed is not None:
            return confirmed
    return None


def _apply(relay, row: dict, source_location: str, event: WebhookEvent) -> str:
    targets = _stock_targets(relay, row, event) if event.kind == "stock" else {}
    if event.kind == "stock" and not any(targets.values()):
        return "ignored"  # on no menu: nothing to mark, so nothing to ask the POS either
    if row["needs_confirm"]:
        event = _confirm(relay, row, source_location, event)
        if event is None:
            return "unconfirmed"
    now = relay.now()
    if event.kind == "order_status":
        status = _STATUS_ALIASES.get((event.status or "").lower(), (event.status or "").lower())
        if status not in ORDER_STATUSES or not event.order_id:
            return "ignored"
        # "in the POS" must not undo what staff did since (accepted, ready, ...).
        only_from = ("received", "attention") if status == "in_pos" else None
        return "applied" if relay.store.set_order_status(event.order_id, status, now,
                                                         only_from=only_from) \
            else "unchanged"
    if event.kind == "stock":
        for location, ids in targets.items():
            relay.store.set_availability(location, sorted(ids), bool(event.available), now)
        relay.forget_live()
        return "applied"
    if event.kind == "catalog_changed":
        relay.store.schedule_timer(REBUILD_TIMER, now, relay.settings.rebuild_debounce,
                                   relay.settings.rebuild_max_wait)
        return "applied"
    return "ignored"


def _stock_targets(relay, row: dict, event: WebhookEvent) -> dict[str, set[str]]:
    """``{location: menu ids}`` a stock event is about (its POS ids mapped through each
    location's menu; taken as they are while no menu is loaded)."""
    loaded = relay.menu.current()
    locations = [event.location] if event.location else [
        loc.id for loc in relay.config.locations
        if any(p.name == row["pos_name"] for p in loc.enabled_pos)]
    targets = {}
    for location in locations:
        index = loaded.locations.get(location) if loaded else None
        ids = set()
        for vid in event.variant_ids:
            if index is not None:
                ids.update(index.pos_ids.get(vid, ()))
                if vid in index.variants or vid in index.options:
                    ids.add(vid)
            else:
                ids.add(vid)
        targets[location] = ids
    return targets


def fire_rebuild(relay) -> bool:
    """POST the rebuild hook once a burst of catalog changes has settled; True if it fired."""
    store, now = relay.store, relay.now()
    if not store.timer_due(REBUILD_TIMER, now) or not store.take_timer(REBUILD_TIMER, now):
        return False
    url = relay.settings.rebuild_hook_url
    if not url:
        log.info("the catalog changed; set HUGO_POS_REBUILD_HOOK_URL to rebuild the site")
        return False
    import requests

    try:
        response = requests.post(url, timeout=(5, 15))
        response.raise_for_status()
    except requests.RequestException as exc:
        log.warning("rebuild hook failed (%s); trying again in 60 s", type(exc).__name__)
        store.schedule_timer(REBUILD_TIMER, relay.now(), 60.0, 60.0)
        return False
    log.info("rebuild hook called")
    return True


def availability_view(relay, location_id: str) -> dict | None:
    """``GET /v1/locations/{id}/availability``: open now, and live sold-out / back-in-stock ids."""
    try:
        location = relay.config.location(location_id)
    except HugoPosError:
        return None
    live = relay.live(location_id)
    loaded = relay.menu.current()
    return {
        "location": location_id,
        "open": is_open(location.hours, location.timezone,
                        datetime.fromtimestamp(relay.now(), UTC)),
        "sold_out": sorted(v for v, ok in live.items() if not ok),
        "available": sorted(v for v, ok in live.items() if ok),
        "menu_version": loaded.menu.version if loaded else None,
    }
