"""Seat maps (docs/api.md, Flights → Seat maps): created with the flight, read
by anyone in a constant number of queries, seats blocked by staff."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from flights.models import FlightInventory, Seat
from tests.factories import FlightInventoryFactory, seat_mapped_cabin
from tests.holds import hold_through_services
from tests.invariants import assert_inventory_consistent

pytestmark = pytest.mark.django_db

LIST = "/api/v1/flights/"


def seat_map_url(cabin, cabin_class: str = "economy") -> str:
    return f"/api/v1/flights/{cabin.flight_id}/seat-map/?cabin_class={cabin_class}"


def seat_url(cabin, number: str) -> str:
    return f"/api/v1/flights/{cabin.flight_id}/cabins/{cabin.cabin_class}/seats/{number}/"


def flight_body(**economy) -> dict:
    cabin = {"cabin_class": "economy", "price": "99.00", "currency": "EUR", **economy}
    return {
        "flight_number": "VN123",
        "origin": "HAN",
        "destination": "SGN",
        "departure_at": "2030-06-01T08:00:00Z",
        "arrival_at": "2030-06-01T10:00:00Z",
        "cabins": [cabin],
    }


# --- Create ------------------------------------------------------------------------


def test_staff_create_a_cabin_with_a_seat_map(staff_client):
    seat_map = {"first_row": 10, "rows": 21, "columns": "ABC DEF"}
    response = staff_client.post(LIST, flight_body(seat_map=seat_map), format="json")
    assert response.status_code == 201, response.content
    (cabin,) = response.json()["cabins"]
    assert (cabin["total_seats"], cabin["available_seats"], cabin["has_seat_map"]) == (
        126,
        126,
        True,
    )
    row = FlightInventory.objects.get()
    seats = Seat.objects.filter(inventory=row)
    assert seats.count() == 126
    first_row = {s.number: s.position for s in seats.filter(row=10)}
    assert first_row == {
        "10A": "window",
        "10B": "middle",
        "10C": "aisle",
        "10D": "aisle",
        "10E": "middle",
        "10F": "window",
    }
    assert seats.filter(row=30).count() == 6 and not seats.filter(row=31).exists()


def test_a_given_total_that_is_not_the_maps_is_a_400(staff_client):
    seat_map = {"first_row": 1, "rows": 10, "columns": "AB CD"}
    response = staff_client.post(
        LIST, flight_body(seat_map=seat_map, total_seats=41), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cabins.0.total_seats"
    assert not FlightInventory.objects.exists()


@pytest.mark.parametrize(
    "seat_map",
    [
        {"first_row": 1, "rows": 10, "columns": "AB  CD"},
        {"first_row": 1, "rows": 10, "columns": "ab cd"},
        {"first_row": 1, "rows": 10, "columns": "AB CA"},
        {"first_row": 1, "rows": 0, "columns": "AB"},
        {"first_row": 1, "rows": "10", "columns": "AB"},
        {"first_row": 1, "rows": 50_000, "columns": "ABC DEF"},
    ],
    ids=["double-aisle", "lower-case", "letter-twice", "no-rows", "rows-as-text", "too-many"],
)
def test_a_bad_seat_map_is_a_400_and_creates_nothing(staff_client, seat_map):
    response = staff_client.post(LIST, flight_body(seat_map=seat_map), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert not FlightInventory.objects.exists() and not Seat.objects.exists()


def test_a_cabin_with_a_map_cannot_be_resized(staff_client):
    cabin = seat_mapped_cabin(rows=2)
    url = f"/api/v1/flights/{cabin.flight_id}/cabins/economy/"
    response = staff_client.patch(url, {"total_seats": 20}, format="json")
    assert response.status_code == 400
    cabin.refresh_from_db()
    assert cabin.total_seats == 12


def test_the_database_refuses_a_cabin_whose_blocked_seats_do_not_add_up():
    cabin = seat_mapped_cabin(rows=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlightInventory.objects.filter(pk=cabin.pk).update(blocked_seats=1)


# --- Read --------------------------------------------------------------------------


def test_customers_see_available_or_unavailable_and_never_who(customer_client, customer):
    cabin = seat_mapped_cabin(rows=2, columns="AB CD")
    hold_through_services(customer, cabin, seats=2)
    response = customer_client.get(seat_map_url(cabin))
    assert response.status_code == 200
    body = response.json()
    assert (body["cabin_class"], body["columns"]) == ("economy", "AB CD")
    assert [row["row"] for row in body["rows"]] == [10, 11]
    first = body["rows"][0]["seats"]
    assert first == [
        {"number": "10A", "position": "window", "status": "unavailable"},
        {"number": "10B", "position": "aisle", "status": "unavailable"},
        {"number": "10C", "position": "aisle", "status": "available"},
        {"number": "10D", "position": "window", "status": "available"},
    ]
    assert "booking" not in str(body)


def test_staff_see_held_booked_blocked_and_the_booking(staff_client, customer):
    from bookings.services import confirm_booking

    cabin = seat_mapped_cabin(rows=2, columns="AB CD")
    held = hold_through_services(customer, cabin, seats=1)
    booked = hold_through_services(customer, cabin, seats=1)
    confirm_booking(booking=booked, payment_reference="desk-1", actor=None)
    blocked = staff_client.put(seat_url(cabin, "11D"), {"blocked": True}, format="json")
    assert blocked.status_code == 200
    seats = {
        seat["number"]: seat
        for row in staff_client.get(seat_map_url(cabin)).json()["rows"]
        for seat in row["seats"]
    }
    assert seats["10A"] == {
        "number": "10A",
        "position": "window",
        "status": "held",
        "booking": held.reference,
    }
    assert (seats["10B"]["status"], seats["10B"]["booking"]) == ("booked", booked.reference)
    assert seats["11D"] == {"number": "11D", "position": "window", "status": "blocked"}
    assert seats["10C"]["status"] == "available"


def test_the_seat_map_reads_in_the_same_queries_whatever_the_size(api_client):
    small, large = seat_mapped_cabin(rows=2), seat_mapped_cabin(rows=60, columns="ABC DEFG HJK")
    counts = []
    for cabin in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(seat_map_url(cabin)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3


@pytest.mark.parametrize("query", ["", "?cabin_class=business"])
def test_a_cabin_without_a_map_or_no_cabin_is_a_404(api_client, query):
    cabin = FlightInventoryFactory()
    response = api_client.get(f"/api/v1/flights/{cabin.flight_id}/seat-map/{query}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_cabin_class_is_a_400(api_client):
    cabin = seat_mapped_cabin()
    response = api_client.get(seat_map_url(cabin, "steerage"))
    assert response.status_code == 400


# --- Block -------------------------------------------------------------------------


def test_staff_block_a_seat_off_sale_and_back(staff_client):
    cabin = seat_mapped_cabin(rows=2)
    response = staff_client.put(seat_url(cabin, "10a"), {"blocked": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"number": "10A", "position": "window", "status": "blocked"}
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.blocked_seats) == (11, 1)
    flight = staff_client.get(f"/api/v1/flights/{cabin.flight_id}/").json()
    assert (flight["cabins"][0]["available_seats"], flight["cabins"][0]["blocked_seats"]) == (11, 1)
    # Again: nothing changes.
    again = staff_client.put(seat_url(cabin, "10A"), {"blocked": True}, format="json")
    assert again.status_code == 200
    cabin.refresh_from_db()
    assert cabin.blocked_seats == 1
    response = staff_client.put(seat_url(cabin, "10A"), {"blocked": False}, format="json")
    assert response.json()["status"] == "available"
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.blocked_seats) == (12, 0)
    assert_inventory_consistent()


def test_a_held_seat_cannot_be_blocked(staff_client, customer):
    cabin = seat_mapped_cabin(rows=1)
    hold_through_services(customer, cabin, seats=1)
    response = staff_client.put(seat_url(cabin, "10A"), {"blocked": True}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "seat_unavailable"
    assert response.json()["unavailable_seats"] == ["10A"]
    assert not Seat.objects.filter(blocked=True).exists()


@pytest.mark.parametrize("number", ["99A", "10Z", "%00", "A10"])
def test_blocking_an_unknown_seat_is_a_404(staff_client, number):
    cabin = seat_mapped_cabin(rows=1)
    response = staff_client.put(seat_url(cabin, number), {"blocked": True}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_customers_may_not_block_seats(customer_client):
    cabin = seat_mapped_cabin(rows=1)
    response = customer_client.put(seat_url(cabin, "10A"), {"blocked": True}, format="json")
    assert response.status_code == 403
    assert not Seat.objects.filter(blocked=True).exists()
