"""Fixtures for the expiry sweep and reconciliation: inventory large enough for
hundreds of holds, and many overdue holds at once (single ones: tests.holds)."""

from datetime import date, timedelta

import pytest

from bookings.models import Booking
from bookings.reconciliation import find_drift
from tests.factories import FlightInventoryFactory, RoomTypeFactory, UserFactory, put_nights_on_sale
from tests.holds import hold_through_services, make_overdue


@pytest.fixture(autouse=True)
def expiry_settings(settings):
    """Many holds per customer, and batches small enough that tests cross them."""
    settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER = 10_000
    return settings


@pytest.fixture
def cabin(db):
    return FlightInventoryFactory(total_seats=500)


@pytest.fixture
def room_type(db):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=5), nights=10, rooms=400)
    return room_type


def overdue_holds(count: int, cabin, room_type=None) -> list[Booking]:
    """`count` overdue holds of one seat (and a two-night room on every other
    one), spread over a few customers."""
    customers = [UserFactory() for _ in range(max(1, count // 50))]
    bookings = [
        hold_through_services(
            customers[i % len(customers)],
            cabin,
            seats=1 + i % 2,
            room_type=room_type if i % 2 == 0 else None,
        )
        for i in range(count)
    ]
    make_overdue(*bookings)
    return bookings


def assert_no_drift() -> None:
    drift = find_drift()
    assert drift == [], "\n".join(d.describe() for d in drift)
