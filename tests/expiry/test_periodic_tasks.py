"""The data migration that puts the sweep and the reconciliation on beat's
schedule. Its functions are run here on the current models: transactional
tests elsewhere empty the tables the migration filled when the test database
was made."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

migration = importlib.import_module("bookings.migrations.0005_periodic_tasks")


@pytest.mark.django_db
def test_migration_creates_the_two_periodic_tasks_idempotently():
    PeriodicTask.objects.filter(name__in=["expire holds", "reconcile inventory"]).delete()
    migration.create_periodic_tasks(apps, None)
    migration.create_periodic_tasks(apps, None)

    sweep = PeriodicTask.objects.get(name="expire holds")
    assert sweep.task == "bookings.tasks.expire_holds"
    assert (sweep.interval.every, sweep.interval.period) == (60, "seconds")
    assert sweep.enabled
    daily = PeriodicTask.objects.get(name="reconcile inventory")
    assert daily.task == "bookings.tasks.reconcile_inventory"
    assert (daily.crontab.minute, daily.crontab.hour, daily.crontab.day_of_week) == ("17", "3", "*")
    assert PeriodicTask.objects.filter(task__startswith="bookings.tasks.").count() == 2


@pytest.mark.django_db
def test_migration_leaves_a_task_staff_paused_alone_and_reverses():
    migration.create_periodic_tasks(apps, None)
    PeriodicTask.objects.filter(name="expire holds").update(enabled=False)
    migration.create_periodic_tasks(apps, None)
    assert not PeriodicTask.objects.get(name="expire holds").enabled

    migration.remove_periodic_tasks(apps, None)
    assert not PeriodicTask.objects.filter(task__startswith="bookings.tasks.").exists()


def test_the_scheduled_task_names_are_registered():
    from config.celery_app import app

    app.loader.import_default_modules()
    assert {"bookings.tasks.expire_holds", "bookings.tasks.reconcile_inventory"} <= set(app.tasks)
