"""reconcile_inventory checks seat maps too: seat drift injected by hand is
found (exit 1) and `--fix` repairs it under the cabin's lock."""

import pytest

from bookings import services
from bookings.models import SeatAssignment
from bookings.seat_reconciliation import find_seat_drift
from flights.models import Seat
from tests.expiry.test_reconcile import reconcile
from tests.factories import seat_mapped_cabin
from tests.holds import hold_through_services
from tests.invariants import assert_inventory_consistent

pytestmark = pytest.mark.django_db


def test_seats_that_match_exit_0(customer):
    cabin = seat_mapped_cabin()
    hold_through_services(customer, cabin, seats=2)
    assert find_seat_drift() == []
    assert reconcile()[0] == 0


def test_an_item_that_lost_a_seat_is_given_one(customer):
    cabin = seat_mapped_cabin()
    booking = hold_through_services(customer, cabin, seats=2)
    SeatAssignment.objects.filter(booking=booking, seat__number="10B").update(active=False)
    code, out = reconcile()
    assert code == 1
    assert "held 2 but 1 seats" in out
    code, out = reconcile("--fix")
    assert code == 0, out
    assert "[fixed]" in out
    assert SeatAssignment.objects.filter(booking=booking, active=True).count() == 2
    assert_inventory_consistent()


def test_a_released_booking_still_on_a_seat_lets_it_go(customer):
    cabin = seat_mapped_cabin()
    booking = hold_through_services(customer, cabin, seats=1)
    services.cancel_booking(booking=booking, actor=customer)
    SeatAssignment.objects.filter(booking=booking).update(active=True)
    code, out = reconcile()
    assert code == 1
    assert "1 seats still assigned to ended bookings" in out
    assert reconcile("--fix")[0] == 0
    assert not SeatAssignment.objects.filter(active=True).exists()


def test_a_seat_blocked_behind_the_counters_back_is_counted(customer):
    cabin = seat_mapped_cabin()
    Seat.objects.filter(inventory=cabin, number="12F").update(blocked=True)
    assert reconcile()[0] == 1
    assert reconcile("--fix")[0] == 0
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.blocked_seats) == (17, 1)
    assert_inventory_consistent()
