"""Fixtures for the expiry sweep and reconciliation: inventory, holds made by
the real service, and a way to make them overdue without waiting."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from bookings.reconciliation import find_drift
from tests.factories import FlightInventoryFactory, RoomTypeFactory, UserFactory, put_nights_on_sale


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


def hold(customer, cabin=None, seats=1, room_type=None, rooms=1, nights=2) -> Booking:
    items = []
    if cabin is not None:
        items.append(services.FlightRequest(cabin.flight_id, cabin.cabin_class, seats))
    if room_type is not None:
        check_in = date.today() + timedelta(days=6)
        items.append(
            services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=nights), rooms)
        )
    return services.hold_booking(customer=customer, items=items).booking


def make_overdue(*bookings: Booking, ago: timedelta = timedelta(minutes=1)) -> None:
    """Move the hold window into the past, as if the TTL had run out."""
    now = timezone.now()
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(
        created_at=now - ago - timedelta(minutes=15), expires_at=now - ago
    )


def overdue_holds(count: int, cabin, room_type=None) -> list[Booking]:
    """`count` overdue holds of one seat (and a two-night room on every other
    one), spread over a few customers."""
    customers = [UserFactory() for _ in range(max(1, count // 50))]
    bookings = [
        hold(
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
