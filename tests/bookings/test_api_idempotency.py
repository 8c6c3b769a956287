"""Idempotency-Key on POST /api/v1/bookings/ (docs/api.md, Bookings)."""

import json

import pytest

from bookings.models import Booking
from flights.models import FlightInventory
from tests.booking_requests import BOOKINGS_URL, flight_item, hold_through_api, hotel_item
from tests.factories import FlightInventoryFactory


def held_seats(cabin):
    return FlightInventory.objects.get(pk=cabin.pk).held_seats


def test_a_repeated_request_replays_the_first_answer(customer_client, cabin, room_type):
    items = [flight_item(cabin, 2), hotel_item(room_type)]
    first = hold_through_api(customer_client, *items, key="order-42")
    again = hold_through_api(customer_client, *items, key="order-42")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Booking.objects.count() == 1
    assert held_seats(cabin) == 2


def test_the_replay_is_the_original_answer_even_after_the_booking_changed(customer_client, cabin):
    first = hold_through_api(customer_client, flight_item(cabin), key="k")
    customer_client.post(f"{BOOKINGS_URL}{first.json()['reference']}/cancel/")
    again = hold_through_api(customer_client, flight_item(cabin), key="k")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.json()["status"] == "held"
    assert Booking.objects.count() == 1
    assert held_seats(cabin) == 0


def test_key_order_in_the_body_does_not_matter(customer_client, cabin):
    item = flight_item(cabin, 2)
    first = hold_through_api(customer_client, item, key="same")
    reordered = json.dumps({"items": [dict(reversed(list(item.items())))]})
    again = customer_client.post(
        BOOKINGS_URL, reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(customer_client, cabin):
    hold_through_api(customer_client, flight_item(cabin, 1), key="k1")
    response = hold_through_api(customer_client, flight_item(cabin, 2), key="k1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Booking.objects.count() == 1
    assert held_seats(cabin) == 1


def test_a_refused_request_may_be_retried_with_the_same_key(customer_client, other_client):
    last = FlightInventoryFactory(total_seats=1)
    taken = hold_through_api(other_client, flight_item(last)).json()["reference"]

    refused = hold_through_api(customer_client, flight_item(last), key="retry-me")
    assert refused.status_code == 409
    other_client.post(f"{BOOKINGS_URL}{taken}/cancel/")

    retried = hold_through_api(customer_client, flight_item(last), key="retry-me")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert held_seats(last) == 1


def test_keys_are_per_customer(customer_client, other_client, cabin):
    mine = hold_through_api(customer_client, flight_item(cabin), key="shared")
    theirs = hold_through_api(other_client, flight_item(cabin), key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["reference"] != theirs.json()["reference"]
    assert Booking.objects.count() == 2


def test_requests_without_a_key_are_never_replayed(customer_client, cabin):
    hold_through_api(customer_client, flight_item(cabin))
    hold_through_api(customer_client, flight_item(cabin))
    assert Booking.objects.count() == 2


@pytest.mark.parametrize(
    "key",
    ["x" * 255, "a", " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"],
    ids=["255 chars", "1 char", "punctuation"],
)
def test_valid_keys(customer_client, cabin, key):
    assert hold_through_api(customer_client, flight_item(cabin), key=key).status_code == 201
    assert Booking.objects.get().idempotency_key == key


@pytest.mark.parametrize(
    "key",
    ["x" * 256, "", "tab\there", "bell\x07", "del\x7f", "caf\u00e9"],
    ids=["256 chars", "empty", "tab", "control", "DEL", "non-ASCII"],
)
def test_invalid_keys_are_a_400(customer_client, cabin, key):
    response = hold_through_api(customer_client, flight_item(cabin), key=key)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert Booking.objects.count() == 0
    assert held_seats(cabin) == 0


def test_a_key_whose_first_request_is_still_running_is_a_409_in_use(
    settings, customer, customer_client, cabin
):
    """The first request holds the customer's lock (taken here as it would be)
    longer than the second is willing to wait."""
    from django_redis import get_redis_connection

    from locking import locks

    settings.LOCK_WAIT_SECONDS = 0.2
    running = get_redis_connection("default").lock(
        locks.KEY_PREFIX + locks.customer_key(customer.pk), timeout=30, thread_local=False
    )
    assert running.acquire(blocking=False)
    response = hold_through_api(customer_client, flight_item(cabin), key="in-flight")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert int(response.headers["Retry-After"]) >= 1
    assert Booking.objects.count() == 0
    running.release()
    assert hold_through_api(customer_client, flight_item(cabin), key="in-flight").status_code == 201


def test_a_replay_is_answered_even_at_the_active_hold_limit(settings, customer_client, cabin):
    settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER = 1
    first = hold_through_api(customer_client, flight_item(cabin), key="only")
    again = hold_through_api(customer_client, flight_item(cabin), key="only")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert hold_through_api(customer_client, flight_item(cabin), key="new").json()["code"] == (
        "too_many_active_holds"
    )
