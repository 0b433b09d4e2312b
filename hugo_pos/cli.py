"""The ``hugo_pos`` command line. Only this module prints or configures logging.

Subcommands import their machinery when they run, so ``hugo_pos --version`` stays fast.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from importlib import import_module
from pathlib import Path

import click

from hugo_pos import __version__

log = logging.getLogger("hugo_pos")
# Set by main(): the process ends when the command does (see main's docstring).
_ONE_SHOT = False

# Command groups that live next to what they drive, loaded on first use.
LAZY_COMMANDS = {
    "relay": "hugo_pos.relay.cli:relay",
}


class LazyGroup(click.Group):
    """A click group whose listed subcommands are imported only when called."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, _, attr = LAZY_COMMANDS[name].partition(":")
            return getattr(import_module(module), attr)
        return super().get_command(ctx, name)


# The attributes every LogRecord has; any other was passed as ``extra``.
RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message",
                                                                                  "asctime"}


class RedactSecrets(logging.Filter):
    """Replace every known secret value in log records with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.redact(record.getMessage()), None
            for name in record.__dict__.keys() - RECORD_FIELDS:  # extra: JSON lines show them
                if isinstance(value := record.__dict__[name], str):
                    record.__dict__[name] = self.redact(value)
        return True

    def redact(self, text: str) -> str:
        """``text`` with every known secret (4 characters or more) replaced by ``***``."""
        for secret in self.secrets:
            if len(secret) >= 4 and secret in text:
                text = text.replace(secret, "***")
        return text


REDACT = RedactSecrets()


def setup_logging(verbosity: int) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv, errors only with -q."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(REDACT)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


site_option = click.option("--site", "site", type=click.Path(file_okay=False, path_type=Path),
                           default=".", show_default=True, help="The Hugo site directory.")


def verbosity_options(func):
    """Add -v/--verbose (repeatable) and -q/--quiet to a command."""
    func = click.option("-q", "--quiet", is_flag=True, help="Only print errors.")(func)
    return click.option("-v", "--verbose", count=True, help="More output (-vv: debug).")(func)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hugo_pos")
def cli() -> None:
    """Take orders from a Hugo menu site into each location's POS."""


@cli.command()
@site_option
@click.option("--strict", is_flag=True, help="Treat warnings (and a stale catalog) as errors.")
@click.option("--offline", is_flag=True, help="Use cached POS catalogs; make no request.")
@verbosity_options
def build(site: Path, strict: bool, offline: bool, verbose: int, quiet: bool) -> None:
    """Pull every location's POS catalog, merge it with the menu, write the data files."""
    if _ONE_SHOT:
        # build() pauses the cyclic GC; turned back on, its first pass would walk every object
        # the build made (about 40 ms for 6,000 items) just before the process ends.
        gc.disable()
    from hugo_pos.build import build as run_build

    setup_logging(-1 if quiet else verbose)
    started = time.monotonic()
    result = run_build(site, strict=strict, offline=offline,
                       progress=None if quiet else _progress, on_config=_remember_secrets)
    log.info("build took %.2f s", time.monotonic() - started)
    if not quiet:
        click.echo(result.summary())


def _progress(location: str, pos: str, status: str, seconds: float) -> None:
    click.echo(f"  {status:<7} {location} · {pos} ({seconds:.2f} s)", err=True)


def _remember_secrets(config) -> None:
    REDACT.secrets.update(config.secrets)


@cli.command()
@site_option
def init(site: Path) -> None:
    """Add hugo-pos to an existing Hugo site (never overwrites a file)."""
    from hugo_pos.scaffold import init_site

    for line in init_site(site):
        click.echo(line)


