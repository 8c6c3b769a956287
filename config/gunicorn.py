"""gunicorn settings for `make run`, `make bench` and production. Every value
can be overridden from the environment (gunicorn also reads GUNICORN_CMD_ARGS)."""

import multiprocessing
import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers, one more than the cores (measured with `make bench` on 2 cores:
# 3 sync workers beat 2 and 4, and gthread did not beat sync; see
# docs/performance.md). A request is mostly CPU in Django; the extra worker
# covers the time one waits on PostgreSQL.
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
