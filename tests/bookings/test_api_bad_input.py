"""Bad input to POST /api/v1/bookings/ and /confirm/: always a 400
`validation_error` naming the exact field, never a 500, and nothing changes."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingStatusChange
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.booking_requests import (
    BOOKINGS_URL,
    booking_url,
    flight_item,
    hold_through_api,
    hotel_item,
)
from tests.factories import FlightInventoryFactory

TODAY = date.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def snapshot():
    """Everything a booking request could change."""
    return (
        list(
            FlightInventory.objects.order_by("pk").values_list(
                "pk", "available_seats", "held_seats", "booked_seats"
            )
        ),
        list(
            RoomNight.objects.order_by("pk").values_list(
                "pk", "available_rooms", "held_rooms", "booked_rooms"
            )
        ),
        list(Booking.objects.order_by("pk").values_list("pk", "status", "payment_reference")),
        BookingStatusChange.objects.count(),
    )


def flight(cabin, **changes):
    item = {**flight_item(cabin, seats=2), **changes}
    return {k: v for k, v in item.items() if v is not ...}


def stay(room_type, **changes):
    item = {**hotel_item(room_type, start_in_days=2, nights=2), **changes}
    return {k: v for k, v in item.items() if v is not ...}


# Each case: the body (built from the cabin and the room type) and the exact
# field paths the 400 must name. `...` removes a field.
CREATE_CASES = {
    "seats as a string": (lambda c, r: {"items": [flight(c, seats="2")]}, ["items.0.seats"]),
    "seats as true": (lambda c, r: {"items": [flight(c, seats=True)]}, ["items.0.seats"]),
    "seats as a float": (lambda c, r: {"items": [flight(c, seats=2.0)]}, ["items.0.seats"]),
    "seats null": (lambda c, r: {"items": [flight(c, seats=None)]}, ["items.0.seats"]),
    "0 seats": (lambda c, r: {"items": [flight(c, seats=0)]}, ["items.0.seats"]),
    "10 seats": (lambda c, r: {"items": [flight(c, seats=10)]}, ["items.0.seats"]),
    "negative seats": (lambda c, r: {"items": [flight(c, seats=-1)]}, ["items.0.seats"]),
    "seats missing": (lambda c, r: {"items": [flight(c, seats=...)]}, ["items.0.seats"]),
    "0 rooms": (lambda c, r: {"items": [stay(r, rooms=0)]}, ["items.0.rooms"]),
    "10 rooms": (lambda c, r: {"items": [stay(r, rooms=10)]}, ["items.0.rooms"]),
    "rooms as a float": (lambda c, r: {"items": [stay(r, rooms=1.5)]}, ["items.0.rooms"]),
    "0 items": (lambda c, r: {"items": []}, ["items"]),
    "11 items": (lambda c, r: {"items": [flight(c, seats=1)] * 11}, ["items"]),
    "items missing": (lambda c, r: {}, ["items"]),
    "items null": (lambda c, r: {"items": None}, ["items"]),
    "items an object": (lambda c, r: {"items": flight(c)}, ["items"]),
    "items a string": (lambda c, r: {"items": "flight"}, ["items"]),
    "an item not an object": (lambda c, r: {"items": [flight(c), 7]}, ["items.1"]),
    "type missing": (lambda c, r: {"items": [flight(c, type=...)]}, ["items.0.type"]),
    "type unknown": (lambda c, r: {"items": [flight(c, type="train")]}, ["items.0.type"]),
    "type null": (lambda c, r: {"items": [flight(c, type=None)]}, ["items.0.type"]),
    "type a number": (lambda c, r: {"items": [flight(c, type=1)]}, ["items.0.type"]),
    "the second item bad": (
        lambda c, r: {"items": [flight(c), stay(r, rooms="1")]},
        ["items.1.rooms"],
    ),
    "two items bad": (
        lambda c, r: {"items": [flight(c, seats=0), stay(r, rooms=0)]},
        ["items.0.seats", "items.1.rooms"],
    ),
    "a hotel item typed flight": (
        lambda c, r: {"items": [stay(r, type="flight")]},
        ["items.0.flight_id", "items.0.cabin_class", "items.0.seats"],
    ),
    "cabin class unknown": (
        lambda c, r: {"items": [flight(c, cabin_class="luxury")]},
        ["items.0.cabin_class"],
    ),
    "cabin class a number": (
        lambda c, r: {"items": [flight(c, cabin_class=1)]},
        ["items.0.cabin_class"],
    ),
    "flight id as a string": (
        lambda c, r: {"items": [flight(c, flight_id=str(c.flight_id))]},
        ["items.0.flight_id"],
    ),
    "flight id a float": (
        lambda c, r: {"items": [flight(c, flight_id=1.0)]},
        ["items.0.flight_id"],
    ),
    "flight id null": (lambda c, r: {"items": [flight(c, flight_id=None)]}, ["items.0.flight_id"]),
    "flight id 2**70": (
        lambda c, r: {"items": [flight(c, flight_id=2**70)]},
        ["items.0.flight_id"],
    ),
    "flight id 2**63": (
        lambda c, r: {"items": [flight(c, flight_id=2**63)]},
        ["items.0.flight_id"],
    ),
    "flight id negative": (
        lambda c, r: {"items": [flight(c, flight_id=-3)]},
        ["items.0.flight_id"],
    ),
    "flight id 0": (lambda c, r: {"items": [flight(c, flight_id=0)]}, ["items.0.flight_id"]),
    "flight id unknown": (
        lambda c, r: {"items": [flight(c, flight_id=2**63 - 1)]},
        ["items.0.flight_id"],
    ),
    "room type id 2**70": (
        lambda c, r: {"items": [stay(r, room_type_id=2**70)]},
        ["items.0.room_type_id"],
    ),
    "room type id negative": (
        lambda c, r: {"items": [stay(r, room_type_id=-1)]},
        ["items.0.room_type_id"],
    ),
    "room type id unknown": (
        lambda c, r: {"items": [stay(r, room_type_id=2**63 - 1)]},
        ["items.0.room_type_id"],
    ),
    "check_in in the past": (
        lambda c, r: {"items": [stay(r, check_in=day(-1), check_out=day(2))]},
        ["items.0.check_in"],
    ),
    "check_out == check_in": (
        lambda c, r: {"items": [stay(r, check_in=day(3), check_out=day(3))]},
        ["items.0.check_out"],
    ),
    "check_out before check_in": (
        lambda c, r: {"items": [stay(r, check_in=day(5), check_out=day(3))]},
        ["items.0.check_out"],
    ),
    "31 nights": (
        lambda c, r: {"items": [stay(r, check_in=day(1), check_out=day(32))]},
        ["items.0.check_out"],
    ),
    "date with slashes": (
        lambda c, r: {"items": [stay(r, check_in=day(2).replace("-", "/"))]},
        ["items.0.check_in"],
    ),
    "date day first": (
        lambda c, r: {
            "items": [stay(r, check_out=(TODAY + timedelta(days=4)).strftime("%d-%m-%Y"))]
        },
        ["items.0.check_out"],
    ),
    "date with a time": (
        lambda c, r: {"items": [stay(r, check_in=day(2) + "T00:00:00Z")]},
        ["items.0.check_in"],
    ),
    "date that does not exist": (
        lambda c, r: {"items": [stay(r, check_in=f"{TODAY.year + 1}-02-30")]},
        ["items.0.check_in"],
    ),
    "date as a number": (
        lambda c, r: {"items": [stay(r, check_in=20261224)]},
        ["items.0.check_in"],
    ),
    "date null": (lambda c, r: {"items": [stay(r, check_out=None)]}, ["items.0.check_out"]),
    "check_out missing": (lambda c, r: {"items": [stay(r, check_out=...)]}, ["items.0.check_out"]),
    "ten seats of one cabin split over two items": (
        lambda c, r: {"items": [flight(c, seats=5), flight(c, seats=5)]},
        ["items.1.seats"],
    ),
}


@pytest.mark.parametrize(("make_body", "fields"), CREATE_CASES.values(), ids=CREATE_CASES.keys())
def test_bad_booking_requests_are_a_400_naming_the_field(
    customer_client, cabin, room_type, make_body, fields
):
    before = snapshot()
    response = customer_client.post(BOOKINGS_URL, make_body(cabin, room_type), format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"]
    assert [error["field"] for error in body["errors"]] == fields
    assert all(error["code"] and error["detail"] for error in body["errors"])
    assert snapshot() == before


NF = "non_field_errors"
RAW_BODIES = {  # the raw body and the field the 400 names
    "not JSON": ("{items: [", NF),
    "empty": ("", "items"),  # DRF reads an empty body as {}
    "JSON null": ("null", NF),
    "a JSON list": ("[]", NF),
    "a JSON string": ('"items"', NF),
    "NaN": ('{"items": [{"type": "flight", "flight_id": NaN, "seats": 1}]}', NF),
    "a 5000-digit number": ('{"items": [{"type": "flight", "flight_id": ' + "9" * 5000 + "}]}", NF),
    "not UTF-8": (b'{"items": "\xff\xfe"}', NF),
}


@pytest.mark.parametrize(("raw", "field"), RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_bodies_that_are_not_a_json_object_are_a_400(customer_client, cabin, raw, field):
    before = snapshot()
    response = customer_client.post(BOOKINGS_URL, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == [field]
    assert snapshot() == before


@pytest.fixture
def held(customer_client, cabin):
    response = hold_through_api(customer_client, flight_item(cabin, 2))
    assert response.status_code == 201
    return response.json()["reference"]


CONFIRM_CASES = {
    "payment_reference missing": {},
    "payment_reference a number": {"payment_reference": 12345},
    "payment_reference true": {"payment_reference": True},
    "payment_reference a list": {"payment_reference": ["p"]},
    "payment_reference null": {"payment_reference": None},
    "payment_reference empty": {"payment_reference": ""},
    "payment_reference blank": {"payment_reference": "   "},
    "payment_reference 101 chars": {"payment_reference": "p" * 101},
    "payment_reference with NUL": {"payment_reference": "pay\x00ment"},
}


@pytest.mark.parametrize("body", CONFIRM_CASES.values(), ids=CONFIRM_CASES.keys())
def test_bad_confirm_requests_are_a_400_naming_the_field(staff_client, held, body):
    before = snapshot()
    response = staff_client.post(booking_url(held, "confirm"), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert [error["field"] for error in response.json()["errors"]] == ["payment_reference"]
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["{", "[]", "null"], ids=["not JSON", "a list", "null"])
def test_confirm_bodies_that_are_not_a_json_object_are_a_400(staff_client, held, raw):
    before = snapshot()
    response = staff_client.post(booking_url(held, "confirm"), raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert snapshot() == before


def test_a_body_that_is_not_json_at_all_is_refused_without_a_change(customer_client, cabin):
    before = snapshot()
    response = customer_client.post(
        BOOKINGS_URL, json.dumps({"items": [flight_item(cabin)]}), content_type="text/plain"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"
    assert snapshot() == before


def test_a_flight_that_departed_is_a_400_on_its_flight_id(customer_client):
    departed = timezone.now() - timedelta(hours=1)
    cabin = FlightInventoryFactory(
        flight__departure_at=departed, flight__arrival_at=departed + timedelta(hours=2)
    )
    before = snapshot()
    response = customer_client.post(BOOKINGS_URL, {"items": [flight(cabin)]}, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["field"], error["code"]) == ("items.0.flight_id", "departed")
    assert snapshot() == before
