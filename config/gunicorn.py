"""gunicorn settings for `make run`, `make bench` and production. Every value
can be overridden from the environment (gunicorn also reads GUNICORN_CMD_ARGS)."""

import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
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
