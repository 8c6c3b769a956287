"""The Celery application: Redis broker, beat schedule in the database."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("travel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
