"""Staff of each kind, a customer, and a small room type (the 10-seat cabin
is the shared one of tests/conftest.py); holds come from tests.holds."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group

from bookings.staff_groups import BOOKING_AGENTS, INVENTORY_MANAGERS, ensure_staff_groups
from tests.factories import (
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
def room_type(db):
    """3 rooms a night at 80.00 EUR for 5 nights from tomorrow."""
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=5, rooms=3)
    return room_type
