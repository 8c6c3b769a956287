"""Every error under /api/ is the contract's JSON body (docs/api.md, Errors)."""

import pytest
from rest_framework.exceptions import ErrorDetail

from config.api.errors import flatten_errors
from tests.api_errors import assert_error, assert_validation_error

pytestmark = pytest.mark.django_db


def test_flatten_errors_gives_dotted_paths():
    detail = {
        "name": [ErrorDetail("This field is required.", "required")],
        "cabins": [
            {},
            {"total_seats": [ErrorDetail("Too many.", "max_value")]},
        ],
        "non_field_errors": [ErrorDetail("Bad.", "invalid")],
    }
    assert flatten_errors(detail) == [
        {"field": "name", "code": "required", "detail": "This field is required."},
        {"field": "cabins.1.total_seats", "code": "max_value", "detail": "Too many."},
        {"field": "non_field_errors", "code": "invalid", "detail": "Bad."},
    ]


def test_a_nested_non_field_error_takes_its_parents_path():
    detail = {"items": [{"non_field_errors": [ErrorDetail("Bad item.", "invalid")]}]}
    assert flatten_errors(detail) == [
        {"field": "items.0", "code": "invalid", "detail": "Bad item."}
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nothing/",
        "/api/v2/flights/",
        "/api/v1/flights/1/../../",
        "/api/v1/flights/ÄÖ%20/",
    ],
)
def test_unknown_api_urls_are_a_json_404(api_client, path):
    assert_error(api_client.get(path), 404, "not_found")


@pytest.mark.parametrize("reference", ["ÄÖ%20", "..%2F..", "%00", "A" * 100, "abc 12"])
def test_odd_booking_references_are_a_json_404(customer_client, reference):
    assert_error(customer_client.get(f"/api/v1/bookings/{reference}/"), 404, "not_found")


def test_a_405_names_the_method(staff_client):
    body = assert_error(staff_client.delete("/api/v1/flights/"), 405, "method_not_allowed")
    assert "DELETE" in body["detail"]


def test_a_malformed_json_body_is_a_validation_error_with_errors(staff_client):
    response = staff_client.post(
        "/api/v1/hotels/", '{"name": "x",,}', content_type="application/json"
    )
    errors = assert_validation_error(response, "non_field_errors")
    assert errors[0]["code"] == "parse_error"


def test_nan_in_json_is_refused(staff_client):
    response = staff_client.post(
        "/api/v1/flights/", '{"cabins": [{"price": NaN}]}', content_type="application/json"
    )
    assert_validation_error(response)


def test_a_body_that_is_not_json_is_a_400(staff_client):
    response = staff_client.post("/api/v1/hotels/", "<hotel/>", content_type="application/xml")
    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["code"] == "unsupported_media_type"


def test_a_customer_on_a_staff_endpoint_is_403(customer_client):
    body = assert_error(
        customer_client.post("/api/v1/hotels/", {}, format="json"), 403, "permission_denied"
    )
    assert set(body) == {"code", "detail"}


def test_a_validation_error_body_has_exactly_code_detail_and_errors(staff_client):
    response = staff_client.post("/api/v1/flights/", {"cabins": [{}]}, format="json")
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}
    assert {"cabins.0.cabin_class", "cabins.0.total_seats", "flight_number"} <= {
        error["field"] for error in body["errors"]
    }


def test_a_domain_error_carries_its_extra_fields(staff_client):
    from tests.factories import FlightInventoryFactory

    cabin = FlightInventoryFactory(total_seats=2, available_seats=0, held_seats=2)
    response = staff_client.patch(
        f"/api/v1/flights/{cabin.flight_id}/cabins/economy/", {"total_seats": 1}, format="json"
    )
    body = assert_error(response, 409, "capacity_below_committed")
    assert {"requested", "held", "booked"} <= set(body)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/flights/",
        "/api/v1/flights/{flight}/",
        "/api/v1/flights/{flight}/cabins/economy/",
        "/api/v1/hotels/",
        "/api/v1/hotels/{hotel}/",
        "/api/v1/hotels/{hotel}/room-types/{room_type}/availability/",
    ],
)
def test_options_answers_for_staff_without_a_server_error(staff_client, path):
    from tests.factories import FlightInventoryFactory, RoomTypeFactory

    cabin = FlightInventoryFactory()
    room_type = RoomTypeFactory()
    url = path.format(flight=cabin.flight_id, hotel=room_type.hotel_id, room_type=room_type.pk)
    response = staff_client.options(url)
    assert response.status_code == 200
    assert response.json()["name"]
