"""gunicorn settings for `make run`, `make bench` and production. Every value
can be overridden from the environment (gunicorn also reads GUNICORN_CMD_ARGS)."""

import multiprocessing
import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers, one more than the cores (measured with `make bench` on 2 cores,
# README "Performance": hot, the same hour, 3 sync workers 180-199 holds/s at
# p99 130-140 ms; 2 gthread workers x 2 threads 171-175 holds/s at p99
# 158-195 ms). A request is mostly CPU in Python, so threads only add GIL
# contention; the extra worker covers the time one waits on PostgreSQL. gthread
# keeps connections alive, which a load balancer in front makes moot.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# "off": no access log (a load balancer in front usually keeps one).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
if accesslog == "off":
    accesslog = None
errorlog = "-"
# The request id of each answer, so an access line can be matched with the app's logs.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


def _log_format() -> str:
    production = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
    return os.environ.get("LOG_FORMAT") or ("json" if production else "plain")


def _gunicorn_logging() -> dict:
    """gunicorn's own lines through the app's handler: JSON in production."""
    from config.logs import logging_config

    config = logging_config(_log_format(), os.environ.get("LOG_LEVEL", "INFO"))
    for name in ("gunicorn.error", "gunicorn.access"):
        config["loggers"][name] = {"level": "INFO", "handlers": ["console"], "propagate": False}
    return config


logconfig_dict = _gunicorn_logging()


# --- Prometheus multiprocess mode (config/metrics.py) -----------------------------------
# The run and bench scripts set PROMETHEUS_MULTIPROC_DIR to an empty directory
# before anything starts; every worker writes its figures there. Made here, when
# gunicorn reads this file: before the app loads, even with --preload.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
