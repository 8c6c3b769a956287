from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking
from tests.factories import FlightInventoryFactory, RoomTypeFactory, put_nights_on_sale
from tests.invariants import assert_inventory_consistent

BOOKINGS_URL = "/api/v1/bookings/"


@pytest.fixture(autouse=True)
def _inventory_stays_consistent(db):
    """Whatever a bookings test did, every counter still matches the bookings."""
    yield
    assert_inventory_consistent()


@pytest.fixture
def cabin(db):
    """An economy cabin with 10 seats at 129.00 EUR."""
    return FlightInventoryFactory(total_seats=10)


@pytest.fixture
def room_type(db):
    """A room type with 5 rooms a night at 80.00 EUR for 20 nights from tomorrow."""
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=20, rooms=5)
    return room_type


def flight_item(cabin, seats=1):
    return {
        "type": "flight",
        "flight_id": cabin.flight_id,
        "cabin_class": cabin.cabin_class,
        "seats": seats,
    }


def hotel_item(room_type, start_in_days=2, nights=3, rooms=1):
    check_in = date.today() + timedelta(days=start_in_days)
    return {
        "type": "hotel",
        "room_type_id": room_type.pk,
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(),
        "rooms": rooms,
    }


def hold(client, *items, key=None):
    """POST a booking of `items`; `key` is sent as Idempotency-Key."""
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(BOOKINGS_URL, {"items": list(items)}, format="json", **headers)


def booking_url(reference, action=None):
    return f"{BOOKINGS_URL}{reference}/" + (f"{action}/" if action else "")


def make_overdue(reference):
    """Put the hold's `expires_at` in the past, straight in the database (no
    sleeping, no sweep): the booking is now overdue but still stored as held."""
    now = timezone.now()
    updated = Booking.objects.filter(reference=reference).update(
        created_at=now - timedelta(hours=1), expires_at=now - timedelta(seconds=1)
    )
    assert updated == 1
