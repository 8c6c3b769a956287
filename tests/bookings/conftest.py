"""The bookings API's tests: the shared 10-seat cabin (tests/conftest.py), a
room type with room to spare, and the books checked after every test."""

from datetime import date, timedelta

import pytest

from tests.factories import RoomTypeFactory, put_nights_on_sale
from tests.invariants import assert_inventory_consistent


@pytest.fixture(autouse=True)
def _inventory_stays_consistent(db):
    """Whatever a bookings test did, every counter still matches the bookings."""
    yield
    assert_inventory_consistent()


@pytest.fixture
def room_type(db):
    """A room type with 5 rooms a night at 80.00 EUR for 20 nights from tomorrow."""
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=20, rooms=5)
    return room_type
