from datetime import date, timedelta

import pytest

from tests.factories import FlightInventoryFactory, RoomTypeFactory, put_nights_on_sale


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
