"""Sweeps in separate processes, and the real Celery worker and beat."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from bookings.models import Booking, BookingStatusChange, SweepRun
from flights.models import FlightInventory
from tests.expiry import processes
from tests.expiry.conftest import assert_no_drift, overdue_holds
from tests.holds import hold_through_services


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis", ["up", "down"])
def test_parallel_sweeps_in_processes_expire_each_booking_once(cabin, room_type, redis):
    """Three sweep processes started together. With Redis up, the lock makes
    them single-flight; with Redis unreachable they all run, and SKIP LOCKED
    keeps them from expiring any booking twice."""
    bookings = overdue_holds(300, cabin, room_type)
    env = processes.environment()
    if redis == "down":
        env["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    sweeps = [
        processes.start(
            ["-m", "tests.expiry.sweep_process", "5"],
            env,
            stdin=processes.subprocess.PIPE,
            stdout=processes.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    try:
        for sweep in sweeps:
            assert sweep.stdout.readline().strip() == "ready"
        for sweep in sweeps:
            sweep.stdin.write("go\n")
            sweep.stdin.flush()
        counts = [int(sweep.stdout.readline()) for sweep in sweeps]
        for sweep in sweeps:
            assert sweep.wait(60) == 0
    finally:
        for sweep in sweeps:
            processes.stop(sweep)

    assert sum(counts) == len(bookings)
    history = list(
        BookingStatusChange.objects.filter(to_status="expired").values_list("booking_id", flat=True)
    )
    assert sorted(history) == sorted(b.pk for b in bookings)
    assert set(Booking.objects.values_list("status", flat=True)) == {"expired"}
    assert FlightInventory.objects.get(pk=cabin.pk).held_seats == 0
    assert_no_drift()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_expire_a_short_hold_on_their_own(customer, cabin, settings, tmp_path):
    """Beat (DatabaseScheduler) sends the sweep on the migration's schedule,
    shortened here to every second; the worker runs it; the hold expires with
    nobody calling the task."""
    from importlib import import_module

    from django.apps import apps

    import_module("bookings.migrations.0005_periodic_tasks").create_periodic_tasks(apps, None)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.filter(name="expire holds").update(interval=every_second, enabled=True)
    PeriodicTasks.update_changed()
    settings.HOLD_TTL_SECONDS = 2
    booking = hold_through_services(customer, cabin, seats=3)
    assert booking.expires_at <= timezone.now() + timedelta(seconds=2)

    env = processes.environment()
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    with worker_log.open("w") as worker_out, beat_log.open("w") as beat_out:
        worker = processes.start(
            [
                "-m",
                "celery",
                "--app",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"expiry-test-{time.monotonic_ns()}@%h",
            ],
            env,
            stdout=worker_out,
            stderr=processes.subprocess.STDOUT,
        )
        beat = processes.start(
            [
                "-m",
                "celery",
                "--app",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--max-interval",
                "1",
            ],
            env,
            stdout=beat_out,
            stderr=processes.subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while Booking.objects.get(pk=booking.pk).status != "expired":
                logs = f"worker:\n{worker_log.read_text()}\nbeat:\n{beat_log.read_text()}"
                assert worker.poll() is None, logs
                assert beat.poll() is None, logs
                assert time.monotonic() < deadline, f"the hold never expired\n{logs}"
                time.sleep(0.2)
        finally:
            processes.stop(beat)
            processes.stop(worker)

    assert FlightInventory.objects.get(pk=cabin.pk).held_seats == 0
    assert SweepRun.objects.filter(expired__gte=1).exists()
    assert "Sending due task expire holds" in beat_log.read_text()
    assert "expiry sweep: expired 1 holds" in worker_log.read_text()
    assert_no_drift()
