"""The expiry sweep on real PostgreSQL and Redis (docs/design.md, Expiry)."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from bookings import selectors, services, tasks
from bookings.exceptions import HoldExpired
from bookings.models import Actor, Booking, BookingStatusChange, RunOutcome, SweepRun
from bookings.services import expire, inventory
from bookings.services.transition import booking_event
from events.models import Event
from flights.models import FlightInventory
from hotels.models import RoomNight
from locking import locks
from tests.expiry.conftest import assert_no_drift, overdue_holds
from tests.factories import UserFactory, seat_mapped_cabin
from tests.holds import hold_through_services, make_overdue


def held_seats(cabin) -> int:
    return FlightInventory.objects.get(pk=cabin.pk).held_seats


def held_rooms(room_type) -> int:
    return sum(RoomNight.objects.filter(room_type=room_type).values_list("held_rooms", flat=True))


@pytest.mark.django_db
def test_sweep_expires_exactly_the_overdue_holds_and_gives_their_units_back(
    customer, staff, cabin, room_type
):
    overdue = [
        hold_through_services(customer, cabin, seats=2, room_type=room_type, rooms=3)
        for _ in range(3)
    ]
    make_overdue(*overdue)
    future = hold_through_services(customer, cabin, seats=1, room_type=room_type)
    confirmed = hold_through_services(customer, cabin, seats=4)
    services.confirm_booking(booking=confirmed, payment_reference="pay-1", actor=customer)
    released = hold_through_services(customer, cabin, seats=5)
    services.cancel_booking(booking=released, actor=customer)
    make_overdue(confirmed, released)  # past their window, but no longer held
    assert held_seats(cabin) == 3 * 2 + 1
    assert held_rooms(room_type) == 3 * 3 * 2 + 2

    assert services.expire_overdue_holds() == 3

    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert {statuses[b.pk] for b in overdue} == {"expired"}
    assert statuses[future.pk] == "held"
    assert statuses[confirmed.pk] == "confirmed"
    assert statuses[released.pk] == "released"
    row = FlightInventory.objects.get(pk=cabin.pk)
    assert (row.held_seats, row.booked_seats, row.available_seats) == (1, 4, 500 - 5)
    assert held_rooms(room_type) == 2
    history = BookingStatusChange.objects.filter(to_status="expired")
    assert sorted(history.values_list("booking_id", flat=True)) == sorted(b.pk for b in overdue)
    assert {(h.from_status, h.actor_kind, h.actor_id) for h in history} == {
        ("held", Actor.SYSTEM, None)
    }
    assert all(b.expired_at is not None for b in Booking.objects.filter(status="expired"))
    assert_no_drift()
    assert services.expire_overdue_holds() == 0  # nothing left: a second run is harmless


@pytest.mark.django_db
def test_sweep_works_in_batches_and_records_the_run(cabin, room_type, settings):
    settings.EXPIRY_BATCH_SIZE = 4
    overdue_holds(10, cabin, room_type)

    assert services.expire_overdue_holds() == 10

    run = SweepRun.objects.latest()
    assert (run.outcome, run.expired, run.batches, run.batch_size) == (
        RunOutcome.FINISHED,
        10,
        3,
        4,
    )
    assert run.finished_at >= run.started_at
    assert held_seats(cabin) == 0
    assert_no_drift()


@pytest.mark.django_db
def test_old_sweep_runs_are_pruned(settings):
    settings.SWEEP_RUN_RETENTION_DAYS = 7
    old = SweepRun.objects.create(
        started_at=timezone.now() - timedelta(days=8), batch_size=1, outcome=RunOutcome.FINISHED
    )
    recent = SweepRun.objects.create(
        started_at=timezone.now() - timedelta(days=6), batch_size=1, outcome=RunOutcome.FINISHED
    )
    services.expire_overdue_holds()
    remaining = set(SweepRun.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert recent.pk in remaining


@pytest.mark.django_db
def test_a_sweep_while_another_runs_does_nothing(cabin):
    bookings = overdue_holds(3, cabin)
    with locks.acquire(locks.singleton_key("expiry-sweep"), wait=0):
        assert services.expire_overdue_holds() == 0
    assert set(Booking.objects.values_list("status", flat=True)) == {"held"}
    assert services.expire_overdue_holds() == len(bookings)


@pytest.mark.django_db
def test_management_command_and_task_run_the_same_sweep(cabin, capsys):
    overdue_holds(2, cabin)
    call_command("expire_holds")
    assert "Expired 2 overdue holds." in capsys.readouterr().out
    overdue_holds(3, cabin)
    assert tasks.expire_holds() == 3  # the task body, run here rather than by a worker
    assert SweepRun.objects.count() == 2
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_a_booking_another_transaction_has_locked(cabin):
    locked, *others = overdue_holds(4, cabin)
    has_lock, done = threading.Event(), threading.Event()

    def lock_one():
        try:
            with transaction.atomic():
                Booking.objects.select_for_update().get(pk=locked.pk)
                has_lock.set()
                assert done.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=lock_one)
    holder.start()
    try:
        assert has_lock.wait(30)
        assert services.expire_overdue_holds() == 3  # without waiting for the lock
        assert Booking.objects.get(pk=locked.pk).status == "held"
    finally:
        done.set()
        holder.join()
    assert services.expire_overdue_holds() == 1
    assert_no_drift()


def _expired_history_per_booking() -> dict[int, int]:
    counts: dict[int, int] = {}
    for booking_id in BookingStatusChange.objects.filter(to_status="expired").values_list(
        "booking_id", flat=True
    ):
        counts[booking_id] = counts.get(booking_id, 0) + 1
    return counts


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("single_flight", [True, False], ids=["redis-lock", "no-redis-lock"])
def test_parallel_sweeps_in_threads_expire_each_booking_once(
    cabin, room_type, settings, single_flight
):
    """With the Redis lock, and without it (what `acquire` yields when Redis is
    down): SKIP LOCKED alone keeps the sweeps from expiring a booking twice."""
    settings.EXPIRY_BATCH_SIZE = 7
    bookings = overdue_holds(120, cabin, room_type)
    sweeps = 4
    barrier = threading.Barrier(sweeps)
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait(30)
            if single_flight:
                counts.append(services.expire_overdue_holds())
            else:
                counts.append(
                    expire.sweep(locks.Locks(degraded=True), batch_size=7, now=timezone.now())
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(sweeps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(counts) == len(bookings)
    assert set(Booking.objects.values_list("status", flat=True)) == {"expired"}
    assert _expired_history_per_booking() == {b.pk: 1 for b in bookings}
    assert held_seats(cabin) == 0
    assert held_rooms(room_type) == 0
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_crash_mid_sweep_leaves_each_booking_fully_expired_or_untouched(
    cabin, room_type, settings, monkeypatch
):
    settings.EXPIRY_BATCH_SIZE = 5
    bookings = overdue_holds(15, cabin, room_type)
    release = inventory.move_units_of
    calls = []

    def crash_in_second_batch(bookings, *, source, target):
        calls.append([booking.pk for booking in bookings])
        if len(calls) == 2:
            # part of the counters moved, then the crash
            release(bookings[:2], source=source, target=target)
            raise RuntimeError("worker lost mid-batch")
        release(bookings, source=source, target=target)

    monkeypatch.setattr(inventory, "move_units_of", crash_in_second_batch)
    with pytest.raises(RuntimeError, match="worker lost"):
        services.expire_overdue_holds()

    first_batch = set(calls[0])
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert {pk for pk, status in statuses.items() if status == "expired"} == first_batch
    assert {statuses[b.pk] for b in bookings if b.pk not in first_batch} == {"held"}
    assert set(_expired_history_per_booking()) == first_batch
    assert_no_drift()
    run = SweepRun.objects.latest()
    assert (run.outcome, run.expired, run.batches) == (RunOutcome.FAILED, 5, 1)
    assert "worker lost" in run.error

    monkeypatch.setattr(inventory, "move_units_of", release)
    assert services.expire_overdue_holds() == 10  # the next run does the rest
    assert _expired_history_per_booking() == {b.pk: 1 for b in bookings}
    assert held_seats(cabin) == 0
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_sweep_racing_confirms_ends_each_booking_confirmed_or_expired(cabin, room_type):
    """The confirms run before `expires_at`; the sweep runs as if it were an
    hour later, so both are entitled to each booking: whoever locks it first
    wins, and the other sees the result."""
    customers = [UserFactory() for _ in range(4)]
    bookings = [
        hold_through_services(
            customers[i % 4], cabin, seats=1 + i % 3, room_type=room_type if i % 2 else None
        )
        for i in range(80)
    ]
    later = max(b.expires_at for b in bookings) + timedelta(hours=1)
    barrier = threading.Barrier(3)
    confirmed: set[int] = set()
    refused: set[int] = set()
    errors: list[BaseException] = []
    swept: list[int] = []

    def sweep():
        try:
            barrier.wait(30)
            swept.append(expire.sweep(locks.Locks(), batch_size=3, now=later))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def confirm(mine):
        try:
            barrier.wait(30)
            for booking in mine:
                try:
                    services.confirm_booking(
                        booking=booking, payment_reference=f"pay-{booking.pk}", actor=None
                    )
                    confirmed.add(booking.pk)
                except HoldExpired:
                    refused.add(booking.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=sweep),
        threading.Thread(target=confirm, args=(bookings[0::2],)),
        threading.Thread(target=confirm, args=(list(reversed(bookings[1::2])),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert {pk for pk, s in statuses.items() if s == "confirmed"} == confirmed
    assert {pk for pk, s in statuses.items() if s == "expired"} == refused
    assert confirmed | refused == {b.pk for b in bookings}
    assert swept == [len(refused)]
    ends = BookingStatusChange.objects.exclude(to_status="held").values_list(
        "booking_id", "to_status"
    )
    assert sorted(ends) == sorted(
        [(pk, "confirmed") for pk in confirmed] + [(pk, "expired") for pk in refused]
    )
    row = FlightInventory.objects.get(pk=cabin.pk)
    seats = {b.pk: 1 + i % 3 for i, b in enumerate(bookings)}
    assert row.held_seats == 0
    assert row.booked_seats == sum(seats[pk] for pk in confirmed)
    assert held_rooms(room_type) == 0
    assert_no_drift()


@pytest.mark.django_db
def test_the_sweeps_events_are_what_the_single_booking_path_writes(customer, cabin, room_type):
    """The sweep reads a batch's items its own way (`read_batch_items`): each
    `booking.expired` event still carries the booking exactly as a transition
    of that one booking, read with `selectors.ITEMS`, describes it: items in
    request order, a seat-mapped cabin's seats given back, stays as held."""
    mapped = seat_mapped_cabin()
    check_in = timezone.now().date() + timedelta(days=5)
    stay = services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=2), 1)
    shapes = [
        [services.FlightRequest(mapped.flight_id, mapped.cabin_class, 2, ("10A", "10B")), stay],
        [stay, services.FlightRequest(cabin.flight_id, cabin.cabin_class, 1)],
        [services.FlightRequest(cabin.flight_id, cabin.cabin_class, 1), stay, stay],
        [stay],
    ]
    bookings = [services.hold_booking(customer=customer, items=items).booking for items in shapes]
    make_overdue(*bookings)

    assert services.expire_overdue_holds() == len(bookings)

    for booking in bookings:
        event = Event.objects.get(
            type="booking.expired", data__booking__reference=booking.reference
        )
        read_alone = Booking.objects.prefetch_related(*selectors.ITEMS).get(pk=booking.pk)
        assert event.data["booking"] == dict(
            booking_event(read_alone, event.created_at).data["booking"]
        )
    assert [item["type"] for item in event_items(bookings[2])] == ["flight", "hotel", "hotel"]
    assert event_items(bookings[0])[0]["seat_numbers"] == []
    assert_no_drift()


def event_items(booking) -> list[dict]:
    event = Event.objects.get(type="booking.expired", data__booking__reference=booking.reference)
    return event.data["booking"]["items"]
