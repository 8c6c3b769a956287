"""What a sweep batch and the drift check cost, in the quantities that follow
the work rather than the machine: Python calls per swept booking, room nights
read per stay, and no JIT compiling in the drift query (README, "Scale")."""

import gc
import sys
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingStatus, HotelItem
from bookings.reconciliation import find_drift
from bookings.services import expire, inventory
from hotels.models import RoomNight
from tests.expiry.conftest import assert_no_drift
from tests.factories import FlightInventoryFactory, RoomTypeFactory, UserFactory, put_nights_on_sale
from tests.holds import make_overdue

# Python calls per booking of one sweep batch (bookings spread over many
# cabins and room types, as at scale): 739 before the batch read each cabin
# once and its room nights in one statement, 567 after (637 with what the
# transition and its event carried since); 421 once a batch reads its items
# into plain lists instead of prefetch_related's manager and queryset per
# booking (`selectors.read_batch_items`).
CALLS_PER_BOOKING = 470


def hold(customer, cabin, room_type, check_in: date) -> Booking:
    items = [
        services.FlightRequest(cabin.flight_id, cabin.cabin_class, 1),
        services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=2), 1),
    ]
    return services.hold_booking(customer=customer, items=items).booking


@pytest.fixture
def spread_holds(db):
    """40 overdue holds, each on its own cabin and room type, their stays
    spread over a year of nights on sale."""
    first = date.today() + timedelta(days=5)
    customer = UserFactory()
    bookings = []
    for i in range(40):
        room_type = RoomTypeFactory()
        put_nights_on_sale(room_type, first + timedelta(days=9 * i), nights=2, rooms=5)
        cabin = FlightInventoryFactory(total_seats=10)
        bookings.append(hold(customer, cabin, room_type, first + timedelta(days=9 * i)))
    make_overdue(*bookings)
    return bookings


def python_calls(function) -> int:
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        function()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_sweep_batch_stays_under_its_python_calls_per_booking(spread_holds):
    calls = python_calls(lambda: expire.expire_bookings(booking_ids=[b.pk for b in spread_holds]))
    assert Booking.objects.filter(status=BookingStatus.EXPIRED).count() == len(spread_holds)
    per_booking = calls / len(spread_holds)
    print(f"{per_booking:.0f} Python calls per swept booking")
    assert per_booking < CALLS_PER_BOOKING
    assert_no_drift()


@pytest.mark.django_db
def test_a_sweep_batch_costs_the_same_queries_whatever_its_size(spread_holds):
    """A batch reads its bookings, their items, cabins and nights and writes
    them in a fixed number of statements: 4 bookings or 36, each on its own
    cabin and room type, cost the same queries."""

    def queries_to_expire(bookings) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert expire.expire_bookings(booking_ids=[b.pk for b in bookings]) == len(bookings)
        return len(queries)

    small, large = queries_to_expire(spread_holds[:4]), queries_to_expire(spread_holds[4:])
    assert small == large
    assert_no_drift()


@pytest.mark.django_db
def test_a_sweep_batch_runs_without_the_cycle_collector(spread_holds):
    """A batch's objects live until it ends; the cyclic collector's full passes
    over them were a fifth to two fifths of a sweep's Python. It is off while a
    batch writes, and on again after."""
    enabled_while_writing = []

    def record(execute, sql, params, many, context):
        if "INSERT INTO bookings_bookingstatuschange" in sql:
            enabled_while_writing.append(gc.isenabled())
        return execute(sql, params, many, context)

    assert gc.isenabled()
    with connection.execute_wrapper(record):
        assert services.expire_overdue_holds() == len(spread_holds)
    assert enabled_while_writing == [False]
    assert gc.isenabled()


@pytest.mark.django_db
def test_a_sweep_reads_only_the_nights_its_stays_cover():
    """Two stays of one room type a year apart: the sweep reads their four
    nights, not the year in between."""
    first = date.today() + timedelta(days=5)
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, first, nights=365, rooms=5)
    cabin = FlightInventoryFactory(total_seats=10)
    customer = UserFactory()
    bookings = [hold(customer, cabin, room_type, first + timedelta(days=d)) for d in (0, 360)]
    make_overdue(*bookings)
    rows_read: Counter[str] = Counter()

    def count_rows(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "hotels_roomnight" in sql and sql.lstrip().upper().startswith("SELECT"):
            rows_read[sql] += context["cursor"].rowcount
        return result

    with connection.execute_wrapper(count_rows):
        assert services.expire_overdue_holds() == 2
    assert sum(rows_read.values()) <= 4 + 4  # their nights, and their cities after commit
    assert_no_drift()


@pytest.mark.django_db
def test_the_drift_query_is_not_jit_compiled(spread_holds):
    """Even where PostgreSQL would JIT-compile any query (jit_above_cost 0),
    the drift query runs without: compiling it cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_jit_available()")
        if not cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL has no JIT (llvmjit not installed)")
        cursor.execute("SET jit_above_cost = 0")
    plans = []

    def explain(execute, sql, params, many, context):
        if "IS DISTINCT FROM" in sql:
            raw = context["cursor"].cursor
            raw.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plans.append(raw.fetchone()[0][0])
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(explain):
            assert find_drift() == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit_above_cost")
    assert len(plans) == 2  # cabins, room nights
    assert [plan for plan in plans if "JIT" in plan] == []


@pytest.mark.django_db
def test_the_nights_of_stays_are_summed_as_read_one_by_one():
    """Overlapping stays of two room types, one night off sale: the same
    rooms per night as reading each stay's nights one by one."""
    first = date.today() + timedelta(days=5)
    types = [RoomTypeFactory(), RoomTypeFactory()]
    for room_type in types:
        put_nights_on_sale(room_type, first, nights=10, rooms=9)
    RoomNight.objects.filter(room_type=types[1], date=first + timedelta(days=3)).delete()
    booking = Booking.objects.create(
        customer=UserFactory(),
        status=BookingStatus.RELEASED,
        created_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=15),
        total_price=0,
        currency="EUR",
    )
    stays = [
        HotelItem.objects.create(
            booking=booking,
            position=position,
            room_type=room_type,
            check_in=first + timedelta(days=start),
            check_out=first + timedelta(days=start + length),
            rooms=rooms,
            unit_price=0,
            line_total=0,
        )
        for position, (room_type, start, length, rooms) in enumerate(
            (
                (types[0], 0, 3, 1),
                (types[0], 2, 4, 2),
                (types[1], 1, 5, 3),
                (types[1], 9, 1, 1),
            )
        )
    ]
    expected = Counter()
    for stay in stays:
        nights = RoomNight.objects.filter(
            room_type_id=stay.room_type_id, date__gte=stay.check_in, date__lt=stay.check_out
        )
        for pk in nights.values_list("pk", flat=True):
            expected[pk] += stay.rooms
    assert inventory._rooms_by_night(stays) == expected
    assert sum(expected.values()) == 1 * 3 + 2 * 4 + 3 * 4 + 1
