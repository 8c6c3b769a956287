"""The database itself keeps flights and seat counters consistent, whatever
Python code (or a bad UPDATE) tries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from bookings.services.inventory import move
from flights.models import Flight, FlightInventory
from tests.factories import FlightFactory, FlightInventoryFactory

pytestmark = pytest.mark.django_db

DEPARTURE = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


def _insert_cabin(**counters):
    flight = FlightFactory()
    values = {"total_seats": 10, "available_seats": 10, "held_seats": 0, "booked_seats": 0}
    values.update(counters)
    return FlightInventory.objects.create(
        flight=flight, cabin_class="economy", price=Decimal("10.00"), currency="EUR", **values
    )


@pytest.mark.parametrize(
    "counters",
    [
        pytest.param({"available_seats": 11}, id="more-available-than-total"),
        pytest.param({"available_seats": 9}, id="fewer-than-total"),
        pytest.param({"available_seats": 9, "held_seats": 2}, id="held-overflows"),
        pytest.param({"available_seats": 11, "held_seats": -1}, id="negative-held"),
        pytest.param({"available_seats": -1, "booked_seats": 11}, id="negative-available"),
        pytest.param({"total_seats": -1, "available_seats": -1}, id="negative-total"),
    ],
)
def test_cabin_counters_that_do_not_add_up_are_refused(counters):
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_cabin(**counters)
    assert FlightInventory.objects.count() == 0


def test_cabin_counters_that_add_up_are_accepted():
    cabin = _insert_cabin(available_seats=5, held_seats=3, booked_seats=2)
    assert cabin.committed_seats == 5


def test_an_update_that_breaks_the_sum_is_refused():
    cabin = FlightInventoryFactory(total_seats=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightInventory.objects.filter(pk=cabin.pk).update(held_seats=F("held_seats") + 1)
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (10, 0)


def test_moving_more_seats_than_available_is_refused():
    cabin = FlightInventoryFactory(total_seats=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        move(FlightInventory, {cabin.pk: 3}, source="available", target="held")
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (2, 0)


def test_negative_price_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightInventoryFactory(price=Decimal("-0.01"))


def test_one_inventory_row_per_cabin_class():
    cabin = FlightInventoryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightInventoryFactory(flight=cabin.flight, cabin_class=cabin.cabin_class)


def test_origin_equal_to_destination_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightFactory(origin="HAN", destination="HAN")
    assert not Flight.objects.exists()


@pytest.mark.parametrize("minutes", [0, -30], ids=["same-time", "before"])
def test_arrival_not_after_departure_is_refused(minutes):
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightFactory(departure_at=DEPARTURE, arrival_at=DEPARTURE + timedelta(minutes=minutes))
    assert not Flight.objects.exists()


def test_flight_number_is_unique_per_utc_departure_date():
    FlightFactory(flight_number="VN123", departure_at=DEPARTURE)
    FlightFactory(flight_number="VN123", departure_at=DEPARTURE + timedelta(days=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightFactory(flight_number="VN123", departure_at=DEPARTURE + timedelta(hours=10))
    assert Flight.objects.count() == 2


def test_departure_date_is_the_utc_date():
    # 06:30 in Hanoi (UTC+7) on 2 March is still 1 March in UTC.
    hanoi = datetime.fromisoformat("2030-03-02T06:30:00+07:00")
    flight = FlightFactory(departure_at=hanoi, arrival_at=hanoi + timedelta(hours=2))
    assert str(flight.departure_date) == "2030-03-01"


def test_departure_date_follows_writes_that_skip_save():
    """PostgreSQL computes it: bulk inserts and UPDATEs cannot leave it behind."""
    (flight,) = Flight.objects.bulk_create(
        [
            Flight(
                flight_number="VN7",
                origin="HAN",
                destination="SGN",
                departure_at=datetime.fromisoformat("2030-03-02T06:30:00+07:00"),
                arrival_at=datetime.fromisoformat("2030-03-02T08:30:00+07:00"),
            )
        ]
    )
    assert str(Flight.objects.get(pk=flight.pk).departure_date) == "2030-03-01"
    Flight.objects.filter(pk=flight.pk).update(
        departure_at=F("departure_at") + timedelta(hours=1),
        arrival_at=F("arrival_at") + timedelta(hours=1),
    )
    assert str(Flight.objects.get(pk=flight.pk).departure_date) == "2030-03-02"
    assert Flight.departure_date_of(DEPARTURE) == DEPARTURE.date()
