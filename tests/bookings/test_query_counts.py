"""How many statements each booking request costs, exactly, so a change that
adds one is a decision and not an accident. Counted through the API as a
customer's app calls it, token authentication included; the test's own
transaction makes each atomic block a SAVEPOINT and a RELEASE (both counted;
in production they are the BEGIN and COMMIT)."""

import pytest

from tests.booking_requests import (
    BOOKINGS_URL,
    booking_url,
    flight_item,
    hold_through_api,
    hotel_item,
)
from tests.factories import seat_mapped_cabin

pytestmark = pytest.mark.django_db

# token; savepoint; customer lock; active holds (and the key); cabins locked;
# the booking, its items, history, event and counter move (one statement); release.
FLIGHT_HOLD = 7
# The same with the nights locked and moved instead of the cabin.
HOTEL_HOLD = 7
# One more: the replay lookup before any lock.
KEYED_HOLD = 8
# token; a savepoint; the booking found and locked; its flight items (with
# cabins); its hotel items; status + history + event; the counter move; release.
CANCEL = 8
# Staff's confirm: the same (in one savepoint: the confirm runs on the booking
# its caller locked), and the offline payment's get_or_create (its select, a
# savepoint, the insert, its release).
CONFIRM = 13
# On a cabin with a seat map: one more, the seats read (chosen or picked);
# they are written in the booking's statement.
SEAT_HOLD = FLIGHT_HOLD + 1
# None more: the seats end in the status change's statement.
SEAT_CANCEL = CANCEL
# token; the booking; its two kinds of items.
DETAIL = 4
# token; the count; the page; its two kinds of items.
LIST = 5


def test_a_flight_hold(customer_client, cabin, django_assert_num_queries):
    with django_assert_num_queries(FLIGHT_HOLD):
        assert hold_through_api(customer_client, flight_item(cabin, 2)).status_code == 201


def test_a_hotel_hold(customer_client, room_type, django_assert_num_queries):
    with django_assert_num_queries(HOTEL_HOLD):
        response = hold_through_api(customer_client, hotel_item(room_type, nights=5))
    assert response.status_code == 201


def test_a_hold_with_an_idempotency_key(customer_client, cabin, django_assert_num_queries):
    with django_assert_num_queries(KEYED_HOLD):
        response = hold_through_api(customer_client, flight_item(cabin), key="query-count")
    assert response.status_code == 201


@pytest.mark.parametrize(("action", "queries"), [("cancel", CANCEL), ("confirm", CONFIRM)])
def test_a_transition(
    customer_client, staff_client, cabin, action, queries, django_assert_num_queries
):
    """A confirm is staff's (with an offline payment); a cancel the owner's."""
    reference = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    body = {"payment_reference": "pay-1"} if action == "confirm" else {}
    client = staff_client if action == "confirm" else customer_client
    with django_assert_num_queries(queries):
        response = client.post(booking_url(reference, action), body, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("chosen", [[], ["10B", "10C"]], ids=["picked", "chosen"])
def test_a_seat_mapped_hold_and_its_cancel(customer_client, chosen, django_assert_num_queries):
    item = flight_item(seat_mapped_cabin(), 2)
    if chosen:
        item["seat_numbers"] = chosen
    with django_assert_num_queries(SEAT_HOLD):
        response = hold_through_api(customer_client, item)
    assert response.status_code == 201
    assert len(response.json()["items"][0]["seat_numbers"]) == 2
    with django_assert_num_queries(SEAT_CANCEL):
        response = customer_client.post(
            booking_url(response.json()["reference"], "cancel"), {}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["items"][0]["seat_numbers"] == []


def test_a_booking_read(customer_client, cabin, django_assert_num_queries):
    reference = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    with django_assert_num_queries(DETAIL):
        assert customer_client.get(booking_url(reference)).status_code == 200


def test_the_booking_list_whatever_its_length(customer_client, cabin, django_assert_num_queries):
    for _ in range(3):
        hold_through_api(customer_client, flight_item(cabin))
    with django_assert_num_queries(LIST):
        response = customer_client.get(BOOKINGS_URL)
    assert response.json()["count"] == 3
