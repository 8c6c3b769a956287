"""The fault tests' judges can fail: the SQL checks catch half-changed
bookings, and the contract check catches bad answers. Fast: on the ordinary
test database, no stack. (Counter drift is reconcile_inventory's, tested in
tests/expiry/test_reconcile.py.)"""

from datetime import date, timedelta

import pytest
from django.db import connection

from bookings import services
from bookings.models import Booking
from tests.factories import FlightInventoryFactory, RoomTypeFactory, UserFactory, put_nights_on_sale
from tests.faults.checks import half_changed_bookings
from tests.faults.traffic import judge


def _database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}"
        f"/{settings['NAME']}"
    )


@pytest.fixture
def booked(transactional_db):
    """Two committed bookings (the checks read through their own connection):
    one held, one confirmed, over a cabin and a room type."""
    cabin = FlightInventoryFactory(total_seats=10)
    room_type = RoomTypeFactory()
    check_in = date.today() + timedelta(days=2)
    put_nights_on_sale(room_type, check_in, nights=3, rooms=5)
    customer = UserFactory()
    items = [
        services.FlightRequest(cabin.flight_id, cabin.cabin_class, 2),
        services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=2), 1),
    ]
    held = services.hold_booking(customer=customer, items=items).booking
    confirmed = services.hold_booking(customer=customer, items=items).booking
    services.confirm_booking(booking=confirmed, payment_reference="pay-1", actor=customer)
    return {"cabin": cabin, "room_type": room_type, "held": held, "confirmed": confirmed}


def test_consistent_bookings_pass(booked):
    assert half_changed_bookings(_database_url()) == []


def test_half_changed_bookings_are_caught(booked):
    Booking.objects.filter(pk=booked["confirmed"].pk).update(confirmed_at=None)
    # A status written without its history row (and without moving counters).
    Booking.objects.filter(pk=booked["held"].pk).update(status="released")
    problems = half_changed_bookings(_database_url())
    assert any("do not match their status" in p for p in problems), problems
    assert any("last status change" in p for p in problems), problems


@pytest.mark.parametrize(
    ("status", "headers", "body", "problem"),
    [
        (201, {}, {"reference": "ABC234"}, None),
        (409, {}, {"code": "insufficient_inventory", "detail": "x"}, None),
        (503, {"Retry-After": "5"}, {"code": "service_unavailable", "detail": "x"}, None),
        (503, {}, {"code": "service_unavailable", "detail": "x"}, "without"),
        (500, {}, {"code": "server_error", "detail": "x"}, "server error"),
        (502, {}, None, "without a JSON body"),
        (400, {}, {"code": "validation_error", "detail": "x"}, "unexpected"),
        (429, {}, {"code": "throttled", "detail": "x"}, "without Retry-After"),
    ],
)
def test_contract_judge(status, headers, body, problem):
    found = judge(status, headers, body)[2]
    if problem is None:
        assert found is None
    else:
        assert found and problem in found
