"""bookings.services where the API does not reach: expire_bookings' filters,
counter moves that add several items on one row, and the actors recorded."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.exceptions import ExtensionLimit, HoldExpired
from bookings.models import Actor, Booking, BookingStatus
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.factories import FlightInventoryFactory, RoomTypeFactory, put_nights_on_sale
from tests.holds import make_overdue
from tests.invariants import assert_inventory_consistent

START = date.today() + timedelta(days=3)


@pytest.fixture
def cabin(db):
    return FlightInventoryFactory(total_seats=20)


@pytest.fixture
def room_type(db):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, START, nights=6, rooms=10)
    return room_type


def seats(cabin):
    cabin.refresh_from_db()
    return (cabin.available_seats, cabin.held_seats, cabin.booked_seats)


def rooms_by_night(room_type):
    """{offset from START: (available, held, booked)} for every night on sale."""
    return {
        (night.date - START).days: (night.available_rooms, night.held_rooms, night.booked_rooms)
        for night in RoomNight.objects.filter(room_type=room_type)
    }


def flight(cabin, n):
    return services.FlightRequest(cabin.flight_id, cabin.cabin_class, n)


def stay(room_type, first_night, nights, rooms):
    check_in = START + timedelta(days=first_night)
    return services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=nights), rooms)


def hold(customer, *items):
    return services.hold_booking(customer=customer, items=list(items)).booking


# --- Several items on the same row -------------------------------------------------------


@pytest.fixture
def overlapping(customer, cabin, room_type):
    """One booking: 2 + 3 seats of one cabin, and two stays of one room type
    that overlap on nights 1 and 2: nights 0-2 x 1 room, nights 1-3 x 2 rooms."""
    return hold(
        customer,
        flight(cabin, 2),
        stay(room_type, 0, 3, 1),
        flight(cabin, 3),
        stay(room_type, 1, 3, 2),
    )


def test_a_hold_adds_up_items_on_the_same_row(overlapping, cabin, room_type):
    assert seats(cabin) == (15, 5, 0)
    assert rooms_by_night(room_type) == {
        0: (9, 1, 0),
        1: (7, 3, 0),
        2: (7, 3, 0),
        3: (8, 2, 0),
        4: (10, 0, 0),
        5: (10, 0, 0),
    }


def test_confirm_moves_the_sum_of_items_on_each_row(overlapping, customer, cabin, room_type):
    services.confirm_booking(booking=overlapping, payment_reference="p", actor=customer)
    assert seats(cabin) == (15, 0, 5)
    assert rooms_by_night(room_type) == {
        0: (9, 0, 1),
        1: (7, 0, 3),
        2: (7, 0, 3),
        3: (8, 0, 2),
        4: (10, 0, 0),
        5: (10, 0, 0),
    }
    assert_inventory_consistent()


def test_cancel_after_confirm_returns_the_sum_of_items_on_each_row(
    overlapping, customer, cabin, room_type
):
    services.confirm_booking(booking=overlapping, payment_reference="p", actor=customer)
    services.cancel_booking(booking=overlapping, actor=customer)
    assert seats(cabin) == (20, 0, 0)
    assert set(rooms_by_night(room_type).values()) == {(10, 0, 0)}


def test_expiring_a_batch_adds_up_every_booking_on_the_same_rows(
    customer, other_customer, cabin, room_type
):
    first = hold(customer, flight(cabin, 2), stay(room_type, 0, 2, 1))
    second = hold(other_customer, flight(cabin, 4), stay(room_type, 1, 2, 3))
    kept = hold(other_customer, flight(cabin, 1))
    make_overdue(first)
    make_overdue(second)

    expired = services.expire_bookings(booking_ids=[first.pk, second.pk, kept.pk], note="test")

    assert expired == 2
    assert seats(cabin) == (19, 1, 0)
    assert set(rooms_by_night(room_type).values()) == {(10, 0, 0)}
    assert Booking.objects.get(pk=kept.pk).status == BookingStatus.HELD


# --- expire_bookings ----------------------------------------------------------------------


def test_expire_bookings_skips_bookings_that_are_not_overdue(customer, cabin):
    booking = hold(customer, flight(cabin, 2))
    assert services.expire_bookings(booking_ids=[booking.pk]) == 0
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.HELD
    assert seats(cabin) == (18, 2, 0)


def test_expire_bookings_expires_at_its_now(customer, cabin):
    """`now` lets the sweep (and this test) decide what is overdue, no sleeping."""
    booking = hold(customer, flight(cabin, 2))
    later = booking.expires_at + timedelta(seconds=1)
    assert services.expire_bookings(booking_ids=[booking.pk], now=later - timedelta(seconds=2)) == 0
    assert services.expire_bookings(booking_ids=[booking.pk], now=later) == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert booking.expired_at == later
    assert seats(cabin) == (20, 0, 0)


@pytest.mark.parametrize("ended", ["confirmed", "released"])
def test_expire_bookings_leaves_bookings_that_left_held_alone(customer, cabin, ended):
    booking = hold(customer, flight(cabin, 2))
    if ended == "confirmed":
        services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    else:
        services.cancel_booking(booking=booking, actor=customer)
    counters = seats(cabin)
    far_future = timezone.now() + timedelta(days=365)
    assert services.expire_bookings(booking_ids=[booking.pk], now=far_future) == 0
    assert Booking.objects.get(pk=booking.pk).status == ended
    assert seats(cabin) == counters


def test_expire_bookings_twice_moves_the_counters_once(customer, cabin):
    booking = hold(customer, flight(cabin, 3))
    make_overdue(booking)
    assert services.expire_bookings(booking_ids=[booking.pk]) == 1
    assert services.expire_bookings(booking_ids=[booking.pk]) == 0
    assert seats(cabin) == (20, 0, 0)
    assert booking.history.filter(to_status=BookingStatus.EXPIRED).count() == 1


def test_expire_bookings_of_nothing_is_nothing(db):
    assert services.expire_bookings(booking_ids=[]) == 0


# --- Who did it ----------------------------------------------------------------------


def test_the_sweep_is_recorded_as_the_system(customer, cabin):
    booking = hold(customer, flight(cabin, 1))
    make_overdue(booking)
    services.expire_bookings(booking_ids=[booking.pk], note="expired by the sweep")
    change = booking.history.last()
    assert (change.from_status, change.to_status) == ("held", "expired")
    assert change.actor_kind == Actor.SYSTEM
    assert change.actor is None
    assert change.note == "expired by the sweep"


@pytest.mark.parametrize("action", ["confirm", "extend", "cancel"])
def test_an_expiry_found_by_a_customers_request_is_recorded_as_the_system(customer, cabin, action):
    """The customer did not expire the hold, time did: the history says so
    whichever request happened to notice it."""
    booking = hold(customer, flight(cabin, 1))
    make_overdue(booking)
    try:
        if action == "confirm":
            services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
        elif action == "extend":
            services.extend_booking(booking=booking, actor=customer)
        else:
            services.cancel_booking(booking=booking, actor=customer)
    except HoldExpired:
        assert action != "cancel"
    change = booking.history.last()
    assert (change.to_status, change.actor_kind) == ("expired", Actor.SYSTEM)


def test_staff_acting_on_their_own_booking_are_recorded_as_the_customer(staff, cabin):
    booking = hold(staff, flight(cabin, 1))
    services.cancel_booking(booking=booking, actor=staff)
    assert booking.history.last().actor_kind == Actor.CUSTOMER


def test_extend_counts_extensions(settings, customer, cabin):
    settings.HOLD_MAX_EXTENSIONS = 3
    booking = hold(customer, flight(cabin, 1))
    for count in (1, 2, 3):
        booking = services.extend_booking(booking=booking, actor=customer)
        assert booking.extension_count == count
    with pytest.raises(ExtensionLimit):
        services.extend_booking(booking=booking, actor=customer)
    assert FlightInventory.objects.get(pk=cabin.pk).held_seats == 1
