"""Who may call what (docs/api.md): every endpoint under /api/, the operations
endpoints and the admin, for each kind of caller.

One row per endpoint; `expect` gives the status for each role:

    anonymous   no credentials
    owner       a customer; "the booking" below is theirs
    other       another customer
    staff       a superuser (not the booking's owner); the staff groups'
                rights are walked in test_staff_roles.py

Every caller carries both a token and a session (the admin uses sessions).
A row whose path is not routed fails, and
`test_every_api_operation_has_a_row` fails when an operation of the OpenAPI
document has no row, so a new endpoint cannot go without one.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tokens import issue_token
from config.api import errors
from events.models import WebhookEndpoint
from tests.factories import (
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
    put_nights_on_sale,
    seat_mapped_cabin,
)

ROLES = ("anonymous", "owner", "other", "staff")


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {reference}, {flight_id}, {cabin_class}, {hotel_id}, {room_type_id}
    expect: dict[str, int]
    body: dict | None = None
    spec_path: str = ""  # the OpenAPI path, if it differs from `path`
    json_errors: bool = True  # 4xx bodies are the contract's {"code", "detail"}
    extra: dict = field(default_factory=dict)


def each(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def login_required(**statuses: int) -> dict[str, int]:
    return {"anonymous": 401, **statuses}


CUSTOMER_ONLY = login_required(owner=403, other=403)
STAFF_ONLY = {**CUSTOMER_ONLY, "staff": 200}

ROWS = [
    # --- auth: anyone (a bad body is a 400 for everyone, never a 401/403) ---
    Row("POST", "/api/v1/auth/register/", each(400), body={}),
    Row("POST", "/api/v1/auth/token/", each(400), body={}),
    # logout: the token's own user (a session alone has no token to revoke)
    Row("DELETE", "/api/v1/auth/token/", login_required(owner=204, other=204, staff=204)),
    # --- bookings ---
    Row("GET", "/api/v1/bookings/", login_required(owner=200, other=200, staff=200)),
    Row("POST", "/api/v1/bookings/", login_required(owner=201, other=201, staff=201), body="hold"),
    Row(
        "GET",
        "/api/v1/bookings/{reference}/",
        login_required(owner=200, other=404, staff=200),
    ),
    Row(
        "POST",
        "/api/v1/bookings/{reference}/confirm/",
        login_required(owner=402, other=404, staff=200),
        body={"payment_reference": "pay-1"},
    ),
    # (the booking is held: nothing was paid, so nothing to quote)
    Row(
        "GET",
        "/api/v1/bookings/{reference}/cancellation-quote/",
        login_required(owner=409, other=404, staff=409),
    ),
    # --- payments (docs/api.md, Payments): the owner pays; the provider's signature is its auth ---
    Row(
        "POST",
        "/api/v1/bookings/{reference}/payments/",
        login_required(owner=201, other=404, staff=403),
    ),
    Row(
        "GET",
        "/api/v1/bookings/{reference}/payments/",
        login_required(owner=200, other=404, staff=200),
    ),
    Row(
        "POST",
        "/api/v1/payments/webhooks/sandbox/",
        each(400),
        body={},
        spec_path="/api/v1/payments/webhooks/{provider}/",
        json_errors=False,
    ),
    Row(
        "POST",
        "/api/v1/bookings/{reference}/extend/",
        login_required(owner=200, other=404, staff=403),
    ),
    Row(
        "POST",
        "/api/v1/bookings/{reference}/cancel/",
        login_required(owner=200, other=404, staff=200),
    ),
    Row(
        "PUT",
        "/api/v1/bookings/{reference}/items/0/seats/",
        login_required(owner=200, other=404, staff=403),
        body={"seat_numbers": ["11A"]},
        spec_path="/api/v1/bookings/{reference}/items/{index}/seats/",
    ),
    # --- flights (docs/api.md, Flights): reads for anyone, writes for staff ---
    Row("GET", "/api/v1/flights/", each(200)),
    Row("GET", "/api/v1/flights/{flight_id}/", each(200)),
    Row("POST", "/api/v1/flights/", {**CUSTOMER_ONLY, "staff": 400}, body={}),
    Row(
        "PATCH",
        "/api/v1/flights/{flight_id}/cabins/{cabin_class}/",
        {**CUSTOMER_ONLY, "staff": 200},
        body={"price": "99.00"},
    ),
    Row("GET", "/api/v1/flights/{flight_id}/seat-map/", each(200)),
    Row(
        "PUT",
        "/api/v1/flights/{flight_id}/cabins/{cabin_class}/seats/12A/",
        {**CUSTOMER_ONLY, "staff": 200},
        body={"blocked": True},
        spec_path="/api/v1/flights/{flight_id}/cabins/{cabin_class}/seats/{number}/",
    ),
    # --- hotels (docs/api.md, Hotels) ---
    Row("GET", "/api/v1/hotels/", each(200)),
    Row("GET", "/api/v1/hotels/{hotel_id}/", each(200)),
    Row("POST", "/api/v1/hotels/", {**CUSTOMER_ONLY, "staff": 400}, body={}),
    Row(
        "PUT",
        "/api/v1/hotels/{hotel_id}/room-types/{room_type_id}/availability/",
        {**CUSTOMER_ONLY, "staff": 400},
        body={},
    ),
    # --- events and webhooks (docs/api.md, Events and webhooks): staff only ---
    Row("GET", "/api/v1/events/", STAFF_ONLY),
    Row("GET", "/api/v1/webhook-endpoints/", STAFF_ONLY),
    Row("POST", "/api/v1/webhook-endpoints/", {**CUSTOMER_ONLY, "staff": 400}, body={}),
    Row("GET", "/api/v1/webhook-endpoints/{endpoint_id}/", STAFF_ONLY),
    Row(
        "PATCH",
        "/api/v1/webhook-endpoints/{endpoint_id}/",
        STAFF_ONLY,
        body={"description": "partner"},
    ),
    Row("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}/", {**CUSTOMER_ONLY, "staff": 204}),
    Row("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/", STAFF_ONLY),
    # --- operations: open to all (the network in front restricts them) ---
    Row("GET", "/healthz", each(200), json_errors=False),
    Row("GET", "/readyz", each(200), json_errors=False),
    Row("GET", "/metrics", each(200), json_errors=False),
    Row("GET", "/api/schema/", each(200), json_errors=False),
    Row("GET", "/api/docs/", each(200), json_errors=False),
    # --- the back office: staff only; others are sent to the login page ---
    Row("GET", "/admin/", {**each(302), "staff": 200}, json_errors=False),
]


def row_id(row: Row) -> str:
    return f"{row.method} {row.path}"


@pytest.fixture
def people(db):
    owner, other, staff = UserFactory(), UserFactory(), StaffFactory(is_superuser=True)
    clients = {"anonymous": APIClient()}
    for role, user in (("owner", owner), ("other", other), ("staff", staff)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
        client.force_login(user)
        clients[role] = client
    return clients


@pytest.fixture
def world(people):
    """The ids the paths name; the booking is the owner's, held, on a cabin
    with a seat map (20 seats, rows 10 to 13)."""
    cabin = seat_mapped_cabin(rows=4, columns="AB CDE")
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=5)
    hold_body = {
        "items": [
            {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
        ]
    }
    booking = people["owner"].post("/api/v1/bookings/", hold_body)
    assert booking.status_code == 201, booking.content
    return {
        "reference": booking.json()["reference"],
        "flight_id": cabin.flight_id,
        "cabin_class": cabin.cabin_class,
        "hotel_id": room_type.hotel_id,
        "room_type_id": room_type.pk,
        "endpoint_id": WebhookEndpoint.objects.create(
            url="https://example.com/hooks", event_types=["booking.held"]
        ).pk,
        "hold": hold_body,
    }


def routed(path: str) -> bool:
    match = resolve(path.split("?")[0])
    return match.func is not errors.page_not_found


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_authorization(row, role, people, world):
    path = row.path.format(**world)
    assert routed(path), f"{path} is not routed: the row or the URLconf is wrong"
    body = world["hold"] if row.body == "hold" else row.body
    response = getattr(people[role], row.method.lower())(path, body, format="json")
    expected = row.expect[role]
    assert response.status_code == expected, (role, response.status_code, response.content[:300])

    if row.json_errors and expected >= 400:
        code = response.json()["code"]
        assert (
            code
            == {
                400: "validation_error",
                401: "not_authenticated",
                402: "payment_required",
                403: "permission_denied",
                404: "not_found",
                409: "invalid_state",
            }[expected]
        )
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"
    if expected == 302:
        assert response["Location"].startswith("/admin/login/")


def test_every_api_operation_has_a_row():
    """The OpenAPI document's operations, each covered by a row."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    covered = {(row.method, row.spec_path or row.path) for row in ROWS}
    covered_shapes = {(method, _shape(path)) for method, path in covered}
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if (method.upper(), _shape(path)) not in covered_shapes
    ]
    assert not missing, f"add rows to ROWS for: {missing}"


def _shape(path: str) -> str:
    """A path with its parameters' names left out: {id} and {flight_id} match."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)
