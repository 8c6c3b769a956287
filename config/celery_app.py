"""The Celery application: Redis broker, beat schedule in the database."""

import os

from celery import Celery, signals

from config import request_id  # noqa: F401 (connects the request id's task signals)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("travel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _use_django_logging(**kwargs):
    """The worker and beat log like the web: the LOGGING setting, request id included."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
