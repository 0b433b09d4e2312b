"""JSON log lines for the relay (one object per line), with secrets redacted.

Used by ``hugo_pos relay serve|worker`` and by gunicorn.conf.py. Records carry the fields passed
as ``extra`` (order_id, pos, status, ...); customer phone numbers are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from gunicorn.glogging import Logger

from hugo_pos.cli import RECORD_FIELDS


class JsonFormatter(logging.Formatter):
    """Format a record as ``{"ts", "level", "logger", "message", ...extra}``."""

    # One encoder for every record, and the date and time of the current second formatted once
    # a second: a line per request made json.dumps' encoder and datetime.isoformat a third of
    # the access log's cost.
    _encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one JSON line."""
        entry = {"ts": self.timestamp(record.created), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        entry.update({k: v for k, v in vars(record).items()
                      if k not in RECORD_FIELDS and not k.startswith("_") and v is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self._encode(entry)

    @classmethod
    def timestamp(cls, created: float) -> str:
        """``created`` (epoch seconds) in ISO 8601 UTC to the millisecond, as
        ``datetime.isoformat(timespec="milliseconds")`` writes it."""
        whole = int(created)
        micros = round((created - whole) * 1e6)  # rounded to the microsecond first, as datetime
        if micros >= 1000000:
            whole, micros = whole + 1, micros - 1000000
        second, text = cls._second
        if whole != second:
            text = datetime.fromtimestamp(whole, UTC).isoformat()[:19]
            cls._second = (whole, text)
        return f"{text}.{micros // 1000:03d}+00:00"


class GunicornLogger(Logger):
    """gunicorn's logger without its access log (gunicorn.conf.py's ``logger_class``).

    The relay logs each request itself, with webhook URL tokens redacted. gunicorn, given a
    ``logconfig_dict``, builds every request's access-log fields before its disabled logger
    drops them: about 0.1 ms of CPU per request, for nothing.
    """

    def access(self, resp, req, environ, request_time) -> None:
        """Log nothing."""


def redact_filter() -> logging.Filter:
    """The shared filter that replaces known secrets with ``***`` (for logging configs)."""
    from hugo_pos.cli import REDACT

    return REDACT


def setup_json_logging(level: int = logging.INFO, secrets: set[str] | None = None) -> None:
    """Send every log record to stderr as JSON, redacting ``secrets``."""
    from hugo_pos.cli import REDACT

    REDACT.secrets.update(secrets or ())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(REDACT)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its access log shows raw URLs
