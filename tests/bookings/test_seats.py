"""Seats taken with a hold on a cabin with a seat map (docs/api.md, Seat
maps): chosen or picked, all or nothing, freed when the booking ends."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from bookings import services
from bookings.models import Booking, SeatAssignment
from bookings.services import seats as seat_service
from flights.models import FlightInventory
from tests.booking_requests import BOOKINGS_URL, booking_url, flight_item
from tests.factories import FlightInventoryFactory, seat_mapped_cabin
from tests.holds import hold_through_services, make_overdue
from tests.invariants import assert_inventory_consistent

pytestmark = pytest.mark.django_db


def seat_item(cabin, *numbers: str, seats: int | None = None) -> dict:
    return {**flight_item(cabin, seats or len(numbers)), "seat_numbers": list(numbers)}


def held_numbers(cabin) -> set[str]:
    return set(
        SeatAssignment.objects.filter(seat__inventory=cabin, active=True).values_list(
            "seat__number", flat=True
        )
    )


def counters(cabin) -> tuple[int, int, int, int]:
    cabin.refresh_from_db()
    return cabin.available_seats, cabin.held_seats, cabin.booked_seats, cabin.blocked_seats


def unchanged():
    """Bookings, assignments and counters, to prove a refusal changed nothing."""
    return (
        Booking.objects.count(),
        SeatAssignment.objects.count(),
        list(FlightInventory.objects.order_by("pk").values()),
    )


def test_chosen_seats_are_held_and_shown_on_the_item(customer_client):
    cabin = seat_mapped_cabin()
    response = customer_client.post(
        BOOKINGS_URL, {"items": [seat_item(cabin, "11C", "11D")]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["seat_numbers"] == ["11C", "11D"]
    assert held_numbers(cabin) == {"11C", "11D"}
    assert counters(cabin) == (16, 2, 0, 0)
    reference = response.json()["reference"]
    assert customer_client.get(booking_url(reference)).json()["items"][0]["seat_numbers"] == [
        "11C",
        "11D",
    ]
    assert_inventory_consistent()


def test_lower_case_seat_numbers_are_the_same_seats(customer_client):
    cabin = seat_mapped_cabin()
    response = customer_client.post(
        BOOKINGS_URL, {"items": [seat_item(cabin, "10a")]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["items"][0]["seat_numbers"] == ["10A"]


def test_without_seat_numbers_the_service_picks_side_by_side(customer, other_customer):
    cabin = seat_mapped_cabin(rows=3, columns="ABC DEF")
    hold_seats(other_customer, cabin, "10A", "10B", "10E")
    # Row 10 has C, D and F free, none side by side (an aisle is between C and D).
    booking = hold_through_services(customer, cabin, seats=3)
    assert seat_numbers(booking) == ["11A", "11B", "11C"]
    pair = hold_through_services(customer, cabin, seats=2)
    assert seat_numbers(pair) == ["11D", "11E"]
    assert_inventory_consistent()


def test_when_no_row_has_them_side_by_side_the_fewest_rows(customer, other_customer):
    cabin = seat_mapped_cabin(rows=3, columns="AB CD")
    hold_seats(other_customer, cabin, "10B", "10C", "10D", "11B", "11C", "12A", "12C", "12D")
    # Free: 10A, 11A, 11D, 12B; no two side by side, two in row 11.
    booking = hold_through_services(customer, cabin, seats=2)
    assert seat_numbers(booking) == ["11A", "11D"]


def test_one_seat_is_the_first_free_one_front_to_back(customer, other_customer):
    """One seat is picked without a window: past held and blocked seats, and
    past the seat another item of the same hold just took."""
    cabin = seat_mapped_cabin(rows=3, columns="ABC DEF")
    hold_seats(other_customer, cabin, "10A", "10B", "10D")
    seat_service.block_seat(
        flight_id=cabin.flight_id, cabin_class="economy", number="10C", blocked=True
    )
    one = services.FlightRequest(cabin.flight_id, cabin.cabin_class, 1)
    booking = services.hold_booking(customer=customer, items=[one, one]).booking
    assert seat_numbers(booking) == ["10E", "10F"]
    assert_inventory_consistent()


def hold_seats(customer, cabin, *numbers: str) -> Booking:
    item = services.FlightRequest(cabin.flight_id, cabin.cabin_class, len(numbers), numbers)
    return services.hold_booking(customer=customer, items=[item]).booking


def seat_numbers(booking) -> list[str]:
    return list(
        SeatAssignment.objects.filter(booking=booking, active=True)
        .order_by("seat__row", "seat__column")
        .values_list("seat__number", flat=True)
    )


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        (lambda c, o: seat_item(c, "99A"), "items.0.seat_numbers", "does_not_exist"),
        (lambda c, o: seat_item(c, "10G"), "items.0.seat_numbers", "does_not_exist"),
        (lambda c, o: seat_item(c, "10A", "10A"), "items.0.seat_numbers", "duplicate"),
        (lambda c, o: seat_item(c, "10A", seats=2), "items.0.seat_numbers", "count_mismatch"),
        (lambda c, o: seat_item(o, "10A"), "items.0.seat_numbers", "no_seat_map"),
        (
            lambda c, o: {**seat_item(c, "10A"), "seat_numbers": [10]},
            "items.0.seat_numbers.0",
            None,
        ),
    ],
    ids=["unknown-row", "unknown-letter", "duplicate", "count", "no-map", "not-text"],
)
def test_bad_seat_numbers_are_a_400_and_change_nothing(customer_client, item, field, code):
    cabin = seat_mapped_cabin()
    plain = FlightInventoryFactory()
    before = unchanged()
    response = customer_client.post(BOOKINGS_URL, {"items": [item(cabin, plain)]}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == field
    if code:
        assert body["errors"][0]["code"] == code
    assert unchanged() == before


def test_a_seat_of_another_cabin_is_a_400(customer_client):
    cabin = seat_mapped_cabin(rows=1)
    other = seat_mapped_cabin(rows=5)  # has a row 14 that `cabin` lacks
    before = unchanged()
    response = customer_client.post(
        BOOKINGS_URL, {"items": [seat_item(cabin, "14A")]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "items.0.seat_numbers"
    assert unchanged() == before
    assert other.available_seats == 30


def test_the_same_seat_in_two_items_is_a_400(customer_client):
    cabin = seat_mapped_cabin()
    before = unchanged()
    items = [seat_item(cabin, "10A"), seat_item(cabin, "10A", "10B")]
    response = customer_client.post(BOOKINGS_URL, {"items": items}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "items.1.seat_numbers"
    assert unchanged() == before


@pytest.mark.parametrize("how", ["held", "booked", "blocked"])
def test_a_taken_seat_is_a_409_seat_unavailable_all_or_nothing(
    customer_client, other_customer, how
):
    cabin = seat_mapped_cabin()
    if how == "blocked":
        seat_service.block_seat(
            flight_id=cabin.flight_id, cabin_class="economy", number="10B", blocked=True
        )
    else:
        booking = hold_seats(other_customer, cabin, "10B")
        if how == "booked":
            services.confirm_booking(booking=booking, payment_reference="desk", actor=None)
    before = unchanged()
    items = [flight_item(cabin, 2), seat_item(cabin, "10A", "10B", "10C")]
    response = customer_client.post(BOOKINGS_URL, {"items": items}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "seat_unavailable"
    assert response.json()["unavailable_seats"] == ["10B"]
    assert unchanged() == before
    assert_inventory_consistent()


def test_an_overdue_holds_seat_is_taken_at_once(customer_client, other_customer):
    cabin = seat_mapped_cabin()
    overdue = hold_through_services(other_customer, cabin, seats=1)
    make_overdue(overdue)
    (number,) = seat_numbers(overdue)
    response = customer_client.post(
        BOOKINGS_URL, {"items": [seat_item(cabin, number)]}, format="json"
    )
    assert response.status_code == 201, response.content
    overdue.refresh_from_db()
    assert overdue.status == "expired"
    assert held_numbers(cabin) == {number}
    assert_inventory_consistent()


@pytest.mark.parametrize("end", ["release", "expire", "cancel"])
def test_seats_leave_the_booking_when_it_ends(customer, customer_client, end):
    cabin = seat_mapped_cabin()
    booking = hold_through_services(customer, cabin, seats=2)
    if end == "cancel":
        services.confirm_booking(booking=booking, payment_reference="desk", actor=None)
    if end == "expire":
        make_overdue(booking)
        services.expire_overdue_holds()
    else:
        response = customer_client.post(booking_url(booking.reference, "cancel"))
        assert response.status_code == 200
        assert response.json()["items"][0]["seat_numbers"] == []
    assert held_numbers(cabin) == set()
    assert counters(cabin) == (18, 0, 0, 0)
    answer = customer_client.get(booking_url(booking.reference)).json()
    assert answer["items"][0]["seat_numbers"] == []
    assert SeatAssignment.objects.filter(booking=booking, active=False).count() == 2
    assert_inventory_consistent()


def test_a_confirmed_booking_keeps_its_seats(customer):
    cabin = seat_mapped_cabin()
    booking = hold_through_services(customer, cabin, seats=2)
    services.confirm_booking(booking=booking, payment_reference="desk", actor=None)
    assert held_numbers(cabin) == {"10A", "10B"}
    assert counters(cabin) == (16, 0, 2, 0)


def test_the_database_refuses_a_second_active_assignment_of_a_seat(customer, other_customer):
    cabin = seat_mapped_cabin()
    first = hold_through_services(customer, cabin, seats=1)
    second = hold_through_services(other_customer, cabin, seats=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SeatAssignment.objects.filter(booking=second).update(
            seat=SeatAssignment.objects.get(booking=first).seat
        )


def test_a_hold_on_a_cabin_without_a_map_touches_no_seat(customer):
    """The hold and cancel without seats read `has_seat_map` from the cabin
    row: no statement on Seat or SeatAssignment (tests/bookings/
    test_query_counts.py counts their statements, unchanged by seat maps)."""
    cabin = FlightInventoryFactory()
    with CaptureQueriesContext(connection) as queries:
        booking = hold_through_services(customer, cabin, seats=2)
        services.cancel_booking(booking=booking, actor=customer)
    statements = " ".join(query["sql"] for query in queries)
    assert "flights_seat" not in statements
    assert "bookings_seatassignment" not in statements


# --- Seat change -----------------------------------------------------------------


def seats_url(reference: str, index: int = 0) -> str:
    return f"{booking_url(reference)}items/{index}/seats/"


@pytest.mark.parametrize("confirmed", [False, True], ids=["held", "confirmed"])
def test_the_owner_moves_an_item_to_other_seats(customer, customer_client, confirmed):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "10A", "10B")
    if confirmed:
        services.confirm_booking(booking=booking, payment_reference="desk", actor=None)
    before = counters(cabin)
    response = customer_client.put(
        seats_url(booking.reference), {"seat_numbers": ["10B", "12f"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["seat_numbers"] == ["10B", "12F"]
    assert held_numbers(cabin) == {"10B", "12F"}
    assert counters(cabin) == before
    assert_inventory_consistent()


@pytest.mark.parametrize(
    ("numbers", "status", "code"),
    [
        (["10C", "10D"], 409, "seat_unavailable"),
        (["10C"], 400, "validation_error"),
        (["10A", "99A"], 400, "validation_error"),
        (["10A", "10a"], 400, "validation_error"),
    ],
    ids=["taken", "count", "unknown", "duplicate"],
)
def test_a_bad_seat_change_changes_nothing(
    customer, other_customer, customer_client, numbers, status, code
):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "10A", "10B")
    hold_seats(other_customer, cabin, "10D")
    before = (held_numbers(cabin), SeatAssignment.objects.count())
    response = customer_client.put(
        seats_url(booking.reference), {"seat_numbers": numbers}, format="json"
    )
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    if code == "seat_unavailable":
        assert response.json()["unavailable_seats"] == ["10D"]
    assert (held_numbers(cabin), SeatAssignment.objects.count()) == before


def test_a_released_booking_cannot_change_seats(customer, customer_client):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "10A")
    services.cancel_booking(booking=booking, actor=customer)
    response = customer_client.put(
        seats_url(booking.reference), {"seat_numbers": ["10B"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert held_numbers(cabin) == set()


def test_only_the_owner_changes_seats(customer, other_client, staff_client):
    cabin = seat_mapped_cabin()
    booking = hold_seats(customer, cabin, "10A")
    body = {"seat_numbers": ["10B"]}
    assert other_client.put(seats_url(booking.reference), body, format="json").status_code == 404
    assert staff_client.put(seats_url(booking.reference), body, format="json").status_code == 403
    assert held_numbers(cabin) == {"10A"}


def test_a_bookings_seats_are_read_in_one_query_whatever_its_items(customer, customer_client):
    first, second = seat_mapped_cabin(), seat_mapped_cabin()
    one = hold_through_services(customer, first, seats=2)
    items = [
        services.FlightRequest(first.flight_id, "economy", 1),
        services.FlightRequest(second.flight_id, "economy", 3),
    ]
    two = services.hold_booking(customer=customer, items=items).booking
    counts = []
    for booking in (one, two):
        with CaptureQueriesContext(connection) as queries:
            body = customer_client.get(booking_url(booking.reference)).json()
        counts.append(len(queries))
        assert all(item["seat_numbers"] for item in body["items"])
    assert counts[0] == counts[1]
