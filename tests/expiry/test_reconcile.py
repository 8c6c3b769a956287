"""reconcile_inventory: drift injected with raw SQL is found and repaired.
The counters' CheckConstraint wants available + held + booked == total, so
the injected drift keeps the sum and moves units between counters."""

import logging
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from bookings import services, tasks
from bookings.models import Booking, FlightItem, ReconciliationRun, RunOutcome
from bookings.reconciliation import find_drift
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.expiry.conftest import assert_no_drift
from tests.holds import hold_through_services, make_overdue


def reconcile(*args) -> tuple[int, str]:
    """Run the command; its exit code and output."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("reconcile_inventory", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def move_units(table: str, unit: str, pk: int, source: str, target: str, n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {source}_{unit} = {source}_{unit} - %s, "
            f"{target}_{unit} = {target}_{unit} + %s WHERE id = %s",
            [n, n, pk],
        )


@pytest.mark.django_db
def test_no_drift_exits_0(customer, cabin, room_type):
    hold_through_services(customer, cabin, seats=2, room_type=room_type)
    confirmed = hold_through_services(customer, cabin, seats=3)
    services.confirm_booking(booking=confirmed, payment_reference="p", actor=customer)
    code, out = reconcile()
    assert code == 0
    assert "No drift" in out
    run = ReconciliationRun.objects.latest()
    assert (run.outcome, run.drift_count, run.cabins_checked) == (RunOutcome.FINISHED, 0, 1)


@pytest.mark.django_db
def test_overdue_holds_not_yet_swept_still_count_as_held(customer, cabin, room_type):
    make_overdue(hold_through_services(customer, cabin, seats=2, room_type=room_type))
    assert reconcile()[0] == 0


@pytest.mark.django_db
def test_drift_is_listed_with_exit_1_and_fix_repairs_it(customer, cabin, room_type):
    hold_through_services(customer, cabin, seats=2, room_type=room_type, rooms=1, nights=2)
    night = RoomNight.objects.filter(room_type=room_type, held_rooms=1).order_by("date").first()
    move_units("flights_flightinventory", "seats", cabin.pk, "available", "held", 2)
    move_units("hotels_roomnight", "rooms", night.pk, "held", "booked", 1)

    code, out = reconcile()
    assert code == 1
    assert f"cabin #{cabin.pk}" in out
    assert "held 4 (expected 2)" in out
    assert f"room night #{night.pk}" in out
    assert "booked 1 (expected 0)" in out
    assert "--fix" in out
    assert FlightInventory.objects.get(pk=cabin.pk).held_seats == 4  # checking changes nothing
    assert ReconciliationRun.objects.latest().drift_count == 2

    code, out = reconcile("--fix")
    assert code == 0
    assert out.count("[fixed]") == 2
    row = FlightInventory.objects.get(pk=cabin.pk)
    assert (row.available_seats, row.held_seats, row.booked_seats) == (498, 2, 0)
    night.refresh_from_db()
    assert (night.available_rooms, night.held_rooms, night.booked_rooms) == (399, 1, 0)
    run = ReconciliationRun.objects.latest()
    assert (run.fix, run.drift_count, run.fixed_count) == (True, 2, 2)
    assert reconcile()[0] == 0
    assert_no_drift()


@pytest.mark.django_db
def test_drift_that_cannot_be_repaired_is_reported_and_not_written(customer, cabin):
    """Bookings that need more seats than the cabin has: no counters can satisfy
    the constraints, so --fix leaves the row alone and says so."""
    booking = hold_through_services(customer, cabin, seats=1)
    FlightItem.objects.create(
        booking=booking, position=5, inventory=cabin, seats=600, unit_price=1, line_total=600
    )
    before = FlightInventory.objects.get(pk=cabin.pk)

    code, out = reconcile("--fix")

    assert code == 1
    assert "NOT FIXED" in out
    after = FlightInventory.objects.get(pk=cabin.pk)
    assert (after.available_seats, after.held_seats) == (before.available_seats, 1)
    assert ReconciliationRun.objects.latest().unfixable_count == 1


@pytest.mark.django_db
def test_the_daily_task_logs_drift_as_errors(cabin, caplog):
    move_units("flights_flightinventory", "seats", cabin.pk, "available", "booked", 1)
    with caplog.at_level(logging.INFO, logger="bookings"):
        assert tasks.reconcile_inventory() == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("1 inventory rows drift" in message for message in errors)
    assert any(f"cabin #{cabin.pk}" in message for message in errors)
    assert FlightInventory.objects.get(pk=cabin.pk).booked_seats == 1  # the task only reports


@pytest.mark.django_db(transaction=True)
def test_fix_waits_for_the_row_lock_a_service_holds(customer, cabin):
    """--fix takes the services' row locks: while a transaction holds the
    cabin, the repair waits, then recomputes and writes the sums."""
    booking = hold_through_services(customer, cabin, seats=2)
    move_units("flights_flightinventory", "seats", cabin.pk, "available", "held", 3)
    drift = find_drift()
    has_lock, release = threading.Event(), threading.Event()

    def hold_cabin_then_confirm():
        try:
            with transaction.atomic():
                FlightInventory.objects.select_for_update().get(pk=cabin.pk)
                has_lock.set()
                assert release.wait(30)
            services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_cabin_then_confirm)
    holder.start()
    assert has_lock.wait(30)
    result = {}

    def fix():
        try:
            from bookings.reconciliation import Reconciliation, repair

            result["r"] = Reconciliation(drift=drift)
            repair(result["r"])
        finally:
            connections.close_all()

    fixer = threading.Thread(target=fix)
    fixer.start()
    deadline = time.monotonic() + 30
    while not _a_backend_waits_on_a_lock():
        assert time.monotonic() < deadline, "the repair never waited for the row lock"
        assert fixer.is_alive(), "the repair finished without waiting for the row lock"
        time.sleep(0.05)
    release.set()
    holder.join()
    fixer.join()
    assert [d.pk for d in result["r"].fixed] == [cabin.pk]
    row = FlightInventory.objects.get(pk=cabin.pk)
    assert (row.held_seats, row.booked_seats) == (0, 2)
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"
    assert_no_drift()


def _a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
