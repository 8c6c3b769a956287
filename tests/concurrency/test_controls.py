"""Controls: the same races with the row locking taken away, to show that the
race really happens and that these tests see it when it does. Each racer is
its own customer, so the per-customer locks (Redis and the customer's row)
never serialize them; only the inventory row lock did. `move_seats` (which
locks the rows and moves the seats if they are still there, in one statement)
is replaced by a read without FOR UPDATE, a barrier, so every racer has read
the counters before any of them writes, and a write that trusts that read."""

import threading

import pytest
from django.db.models import F

from bookings.reconciliation import find_drift
from flights import services as seats
from flights.models import FlightInventory
from tests.booking_requests import flight_item
from tests.concurrency.race import BARRIER_TIMEOUT, record_figures, run_race
from tests.concurrency.test_hold_races import REFUSED, hold
from tests.factories import FlightInventoryFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def read_without_locking(barrier):
    """A plain read of the rows' counters (no FOR UPDATE), then wait until
    every racer has read too."""

    def read(ids):
        rows = {row.pk: row for row in FlightInventory.objects.filter(pk__in=set(ids))}
        barrier.wait(BARRIER_TIMEOUT)
        return rows

    return read


def move_after_unlocked_check(barrier):
    """`move_seats` that checks the seats on an unlocked read and then moves
    them with F() expressions, whatever happened in between."""
    read = read_without_locking(barrier)

    def move_seats(seats_by_row, *, source, target, only_if_available=False):
        rows = read(seats_by_row)
        assert all(getattr(rows[pk], f"{source}_seats") >= n for pk, n in seats_by_row.items())
        for pk, n in seats_by_row.items():
            FlightInventory.objects.filter(pk=pk).update(
                **{
                    f"{source}_seats": F(f"{source}_seats") - n,
                    f"{target}_seats": F(f"{target}_seats") + n,
                }
            )
        return set(seats_by_row)

    return move_seats


def test_control_without_row_locks_the_last_seat_is_sold_many_times(make_customers, monkeypatch):
    """Ten racers all see the last seat free and all try to take it: the
    database's CheckConstraint refuses the oversell (a 500, where the locked
    version answers 409), so the books stay right but the race is plain."""
    racers = 10
    cabin = FlightInventoryFactory(total_seats=1)
    customers = make_customers(racers)
    monkeypatch.setattr(seats, "move_seats", move_after_unlocked_check(threading.Barrier(racers)))

    race = run_race([[hold(token, flight_item(cabin))] for _, token in customers])

    record_figures("control_no_row_lock", race)
    outcomes = race.outcomes()
    assert outcomes != {"201": 1, REFUSED: racers - 1}  # what the real test demands
    assert outcomes == {"201": 1, "500 server_error IntegrityError": racers - 1}
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (0, 1)


@pytest.mark.unbalances_ledger
def test_control_a_naive_read_modify_write_loses_updates(make_customers, monkeypatch):
    """Without the lock and with counters written as values read earlier
    (instead of F() expressions), eight holds of one seat all succeed but the
    counters record one: only the ledger check notices."""
    racers = 8
    cabin = FlightInventoryFactory(total_seats=10)
    customers = make_customers(racers)
    read = read_without_locking(threading.Barrier(racers))

    def move_seats(seats_by_row, *, source, target, only_if_available=False):
        rows = read(seats_by_row)
        for pk, n in seats_by_row.items():
            row = rows[pk]
            FlightInventory.objects.filter(pk=pk).update(
                **{
                    f"{source}_seats": getattr(row, f"{source}_seats") - n,
                    f"{target}_seats": getattr(row, f"{target}_seats") + n,
                }
            )
        return set(seats_by_row)

    monkeypatch.setattr(seats, "move_seats", move_seats)

    race = run_race([[hold(token, flight_item(cabin))] for _, token in customers])

    record_figures("control_lost_updates", race)
    assert race.outcomes() == {"201": racers}  # the answers alone look fine
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (9, 1)
    assert [(d.pk, d.held, d.expected_held) for d in find_drift()] == [(cabin.pk, 1, racers)]


def test_control_locking_in_request_order_deadlocks(make_customers, monkeypatch):
    """Rows locked in the order the request names them, not by key: A-then-B
    and B-then-A each take their first row, then wait for the other's. The
    real test demands that every such pair of holds succeeds."""
    cabin_a = FlightInventoryFactory(total_seats=10)
    cabin_b = FlightInventoryFactory(total_seats=10)
    (_, first), (_, second) = make_customers(2)
    barrier = threading.Barrier(2)

    move_seats = seats.move_seats

    def lock_in_request_order_then_move(seats_by_row, **kwargs):
        for i, pk in enumerate(seats_by_row):  # the hold's demand, in the order of its items
            if i == 1:
                barrier.wait(BARRIER_TIMEOUT)  # both hold their first row now
            FlightInventory.objects.select_for_update(no_key=True).get(pk=pk)
        return move_seats(seats_by_row, **kwargs)

    monkeypatch.setattr(seats, "move_seats", lock_in_request_order_then_move)

    race = run_race(
        [
            [hold(first, flight_item(cabin_a), flight_item(cabin_b))],
            [hold(second, flight_item(cabin_b), flight_item(cabin_a))],
        ]
    )

    record_figures("control_request_order_locking", race)
    outcomes = race.outcomes()
    assert outcomes != {"201": 2}
    # PostgreSQL breaks the deadlock by failing one of them.
    assert outcomes["201"] == 1
    assert [o for o in outcomes if o != "201"] == ["503 service_unavailable"], outcomes
