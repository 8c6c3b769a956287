"""Holds racing for the seats of a cabin with a seat map, each racer its own
customer, thread and PostgreSQL connection, released by one barrier: a seat
is sold once, a multi-seat choice is all or nothing, and nobody deadlocks."""

import random

import pytest

from accounts.tokens import issue_token
from bookings.models import Booking, SeatAssignment
from flights.models import Seat
from tests.booking_requests import flight_item
from tests.concurrency.race import record_figures, run_race
from tests.factories import StaffFactory, seat_mapped_cabin
from tests.holds import hold_through_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

SEAT_TAKEN = "409 seat_unavailable"


def hold(token: str, cabin, *numbers: str, seats: int | None = None) -> dict:
    item = flight_item(cabin, seats or len(numbers))
    if numbers:
        item["seat_numbers"] = list(numbers)
    return {"kind": "hold", "token": token, "body": {"items": [item]}}


def assert_seats_match_counters(cabin) -> None:
    """Each active assignment's booking is held or confirmed, held and booked
    equal the seats assigned to held and confirmed bookings, blocked the
    blocked seats, and the four add up to the total."""
    cabin.refresh_from_db()
    active = SeatAssignment.objects.filter(seat__inventory=cabin, active=True)
    statuses = list(active.values_list("booking__status", flat=True))
    assert set(statuses) <= {"held", "confirmed"}
    assert cabin.held_seats == statuses.count("held")
    assert cabin.booked_seats == statuses.count("confirmed")
    assert cabin.blocked_seats == Seat.objects.filter(inventory=cabin, blocked=True).count()
    for booking in Booking.objects.filter(status__in=["held", "confirmed"]):
        seats = sum(item.seats for item in booking.flight_items.all())
        assert booking.seat_assignments.filter(active=True).count() == seats


def test_thirty_customers_race_for_one_seat_exactly_one_wins(make_customers):
    cabin = seat_mapped_cabin(rows=5)
    customers = make_customers(30)

    race = run_race([[hold(token, cabin, "12A")] for _, token in customers])

    record_figures("seat_thirty_for_one", race)
    assert race.outcomes() == {"201": 1, SEAT_TAKEN: 29}
    for answer in race.answers():
        if answer["status"] == 409:
            assert answer["body"]["unavailable_seats"] == ["12A"]
    assert list(SeatAssignment.objects.values_list("seat__number", flat=True)) == ["12A"]
    assert_seats_match_counters(cabin)


def test_overlapping_multi_seat_choices_never_deadlock_nor_hold_in_part(make_customers):
    """24 customers each choose 2 to 4 seats of the same two rows, in shuffled
    order, two rounds: every answer is a 201 or a seat_unavailable (no 500,
    no deadlock), a winner has every seat it chose, and no seat is held twice."""
    rng = random.Random(20261201)
    # Four rows, choices in the first two: the counters never run out first.
    cabin = seat_mapped_cabin(rows=4, columns="ABC DEF")
    numbers = [f"{row}{letter}" for row in (10, 11) for letter in "ABCDEF"]
    customers = make_customers(24)
    workers = [
        [hold(token, cabin, *rng.sample(numbers, rng.randint(2, 4))) for _ in range(2)]
        for _, token in customers
    ]

    race = run_race(workers)

    record_figures("seat_overlapping_choices", race)
    assert set(race.outcomes()) <= {"201", SEAT_TAKEN}
    assert race.outcomes()["201"] >= 1
    taken = []
    for answer in race.answers():
        if answer["status"] == 201:
            (item,) = answer["body"]["items"]
            chosen = answer["job"]["body"]["items"][0]["seat_numbers"]
            assert sorted(item["seat_numbers"]) == sorted(chosen)
            taken += chosen
    assert len(taken) == len(set(taken))
    assert sorted(SeatAssignment.objects.values_list("seat__number", flat=True)) == sorted(taken)
    assert_seats_match_counters(cabin)


def test_picked_seats_on_a_nearly_full_cabin_are_each_sold_once(make_customers, customer):
    """14 seats left of 24; 20 customers ask for 2 each: 7 win, 13 are refused."""
    cabin = seat_mapped_cabin(rows=4, columns="ABC DEF")
    for _ in range(5):
        hold_through_services(customer, cabin, seats=2)
    customers = make_customers(20)

    race = run_race([[hold(token, cabin, seats=2)] for _, token in customers])

    record_figures("seat_picked_nearly_full", race)
    assert race.outcomes() == {"201": 7, "409 insufficient_inventory": 13}
    numbers = list(SeatAssignment.objects.filter(active=True).values_list("seat_id", flat=True))
    assert len(numbers) == len(set(numbers)) == 24
    for answer in race.answers():
        if answer["status"] == 201:
            assert len(answer["body"]["items"][0]["seat_numbers"]) == 2
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (0, 24)
    assert_seats_match_counters(cabin)


@pytest.mark.parametrize("round_", range(3))
def test_blocking_a_seat_while_a_hold_takes_it_one_wins(make_customers, round_):
    cabin = seat_mapped_cabin(rows=2)
    ((_, token),) = make_customers(1)
    staff_token = issue_token(StaffFactory(is_superuser=True))
    block = {
        "kind": "put",
        "token": staff_token,
        "path": f"/api/v1/flights/{cabin.flight_id}/cabins/economy/seats/10C/",
        "body": {"blocked": True},
    }

    race = run_race([[hold(token, cabin, "10C", "10D")], [block]])

    outcomes = race.outcomes()
    assert outcomes in ({"201": 1, SEAT_TAKEN: 1}, {"200": 1, SEAT_TAKEN: 1})
    seat = Seat.objects.get(inventory=cabin, number="10C")
    held = SeatAssignment.objects.filter(seat=seat, active=True).exists()
    assert seat.blocked != held
    assert_seats_match_counters(cabin)
