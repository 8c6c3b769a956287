"""seed_scale: data at scale, loaded with COPY, whose counters add up."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from bookings import scale_seed
from bookings.models import Booking, BookingStatus, BookingStatusChange, FlightItem, HotelItem
from bookings.reconciliation import find_drift
from flights.models import Flight, FlightInventory
from hotels.models import Hotel, RoomNight, RoomType
from tests.faults.checks import HALF_CHANGED_BOOKINGS

pytestmark = pytest.mark.django_db

TINY = {
    "routes": 5,
    "days": 3,
    "hotels": 3,
    "room_types": 2,
    "customers": 4,
    "bookings": 40,
    "overdue_holds": 6,
}


def seed_scale(**options) -> dict:
    out = StringIO()
    call_command("seed_scale", as_json=True, stdout=out, **options)
    return json.loads(out.getvalue())


def test_a_tiny_load_has_its_counts_and_no_drift():
    result = seed_scale(**TINY)

    assert result["counts"] == {
        "flights": 15,
        "cabins": 45,
        "hotels": 3,
        "room_nights": 3 * 2 * 3,
        "customers": 4,
        "bookings": 46,
    }
    assert Flight.objects.count() == 15
    assert FlightInventory.objects.count() == 45
    assert RoomType.objects.count() == 6 and RoomNight.objects.count() == 18
    assert Booking.objects.count() == 46
    assert Booking.objects.filter(status=BookingStatus.HELD).count() == 6
    assert FlightItem.objects.count() == 46 and HotelItem.objects.count() == 23
    assert find_drift() == []
    # Inside the test's transaction VACUUM cannot run: ANALYZE alone.
    assert result["settled"]["statement"] == "ANALYZE"
    # The load is not trivially consistent: bookings do hold seats and rooms.
    cabins = FlightInventory.objects.aggregate(held=Sum("held_seats"), booked=Sum("booked_seats"))
    assert cabins["held"] > 0 and cabins["booked"] > 0
    assert RoomNight.objects.aggregate(booked=Sum("booked_rooms"))["booked"] > 0


def test_every_booking_is_whole_with_its_history():
    seed_scale(**TINY)

    from django.db import connection

    with connection.cursor() as cursor:
        for name, query in HALF_CHANGED_BOOKINGS.items():
            cursor.execute(query)
            assert cursor.fetchall() == [], name
    assert BookingStatusChange.objects.filter(to_status=BookingStatus.CANCELLED).exists()


def test_fraction_scales_every_count():
    result = seed_scale(fraction=0.0001, days=2)

    assert result["sizes"] == {
        "routes": 1,  # 1,000 x 0.0001 rounds to 0: at least one is kept
        "days": 2,
        "hotels": 1,
        "room_types": 4,
        "customers": 10,
        "bookings": 100,
        "overdue_holds": 0,
    }
    assert find_drift() == []


def test_a_second_load_needs_reset_which_replaces_the_first():
    seed_scale(**TINY)
    with pytest.raises(CommandError, match="already loaded"):
        seed_scale(**TINY)

    seed_scale(reset=True, **{**TINY, "routes": 2, "bookings": 10, "overdue_holds": 0})

    assert Flight.objects.count() == 2 * 3
    assert Booking.objects.count() == 10
    assert Hotel.objects.count() == 3
    assert find_drift() == []


def test_sizes_that_do_not_fit_are_refused_before_anything_is_written():
    with pytest.raises(CommandError, match="too many bookings for the flights"):
        seed_scale(routes=1, days=1, hotels=50, customers=2, bookings=500)

    assert not Flight.objects.exists() and not Booking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_load_outside_a_transaction_is_vacuumed_so_its_first_reads_do_not_write():
    result = seed_scale(**TINY)

    assert result["settled"]["statement"] == "VACUUM (ANALYZE)"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relpages, relallvisible FROM pg_class WHERE relname = ANY(%s)",
            [list(scale_seed.TABLES)],
        )
        pages = {name: (total, visible) for name, total, visible in cursor.fetchall()}
    assert set(pages) == set(scale_seed.TABLES)
    # Every page in the visibility map (ANALYZE alone leaves it empty): the
    # rows' hint bits are set and index-only scans can skip the heap.
    assert all(total > 0 and visible == total for total, visible in pages.values()), pages
