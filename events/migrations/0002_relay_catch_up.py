"""The relay's catch-up in beat's schedule (django-celery-beat keeps it in the
database), so a fresh database has it: every minute it relays what a crash
between a commit and its enqueue left behind."""

from django.db import migrations
from django.utils import timezone

RELAY_EVENTS = "relay events"


def create_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=RELAY_EVENTS,
        defaults={
            "task": "events.tasks.relay_events",
            "interval": every_minute,
            "expire_seconds": 50,
            "description": "Relay the outbox's events that no commit's enqueue relayed.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=RELAY_EVENTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, remove_periodic_task)]
