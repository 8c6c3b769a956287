"""Passwords are validated at registration, and probing booking references
tells a customer nothing about other customers' bookings."""

import re

import pytest

from bookings.models import REFERENCE_ALPHABET, REFERENCE_LENGTH, new_reference
from tests.factories import FlightInventoryFactory


def register(client, password, username="newcomer"):
    return client.post(
        "/api/v1/auth/register/",
        {"username": username, "email": f"{username}@example.com", "password": password},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    [
        "short7",  # too short
        "password123",  # common
        "83749201938475",  # all digits
        "newcomer-example",  # like the username
    ],
)
def test_weak_passwords_are_refused(api_client, password):
    response = register(api_client, password)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert {error["field"] for error in body["errors"]} == {"password"}
    assert {error["code"] for error in body["errors"]} == {"weak"}


@pytest.mark.django_db
def test_a_strong_password_registers_and_is_stored_hashed(api_client, django_user_model):
    response = register(api_client, "Velvet-Lantern-Orbit-52")
    assert response.status_code == 201
    assert "password" not in response.json()
    user = django_user_model.objects.get(username="newcomer")
    assert user.password != "Velvet-Lantern-Orbit-52"
    assert user.check_password("Velvet-Lantern-Orbit-52")


def test_references_have_about_a_billion_codes_drawn_at_random():
    assert len(set(REFERENCE_ALPHABET)) ** REFERENCE_LENGTH >= 10**9
    drawn = [new_reference() for _ in range(5000)]
    assert all(re.fullmatch(rf"[{REFERENCE_ALPHABET}]{{6}}", ref) for ref in drawn)
    assert len(set(drawn)) >= 4990  # a birthday collision or two at most, not a sequence
    assert sorted(drawn) != drawn


@pytest.fixture
def someone_elses_reference(other_client):
    cabin = FlightInventoryFactory(total_seats=5)
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    response = other_client.post("/api/v1/bookings/", {"items": [item]})
    assert response.status_code == 201
    return response.json()["reference"]


def unused_reference(taken: str) -> str:
    while (candidate := new_reference()) == taken:
        pass
    return candidate


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "confirm/", {"payment_reference": "p-1"}),
        ("post", "cancel/", None),
        ("post", "extend/", None),
    ],
)
def test_probing_a_reference_answers_alike_whether_it_exists_or_not(
    customer_client, someone_elses_reference, method, suffix, body
):
    answers = []
    for reference in (
        someone_elses_reference,
        someone_elses_reference.lower(),
        unused_reference(someone_elses_reference),
    ):
        response = getattr(customer_client, method)(
            f"/api/v1/bookings/{reference}/{suffix}", body, format="json"
        )
        answers.append((response.status_code, response.content, response.get("Allow")))
    assert answers[0][0] == 404
    assert answers[0] == answers[1] == answers[2]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reference", ["%00", "..%2F..", "ABC", "A" * 300, "%E2%98%83", "ABCDE%20", "' OR 1=1"]
)
def test_references_with_odd_characters_are_a_plain_404(customer_client, reference):
    response = customer_client.get(f"/api/v1/bookings/{reference}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
