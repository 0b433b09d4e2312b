"""gunicorn settings for the relay: ``gunicorn 'hugo_pos.relay.app:create_app()'``.

The relay reads its own settings from HUGO_POS_* variables (see hugo_pos/relay/settings.py);
these are the server's: bind address, workers, timeouts, JSON logs. Access logging is done by the
app itself, which redacts webhook URL tokens, so gunicorn's own access log stays off.
"""

import os

bind = os.environ.get("HUGO_POS_BIND", f"0.0.0.0:{os.environ.get('PORT', '8800')}")
# SQLite takes one writer at a time, and a second process's writer waits in SQLite's sleeping
# busy handler: at 200 orders/s, p99 went from 18 ms (1 worker) to 336 ms (2). See bench/RESULTS.md.
_sqlite = not os.environ.get("HUGO_POS_DATABASE_URL", "").startswith("postgres")
workers = int(os.environ.get("WEB_CONCURRENCY") or ("1" if _sqlite else "2"))
threads = int(os.environ.get("HUGO_POS_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
# No max_requests recycling: a recycled worker's delivery thread would die mid-POS-call (its
# claims then wait out their expiry), and memory is flat without it (bench/RESULTS.md: 41-44 MB
# after 26,000 orders). Probes reach /healthz at once, which starts the delivery thread.
accesslog = None
control_socket_disable = True  # the container root is read-only; nothing needs it
errorlog = "-"
worker_tmp_dir = os.environ.get("HUGO_POS_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir(
    "/dev/shm") else None)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hugo_pos.relay.logs.JsonFormatter"}},
    "filters": {"redact": {"()": "hugo_pos.relay.logs.redact_filter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "filters": ["redact"], "stream": "ext://sys.stderr"}},
    "root": {"level": os.environ.get("HUGO_POS_LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}
