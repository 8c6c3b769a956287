"""The tests' invariant check must be able to fail, or every test that relies
on it proves nothing."""

from datetime import date, timedelta

import pytest

from bookings import services
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.factories import FlightInventoryFactory, RoomTypeFactory, UserFactory, put_nights_on_sale
from tests.invariants import assert_inventory_consistent


@pytest.fixture
def booked_inventory(db):
    cabin = FlightInventoryFactory(total_seats=10)
    room_type = RoomTypeFactory()
    start = date.today() + timedelta(days=3)
    put_nights_on_sale(room_type, start, nights=4, rooms=5)
    services.hold_booking(
        customer=UserFactory(),
        items=[
            services.FlightRequest(cabin.flight_id, cabin.cabin_class, 2),
            services.HotelRequest(room_type.pk, start, start + timedelta(days=2), 1),
        ],
    )
    return cabin, room_type


def test_consistent_inventory_passes(booked_inventory):
    assert_inventory_consistent()


def test_a_held_counter_without_its_booking_fails(booked_inventory):
    cabin, _ = booked_inventory
    FlightInventory.objects.filter(pk=cabin.pk).update(held_seats=3, available_seats=7)
    with pytest.raises(AssertionError, match=rf"cabin #{cabin.pk} .*: held 3 \(expected 2\)"):
        assert_inventory_consistent()


def test_a_room_night_off_by_one_fails(booked_inventory):
    _, room_type = booked_inventory
    night = RoomNight.objects.filter(room_type=room_type, held_rooms=1).first()
    RoomNight.objects.filter(pk=night.pk).update(held_rooms=0, available_rooms=5)
    with pytest.raises(AssertionError, match=rf"room night #{night.pk} .*held 0 \(expected 1\)"):
        assert_inventory_consistent()
