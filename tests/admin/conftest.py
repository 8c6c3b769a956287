"""Staff of each kind, a customer, and inventory with holds made through the
services, so counters and bookings agree as they do in production."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group

from bookings import services
from bookings.staff_groups import BOOKING_AGENTS, INVENTORY_MANAGERS, ensure_staff_groups
from tests.factories import (
    FlightInventoryFactory,
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
    put_nights_on_sale,
)


@pytest.fixture
def staff_groups(db):
    """The groups the migration creates (a flushed database has lost them)."""
    ensure_staff_groups()


def _member_of(group_name: str):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def superuser(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def agent(staff_groups):
    return _member_of(BOOKING_AGENTS)


@pytest.fixture
def inventory_manager(staff_groups):
    return _member_of(INVENTORY_MANAGERS)


@pytest.fixture
def bare_staff(db):
    """is_staff but in no group and with no permission."""
    return StaffFactory()


@pytest.fixture
def shopper(db):
    return UserFactory(first_name="Ada", last_name="Lovelace", email="ada@example.org")


@pytest.fixture
def cabin(db):
    """10 economy seats at 129.00 EUR, departing in 10 days."""
    return FlightInventoryFactory(total_seats=10)


@pytest.fixture
def room_type(db):
    """3 rooms a night at 80.00 EUR for 5 nights from tomorrow."""
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=5, rooms=3)
    return room_type


def hold(customer, cabin=None, seats=1, room_type=None, rooms=1):
    items = []
    if cabin is not None:
        items.append(services.FlightRequest(cabin.flight_id, cabin.cabin_class, seats))
    if room_type is not None:
        check_in = date.today() + timedelta(days=1)
        items.append(
            services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=2), rooms)
        )
    return services.hold_booking(customer=customer, items=items).booking


def make_overdue(booking):
    """Move a hold's clock back so that it is past `expires_at`."""
    from bookings.models import Booking

    Booking.objects.filter(pk=booking.pk).update(
        created_at=booking.created_at - timedelta(hours=1),
        expires_at=booking.created_at - timedelta(minutes=1),
    )
    booking.refresh_from_db()
    return booking
