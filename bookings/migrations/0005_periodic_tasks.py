"""The beat schedule lives in the database (django-celery-beat), so a fresh
database gets it here: the expiry sweep every minute and the inventory
reconciliation once a day. Staff pause or retime them in the admin
(Periodic tasks). Running this again changes nothing; reversing it removes
the two tasks."""

from django.db import migrations
from django.utils import timezone

EXPIRE_HOLDS = "expire holds"
RECONCILE_INVENTORY = "reconcile inventory"


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="17",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    # get_or_create by name: a task staff already have (perhaps paused) is left alone.
    PeriodicTask.objects.get_or_create(
        name=EXPIRE_HOLDS,
        defaults={
            "task": "bookings.tasks.expire_holds",
            "interval": every_minute,
            # A sweep message that waited in the queue longer than this is
            # dropped: the next minute's sweep does its work.
            "expire_seconds": 50,
            "description": "Expire overdue holds and put their seats and rooms back on sale.",
        },
    )
    PeriodicTask.objects.get_or_create(
        name=RECONCILE_INVENTORY,
        defaults={
            "task": "bookings.tasks.reconcile_inventory",
            "crontab": nightly,
            "description": (
                "Compare every seat and room counter with the bookings; drift is logged as an "
                "error and shown on the dashboard. Repair with `manage.py reconcile_inventory --fix`."
            ),
        },
    )
    _schedule_changed(PeriodicTasks)


def remove_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    PeriodicTask.objects.filter(name__in=[EXPIRE_HOLDS, RECONCILE_INVENTORY]).delete()
    IntervalSchedule.objects.filter(every=60, period="seconds", periodictask__isnull=True).delete()
    CrontabSchedule.objects.filter(
        minute="17", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    ).filter(periodictask__isnull=True).delete()
    _schedule_changed(PeriodicTasks)


def _schedule_changed(PeriodicTasks):
    """What django-celery-beat's signals do (they do not fire for the
    historical models of a migration): tell a running beat to reload."""
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_sweep_and_reconciliation_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, remove_periodic_tasks)]
