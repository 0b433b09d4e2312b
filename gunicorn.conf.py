"""gunicorn settings for the relay: ``gunicorn 'hugo_pos.relay.app:create_app()'``.

The relay reads its own settings from HUGO_POS_* variables (see hugo_pos/relay/settings.py);
these are the server's: bind address, workers, timeouts, JSON logs, and where deliveries run.
Access logging is done by the app itself, which redacts webhook URL tokens, so gunicorn's own
access log stays off.
"""

import os

bind = os.environ.get("HUGO_POS_BIND", f"0.0.0.0:{os.environ.get('PORT', '8800')}")
# Two web workers, on SQLite too: its writers take turns on a lock file that wakes the next one
# at once (SQLite's own busy handler sleeps up to 100 ms: at 200 orders/s the p99 was 336 ms
# with 2 workers before the lock file, 12-17 ms after; bench/RESULTS.md).
workers = int(os.environ.get("WEB_CONCURRENCY") or "2")
threads = int(os.environ.get("HUGO_POS_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Deliveries run in a process of their own beside the web workers (HUGO_POS_WORKER=process), on
# the other core while orders come in: inside a web worker they competed with it for one GIL
# (0.35x the baseline's throughput, bench/RESULTS.md). The master starts it when ready, starts
# it again if it dies and stops it on shutdown (hugo_pos/relay/supervise.py). thread and off
# keep the older shapes (off: run `hugo_pos relay worker` yourself).
if not os.environ.get("HUGO_POS_WORKER"):
    os.environ["HUGO_POS_WORKER"] = "process"  # the web workers inherit it
if os.environ["HUGO_POS_WORKER"] == "process":
    from hugo_pos.relay.supervise import on_exit, on_reload, when_ready  # noqa: F401
timeout = 30
graceful_timeout = 20
keepalive = 5
# No max_requests recycling: memory is flat without it (bench/RESULTS.md: 41-47 MB after 26,000
# orders), and with HUGO_POS_WORKER=thread a recycled worker's delivery thread would die
# mid-POS-call (its claims then wait out their expiry).
accesslog = None
logger_class = "hugo_pos.relay.logs.GunicornLogger"
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
