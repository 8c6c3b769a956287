"""The deliveries' and emails' catch-up in beat's schedule, every 10 seconds:
a retry due past its countdown, a lost message, a worker killed mid-attempt.
And the feed's sequence for the events relayed before it existed, in id order."""

from django.db import migrations
from django.utils import timezone

CATCH_UP = "catch up webhook deliveries and emails"


def create_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_10s, _ = IntervalSchedule.objects.get_or_create(every=10, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=CATCH_UP,
        defaults={
            "task": "events.tasks.catch_up_deliveries",
            "interval": every_10s,
            "expire_seconds": 25,
            "description": "Enqueue the webhook deliveries and customer emails that are due.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=CATCH_UP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_webhooks_and_emails"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_periodic_task, remove_periodic_task),
        migrations.RunSQL(
            """
            UPDATE events_event SET sequence = numbered.n
            FROM (
                SELECT id, row_number() OVER (ORDER BY id) AS n
                FROM events_event WHERE relayed_at IS NOT NULL
            ) AS numbered
            WHERE events_event.id = numbered.id
            """,
            migrations.RunSQL.noop,
        ),
    ]
