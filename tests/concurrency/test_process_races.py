"""The same races spread over OS processes, as gunicorn workers run them:
each process has its own Django, connections and threads; one barrier across
all of them starts every round."""

import pytest

from tests.booking_requests import flight_item
from tests.concurrency.race import record_figures, run_race
from tests.concurrency.test_hold_races import REFUSED, hold, random_size_race
from tests.concurrency.test_transition_races import transition_race
from tests.factories import FlightInventoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "start_method, processes",
    # gunicorn forks its workers; 'spawn' (a fresh interpreter and django.setup()
    # in each child) costs seconds per child on this machine, so two of them.
    [("fork", 4), ("spawn", 2)],
)
def test_one_seat_holds_from_several_processes_exactly_one_wins(
    make_customers, start_method, processes
):
    cabin = FlightInventoryFactory(total_seats=1)
    customers = make_customers(48)

    race = run_race(
        [[hold(token, flight_item(cabin))] for _, token in customers],
        processes=processes,
        start_method=start_method,
    )

    record_figures(f"one_seat_48_holds_{processes}_processes_{start_method}", race)
    assert race.outcomes() == {"201": 1, REFUSED: 47}
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats, cabin.booked_seats) == (0, 1, 0)


@pytest.mark.timeout(90)
def test_random_sizes_from_four_processes(make_customers):
    random_size_race(make_customers, processes=4, seed=7)


@pytest.mark.timeout(90)
def test_confirm_cancel_and_expiry_race_from_four_processes(make_customers):
    transition_race(make_customers, rounds=30, processes=4, name="confirm_cancel_expire_processes")