@cli.command()
@click.option("--site", "site", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The Hugo site directory.  [default: the bundled OMG Sushi example]")
@click.option("--port", default=1313, show_default=True, help="Port of `hugo server`.")
@click.option("--relay-port", default=8800, show_default=True, help="Port of the relay.")
@click.option("--hours", is_flag=True,
              help="Keep the opening hours: orders are refused while a location is closed. "
                   "Without it the demo takes orders at any time (HUGO_POS_IGNORE_HOURS).")
def demo(site: Path | None, port: int, relay_port: int, hours: bool) -> None:
    """Build the OMG Sushi example (local provider) and serve it with `hugo server`."""
    from hugo_pos.demo import run_demo

    setup_logging(0)
    run_demo(site, port=port, relay_port=relay_port, echo=click.echo, hours=hours)


def _load_site(site: Path):
    """Load a site's config (remembering its secrets for redaction) and its menu items."""
    from hugo_pos.config import load_config
    from hugo_pos.site import read_site

    config = load_config(site)
    _remember_secrets(config)
    return config, read_site(config)


@cli.command()
@site_option
@click.option("--provider", "provider_name", required=True,
              help="The POS to push to, e.g. loyverse.")
@click.option("--location", default=None, help="Only this location id.")
@click.option("--apply", "apply", is_flag=True, help="Carry the plan out (default: only show it).")
@verbosity_options
def sync(site: Path, provider_name: str, location: str | None, apply: bool, verbose: int,
         quiet: bool) -> None:
    """Plan (and with --apply make) POS items from the site menu. Never deletes."""
    from hugo_pos.sync import plan_sync, render_plans

    setup_logging(-1 if quiet else verbose)
    config, items = _load_site(site)
    click.echo(render_plans(plan_sync(config, items, provider_name, location, apply)))


@cli.command()
@site_option
@click.option("--location", default=None, help="Only this location id.")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit with 1 when there is drift.")
@verbosity_options
def diff(site: Path, location: str | None, exit_code: bool, verbose: int, quiet: bool) -> None:
    """Show drift between the site menu and each POS (prices, missing items); writes nothing."""
    from hugo_pos.sync import find_drift

    setup_logging(-1 if quiet else verbose)
    config, items = _load_site(site)
    drift = find_drift(config, items, location)
    for line in drift:
        click.echo(line)
    click.echo(f"{len(drift)} difference(s)" if drift else "no drift: the site and the POS agree")
    if drift and exit_code:
        sys.exit(1)


@cli.group()
def webhooks() -> None:
    """Manage the POS webhooks that keep the relay up to date."""


@webhooks.command("register")
@site_option
@click.option("--location", default=None, help="Only this location id.")
@verbosity_options
def webhooks_register(site: Path, location: str | None, verbose: int, quiet: bool) -> None:
    """Subscribe the relay to each POS's webhooks (idempotent)."""
    import os

    from hugo_pos.config import read_dotenv
    from hugo_pos.sync import register_webhooks

    setup_logging(-1 if quiet else verbose)
    config, _ = _load_site(site)
    token = os.environ.get("HUGO_POS_WEBHOOK_TOKEN") or read_dotenv(site / ".env").get(
        "HUGO_POS_WEBHOOK_TOKEN")
    if token:
        REDACT.secrets.add(token)
    for line in register_webhooks(config, token, location):
        click.echo(line)


@cli.command()
@site_option
@click.option("--relay", "relay_url", default=None, metavar="URL",
              help="Check this relay instead of the site's relay_url.")
def doctor(site: Path, relay_url: str | None) -> None:
    """Check env vars, POS access, webhooks and the relay; exit 1 if anything fails."""
    from hugo_pos.doctor import diagnose

    setup_logging(-1)
    report = diagnose(site, relay_url=relay_url)
    click.echo(report.table())
    if report.failed:
        sys.exit(1)


def main() -> None:
    """Entry point of the ``hugo_pos`` console script.

    Once the command is done, the process ends without the interpreter's teardown: freeing a
    build's few hundred thousand objects one by one took about 35 ms, for nothing. Files are
    closed by then; logs and output are flushed here. A command that leaves threads running
    gets the normal exit, which waits for them. A build runs without the cyclic GC.
    """
    global _ONE_SHOT
    _ONE_SHOT = True
    try:
        cli()
    except SystemExit as done:
        code = done.code
        if code is not None and not isinstance(code, int):
            raise  # a message to print: let Python do it
    else:
        code = 0
    if any(t.is_alive() and t is not threading.main_thread() for t in threading.enumerate()):
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1  # e.g. stdout closed by `| head`
    os._exit(code or 0)
