"""``hugo_pos relay``: serve the relay, run a delivery worker, list and retry orders."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from hugo_pos.errors import HugoPosError
from hugo_pos.relay.settings import RelaySettings

log = logging.getLogger(__name__)

site_option = click.option("--site", "site", type=click.Path(file_okay=False, path_type=Path),
                           default=None, help="The Hugo site directory (default: HUGO_POS_SITE).")
config_option = click.option("--config", "config_path", default=None,
                             type=click.Path(dir_okay=False, path_type=Path),
                             help="A locations.yaml path (default: HUGO_POS_CONFIG).")


def _settings(site: Path | None, config_path: Path | None = None, **overrides) -> RelaySettings:
    settings = RelaySettings.from_env()
    changes = {k: v for k, v in overrides.items() if v is not None}
    if site is not None:
        changes["site"] = site.resolve()
    if config_path is not None:
        changes["config_path"] = config_path.resolve()
    if settings.site is None and settings.config_path is None and "site" not in changes \
            and "config_path" not in changes:
        changes["site"] = Path.cwd()
    return replace(settings, **changes)


def _relay(settings: RelaySettings):
    from hugo_pos.relay.logs import setup_json_logging
    from hugo_pos.relay.service import Relay

    relay = Relay(settings)
    setup_json_logging(secrets=relay.secrets)
    return relay


@click.group()
def relay() -> None:
    """The order relay: HTTP API, delivery worker, kitchen board."""


@relay.command()
@site_option
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8800, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Do not deliver in this process "
              "(run `hugo_pos relay worker` instead).")
def serve(site: Path | None, config_path: Path | None, host: str, port: int,
          no_worker: bool) -> None:
    """Serve the relay locally (production: gunicorn 'hugo_pos.relay.app:create_app()')."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from hugo_pos.relay.app import create_app
    from hugo_pos.relay.deliver import Worker

    settings = _settings(site, config_path, worker="off")
    relay_ = _relay(settings)
    app = create_app(relay=relay_)
    worker = None if no_worker else Worker(relay_).start()

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:  # the app logs requests (redacted)
            pass

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    click.echo(f"relay listening on http://{host}:{server.port}/", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if worker:
            worker.stop()


@relay.command()
@site_option
@config_option
def worker(site: Path | None, config_path: Path | None) -> None:
    """Deliver orders and process webhooks (a process of its own, beside gunicorn)."""
    from hugo_pos.relay.deliver import run_until_signalled

    run_until_signalled(_relay(_settings(site, config_path)))


@relay.command()
@site_option
@config_option
@click.argument("order_id")
def retry(site: Path | None, config_path: Path | None, order_id: str) -> None:
    """Send an order's failed deliveries again (with a fresh retry budget)."""
    relay_ = _relay(_settings(site, config_path))
    found = relay_.store.order(order_id)
    if found is None:
        raise HugoPosError(f"no order {order_id!r}", "list orders with `hugo_pos relay orders`")
    order_id = found["id"]
    count = relay_.store.requeue(order_id, relay_.now())
    click.echo(f"{order_id}: {count} failed deliver{'y' if count == 1 else 'ies'} requeued"
               if count else f"{order_id}: no failed delivery to retry")


@relay.command()
@site_option
@config_option
@click.option("--status", default=None, help="Only orders with this status "
              "(received, in_pos, accepted, ready, completed, cancelled, attention).")
@click.option("--location", default=None, help="Only orders of this location.")
@click.option("--limit", default=50, show_default=True, type=int)
def orders(site: Path | None, config_path: Path | None, status: str | None,
           location: str | None, limit: int) -> None:
    """List recent orders with the state of each POS delivery."""
    from hugo_pos.money import format_money
    from hugo_pos.relay.store import ORDER_STATUSES

    if status and status not in ORDER_STATUSES:
        raise HugoPosError(f"unknown status {status!r}", f"use one of {', '.join(ORDER_STATUSES)}")
    relay_ = _relay(_settings(site, config_path))
    rows = relay_.store.orders(status=status, location=location, limit=limit)
    if not rows:
        click.echo("no orders")
    for row in rows:
        when = datetime.fromtimestamp(row["created_at"], UTC).strftime("%Y-%m-%d %H:%M")
        deliveries = ", ".join(
            f"{d['pos_name']}={d['status']}" + (f" ({d['last_error']})" if d["status"] ==
                                                "failed" and d["last_error"] else "")
            for d in row["deliveries"])
        click.echo(f"{row['id']}  {when}  {row['location']:<12} {row['status']:<10} "
                   f"{format_money(row['total'], row['currency']):>14}  {deliveries}")
