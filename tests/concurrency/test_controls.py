"""Controls: the same races with the row locking taken away, to show that the
race really happens and that these tests see it when it does. Each racer is
its own customer, so the per-customer locks (Redis and the customer's row)
never serialize them; only the inventory row lock did. The hold's
`inventory.lock_cabins` (which locks the cabins before the hold decides on
their figures) is replaced by a read without FOR UPDATE and a barrier, so every
racer has read the counters before any of them writes."""

import threading

import pytest

from bookings.reconciliation import find_drift
from bookings.services import inventory, statements
from flights.models import FlightInventory
from tests.booking_requests import flight_item
from tests.bookings import statement_twins
from tests.concurrency.race import BARRIER_TIMEOUT, record_figures, run_race
from tests.concurrency.test_hold_races import REFUSED, hold
from tests.factories import FlightInventoryFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def read_without_locking(barrier):
    """`lock_cabins` without the lock: a plain read of the cabins, then wait
    until every racer has read too."""

    def lock_cabins(pairs):
        wanted = set(pairs)
        rows = {
            (row.flight_id, row.cabin_class): row
            for row in FlightInventory.objects.select_related("flight")
            if (row.flight_id, row.cabin_class) in wanted
        }
        barrier.wait(BARRIER_TIMEOUT)
        return rows

    return lock_cabins


def test_control_without_row_locks_the_last_seat_is_sold_many_times(make_customers, monkeypatch):
    """Ten racers all see the last seat free and all try to take it: the
    database's CheckConstraint refuses the oversell (a 500, where the locked
    version answers 409), so the books stay right but the race is plain."""
    racers = 10
    cabin = FlightInventoryFactory(total_seats=1)
    customers = make_customers(racers)
    monkeypatch.setattr(inventory, "lock_cabins", read_without_locking(threading.Barrier(racers)))

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
    seen = {}

    def remember(pairs):
        seen.update({row.pk: row for row in read(pairs).values()})
        return {(row.flight_id, row.cabin_class): row for row in seen.values()}

    def write_counters_as_read(booking, items, history, event, *, seats, rooms, **rest):
        statement_twins.insert_held_booking(
            booking, items, history, event, seats={}, rooms={}, **rest
        )
        for pk, n in seats.items():
            row = seen[pk]
            FlightInventory.objects.filter(pk=pk).update(
                available_seats=row.available_seats - n, held_seats=row.held_seats + n
            )
        return True

    monkeypatch.setattr(inventory, "lock_cabins", remember)
    monkeypatch.setattr(statements, "insert_held_booking", write_counters_as_read)

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

    def lock_in_request_order(pairs):
        rows = {}
        for i, (flight_id, cabin_class) in enumerate(pairs):  # the order of the items
            if i == 1:
                barrier.wait(BARRIER_TIMEOUT)  # both hold their first row now
            row = (
                FlightInventory.objects.select_for_update(no_key=True, of=("self",))
                .select_related("flight")
                .get(flight_id=flight_id, cabin_class=cabin_class)
            )
            rows[(flight_id, cabin_class)] = row
        return rows

    monkeypatch.setattr(inventory, "lock_cabins", lock_in_request_order)

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
