"""GET /api/v1/bookings/ and /api/v1/bookings/{reference}/ (docs/api.md, Bookings)."""

import pytest

from tests.booking_requests import BOOKINGS_URL, booking_url, flight_item, hold_through_api
from tests.holds import make_overdue


@pytest.fixture
def mine(customer_client, cabin):
    return hold_through_api(customer_client, flight_item(cabin)).json()


@pytest.fixture
def theirs(other_client, cabin):
    return hold_through_api(other_client, flight_item(cabin, 2)).json()


def references(response):
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"])
    return sorted(booking["reference"] for booking in body["results"])


def test_a_customer_lists_only_their_own_bookings(customer_client, mine, theirs):
    assert references(customer_client.get(BOOKINGS_URL)) == [mine["reference"]]


def test_staff_list_every_booking(staff_client, mine, theirs):
    assert references(staff_client.get(BOOKINGS_URL)) == sorted(
        [mine["reference"], theirs["reference"]]
    )


def test_the_list_shows_the_same_booking_as_the_detail(customer_client, mine):
    listed = customer_client.get(BOOKINGS_URL).json()["results"]
    assert listed == [customer_client.get(booking_url(mine["reference"])).json()]


def test_the_list_is_paginated(customer_client, cabin):
    for _ in range(3):
        hold_through_api(customer_client, flight_item(cabin))
    page = customer_client.get(BOOKINGS_URL, {"page_size": 2}).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]
    assert page["previous"] is None


def test_the_status_filter(customer_client, staff_client, cabin):
    held = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    overdue = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    released = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    confirmed = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    make_overdue(overdue)
    customer_client.post(booking_url(released, "cancel"))
    staff_client.post(booking_url(confirmed, "confirm"), {"payment_reference": "pay-1"})

    def listed(status):
        return references(customer_client.get(BOOKINGS_URL, {"status": status}))

    # An overdue hold reads expired, whether or not anything recorded it yet.
    assert listed("held") == [held]
    assert listed("expired") == [overdue]
    assert listed("released") == [released]
    assert listed("confirmed") == [confirmed]
    assert listed("cancelled") == []
    statuses = {
        b["reference"]: b["status"] for b in customer_client.get(BOOKINGS_URL).json()["results"]
    }
    assert statuses == {
        held: "held",
        overdue: "expired",
        released: "released",
        confirmed: "confirmed",
    }


def test_an_unknown_status_filter_is_a_400(customer_client, mine):
    response = customer_client.get(BOOKINGS_URL, {"status": "gone"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [e["field"] for e in response.json()["errors"]] == ["status"]


def test_the_owner_reads_their_booking(customer_client, mine):
    response = customer_client.get(booking_url(mine["reference"]))
    assert response.status_code == 200
    assert response.json() == mine


def test_the_reference_lookup_ignores_case(customer_client, mine):
    response = customer_client.get(booking_url(mine["reference"].lower()))
    assert response.status_code == 200
    assert response.json()["reference"] == mine["reference"]


def test_staff_read_anyones_booking(staff_client, mine):
    assert staff_client.get(booking_url(mine["reference"])).status_code == 200


def test_another_customers_booking_is_a_404(customer_client, theirs):
    response = customer_client.get(booking_url(theirs["reference"]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_reads_are_401(api_client, mine):
    assert api_client.get(booking_url(mine["reference"])).status_code == 401
    assert api_client.get(BOOKINGS_URL).json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "path",
    [
        f"{BOOKINGS_URL}../x/",
        f"{BOOKINGS_URL}..%2Fx/",
        f"{BOOKINGS_URL}%00/",
        f"{BOOKINGS_URL}ABC%00DE/",
        f"{BOOKINGS_URL}{'A' * 100}/",
        f"{BOOKINGS_URL}{'A' * 5}/",
        f"{BOOKINGS_URL}ABCDE1/",  # 1 is not in the alphabet
        f"{BOOKINGS_URL}%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9/",
        f"{BOOKINGS_URL}'%20OR%201=1/",
        f"{BOOKINGS_URL}%25%25%25%25%25%25/",
        f"{BOOKINGS_URL}ZZZZZZ/",
        f"{BOOKINGS_URL}ZZZZZZ/confirm/",
        f"{BOOKINGS_URL}%00/cancel/",
        f"{BOOKINGS_URL}{'A' * 100}/extend/",
        f"{BOOKINGS_URL}ZZZZZZ/nothing/",
    ],
)
def test_odd_references_are_a_json_404(customer_client, mine, path):
    method = customer_client.post if path.endswith(("confirm/", "cancel/", "extend/")) else None
    response = (method or customer_client.get)(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "{ref}/"),
        ("delete", "{ref}/"),
        ("patch", "{ref}/"),
        ("get", "{ref}/confirm/"),
        ("get", "{ref}/cancel/"),
        ("delete", ""),
    ],
)
def test_wrong_methods_are_a_json_405(customer_client, mine, method, path):
    url = BOOKINGS_URL + path.format(ref=mine["reference"])
    response = getattr(customer_client, method)(url)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert customer_client.get(booking_url(mine["reference"])).json() == mine


@pytest.mark.parametrize("odd", ["ABCD%C3%9F", "ABCD%EF%AC%80"], ids=["sharp s", "ff ligature"])
def test_unicode_that_uppercases_into_a_reference_is_not_that_reference(customer_client, mine, odd):
    """'ß'.upper() is 'SS' and 'ﬀ'.upper() is 'FF': five odd characters must
    not find booking ABCDSS or ABCDFF. Ignoring case means ASCII case only."""
    from bookings.models import Booking

    target = "ABCDSS" if "9F" in odd else "ABCDFF"
    Booking.objects.filter(reference=mine["reference"]).update(reference=target)
    assert customer_client.get(booking_url(target.lower())).status_code == 200
    response = customer_client.get(f"{BOOKINGS_URL}{odd}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
