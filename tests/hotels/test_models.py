"""The database itself keeps room-night counters consistent."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from bookings.services.inventory import move
from hotels.models import RoomNight
from tests.factories import RoomNightFactory, RoomTypeFactory

pytestmark = pytest.mark.django_db


def _insert_night(**counters):
    values = {"total_rooms": 10, "available_rooms": 10, "held_rooms": 0, "booked_rooms": 0}
    values.update(counters)
    return RoomNight.objects.create(
        room_type=RoomTypeFactory(),
        date=date(2030, 3, 1),
        price=Decimal("80.00"),
        currency="EUR",
        **values,
    )


@pytest.mark.parametrize(
    "counters",
    [
        pytest.param({"available_rooms": 11}, id="more-available-than-total"),
        pytest.param({"available_rooms": 9}, id="fewer-than-total"),
        pytest.param({"available_rooms": 9, "booked_rooms": 2}, id="booked-overflows"),
        pytest.param({"available_rooms": 11, "held_rooms": -1}, id="negative-held"),
        pytest.param({"available_rooms": -1, "held_rooms": 11}, id="negative-available"),
        pytest.param({"total_rooms": -1, "available_rooms": -1}, id="negative-total"),
    ],
)
def test_night_counters_that_do_not_add_up_are_refused(counters):
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_night(**counters)
    assert RoomNight.objects.count() == 0


def test_night_counters_that_add_up_are_accepted():
    night = _insert_night(available_rooms=4, held_rooms=5, booked_rooms=1)
    assert night.committed_rooms == 6


def test_an_update_that_breaks_the_sum_is_refused():
    night = RoomNightFactory(total_rooms=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomNight.objects.filter(pk=night.pk).update(booked_rooms=F("booked_rooms") + 1)
    night.refresh_from_db()
    assert (night.available_rooms, night.booked_rooms) == (3, 0)


def test_moving_more_rooms_than_available_is_refused():
    night = RoomNightFactory(total_rooms=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        move(RoomNight, {night.pk: 2}, source="available", target="held")
    night.refresh_from_db()
    assert (night.available_rooms, night.held_rooms) == (1, 0)


def test_negative_price_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomNightFactory(price=Decimal("-1.00"))


def test_one_night_per_room_type_and_date():
    night = RoomNightFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomNightFactory(room_type=night.room_type, date=night.date)


def test_room_type_code_is_unique_per_hotel():
    room_type = RoomTypeFactory(code="DBL")
    RoomTypeFactory(code="DBL")  # another hotel
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomTypeFactory(hotel=room_type.hotel, code="DBL")
