"""schemathesis against /api/schema/, in-process through the WSGI app: every
operation, as a customer and as staff, with valid and invalid input. No
answer may be a 5xx, and every answer must match the document (error bodies
included).

CI runs FUZZ_EXAMPLES (default 25) examples per operation and phase with a
fixed seed, so a run is repeatable; set FUZZ_EXAMPLES=500 for a longer run.
"""

import os
import sys
from datetime import date, timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import issue_token
from tests.factories import (
    FlightInventoryFactory,
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
    put_nights_on_sale,
)

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance]
# The callers' data is set up once per operation and shared by its examples, on
# purpose; a loaded machine must not turn into a failure.
QUIET = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ran = {"examples": 0, "operations": set()}


def fuzz_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261122,
            "generation": {
                "mode": "all",
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
            },
            "phases": {"stateful": {"enabled": False}},
        }
    )


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    sys.stderr.write(
        f"\nfuzz: {ran['examples']} examples over {len(ran['operations'])} operations\n"
    )


def caller(user) -> dict:
    """Headers of a caller with something to find: inventory on sale and a
    booking of theirs."""
    cabin = FlightInventoryFactory(total_seats=50)
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, date.today() + timedelta(days=1), nights=10)
    headers = {"Authorization": f"Token {issue_token(user)}"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=headers["Authorization"])
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    assert client.post("/api/v1/bookings/", {"items": [item]}, format="json").status_code == 201
    return headers


@pytest.fixture
def customer_headers(transactional_db):
    return caller(UserFactory())


@pytest.fixture
def staff_headers(transactional_db):
    return caller(StaffFactory(is_superuser=True))


# Loaded at collection: the document needs neither a login nor the database.
# (schemathesis.pytest.from_fixture would load it per test, but its lazy
# loader does not work with pytest 9.)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", get_wsgi_application(), config=fuzz_config()
)


def call(case, headers):
    ran["examples"] += 1
    ran["operations"].add(case.operation.label)
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@QUIET
def test_as_a_customer(case, customer_headers):
    call(case, customer_headers)


@pytest.mark.slow
@schema.parametrize()
@QUIET
def test_as_staff(case, staff_headers):
    call(case, staff_headers)


def test_real_answers_match_the_document(transactional_db):
    """Random input seldom names a real flight: walk a booking's life with real
    ids, and validate each answer (successes and domain errors) the same way."""
    headers = caller(UserFactory())
    cabin = FlightInventoryFactory(total_seats=3)
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}

    def call(label: str, status: int, extra_headers=None, **case):
        operation = schema.find_operation_by_label(label)
        response = operation.Case(**case).call_and_validate(
            headers={**headers, **(extra_headers or {})},
            checks=[*CHECKS, status_code_conformance],
        )
        assert response.status_code == status, response.text
        return None if label == "GET /metrics" else response.json()

    keyed = {"Idempotency-Key": "fuzz-real-1"}
    held = call("POST /api/v1/bookings/", 201, keyed, body={"items": [item]})
    call("POST /api/v1/bookings/", 201, keyed, body={"items": [item]})
    call("POST /api/v1/bookings/", 422, keyed, body={"items": [{**item, "seats": 2}]})
    short = call("POST /api/v1/bookings/", 409, body={"items": [{**item, "seats": 9}]})
    assert short["code"] == "insufficient_inventory" and short["unavailable"]
    reference = {"reference": held["reference"]}
    call("GET /api/v1/bookings/", 200, query={"status": "held"})
    call("GET /api/v1/bookings/{reference}/", 200, path_parameters=reference)
    call("POST /api/v1/bookings/{reference}/extend/", 200, path_parameters=reference)
    limit = call("POST /api/v1/bookings/{reference}/extend/", 409, path_parameters=reference)
    assert limit["code"] == "extension_limit"
    call("POST /api/v1/bookings/{reference}/payments/", 201, path_parameters=reference)
    call("GET /api/v1/bookings/{reference}/payments/", 200, path_parameters=reference)
    confirm = {"payment_reference": "pay-1"}
    call("POST /api/v1/bookings/{reference}/confirm/", 402, path_parameters=reference, body=confirm)
    call("POST /api/v1/bookings/{reference}/cancel/", 200, path_parameters=reference)
    call("GET /healthz", 200)
    call("GET /readyz", 200)
    call("GET /metrics", 200)
