"""The LOGGING setting: plain lines for a developer, JSON lines (one object a
line, for a log shipper) in production; both carry the request id.

Nothing here logs request headers or bodies: tokens, passwords and payment
references never reach a log line from this configuration. Django's request
records carry the request object; the JSON formatter leaves it out.
"""

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

FORMATS = ("json", "plain")


def logging_config(log_format: str, level: str) -> dict:
    log_format = log_format.lower()
    if log_format not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(FORMATS)}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.request_id.RequestIdFilter"}},
        "formatters": {
            "plain": {
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": ["levelname", "name", "message", "request_id"],
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
                "reserved_attrs": [*RESERVED_ATTRS, "request", "server_time"],
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
        },
    }
