"""Idempotency-Key on POST /api/v1/bookings/{reference}/payments/ (docs/api.md,
Payments): a repeat with the key answers the payment the key started, with
its 201 and `Idempotent-Replayed: true`, whatever became of it, and starts no
other, also when the repeats race."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from accounts.tokens import issue_token
from bookings.models import Booking
from payments.models import Payment
from tests.booking_requests import booking_url
from tests.factories import FlightInventoryFactory, UserFactory
from tests.holds import hold_through_services
from tests.invariants import assert_inventory_consistent
from tests.payments.conftest import post_webhook


def start(client, booking, key=None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(booking_url(booking.reference, "payments"), headers=headers)


def test_a_retry_after_the_payment_failed_answers_that_payment(client, customer_client, held):
    first = start(customer_client, held, key="pay-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    payment = Payment.objects.get(pk=first.json()["id"])
    assert post_webhook(client, payment, "payment.failed").status_code == 200

    again = start(customer_client, held, key="pay-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == payment.id
    assert again.json()["status"] == "failed"
    assert again.json()["checkout_url"] == first.json()["checkout_url"]
    assert Payment.objects.filter(booking=held).count() == 1


def test_a_repeat_while_pending_is_the_replay_and_another_key_the_pending_payment(
    customer_client, held
):
    first = start(customer_client, held, key="pay-1")
    again = start(customer_client, held, key="pay-1")
    other = start(customer_client, held, key="pay-2")
    unkeyed = start(customer_client, held)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert (other.status_code, unkeyed.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in other.headers
    ids = {r.json()["id"] for r in (first, again, other, unkeyed)}
    assert len(ids) == 1
    assert Payment.objects.get().idempotency_key == "pay-1"


def test_a_replay_is_answered_after_the_booking_was_confirmed(client, customer_client, held):
    first = start(customer_client, held, key="paid")
    assert post_webhook(client, Payment.objects.get()).status_code == 200
    held.refresh_from_db()
    assert held.status == "confirmed"
    again = start(customer_client, held, key="paid")
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert again.json()["status"] == "succeeded"
    assert again.headers["Idempotent-Replayed"] == "true"
    # Without the key, a confirmed booking cannot be paid.
    assert start(customer_client, held, key="new").json()["code"] == "invalid_state"


def test_keys_are_per_booking(customer_client, customer, cabin, held):
    other = hold_through_services(customer, cabin)
    mine, theirs = start(customer_client, held, key="k"), start(customer_client, other, key="k")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_key_whose_first_request_still_waits_for_the_provider_is_a_409_in_use(
    customer_client, customer, held
):
    """The first request committed its payment and has not yet had the
    provider's answer (no provider id): its answer is not known yet."""
    Payment.objects.create(
        booking=held,
        provider="sandbox",
        amount=held.total_price,
        currency=held.currency,
        created_by=customer,
        idempotency_key="in-flight",
    )
    response = start(customer_client, held, key="in-flight")
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_key_in_use")
    assert int(response.headers["Retry-After"]) >= 1
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "key",
    ["x" * 256, "", "tab\there", "del\x7f", "caf\u00e9"],
    ids=["256 chars", "empty", "tab", "DEL", "non-ASCII"],
)
def test_invalid_keys_are_a_400(customer_client, held, key):
    response = start(customer_client, held, key=key)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert not Payment.objects.exists()


def test_one_key_makes_one_payment_per_booking_in_the_database(customer, held):
    """The partial unique constraint is the last word; keyless payments are free."""
    fields = {"booking": held, "provider": "sandbox", "amount": 1, "currency": "EUR"}
    Payment.objects.create(**fields, status="failed", idempotency_key="k")
    Payment.objects.create(**fields, status="failed")
    Payment.objects.create(**fields, status="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(**fields, status="failed", idempotency_key="k")


@pytest.mark.django_db(transaction=True)
def test_racing_repeats_of_one_key_start_one_payment():
    """Six requests with one key, released together from a barrier in real
    threads (each its own PostgreSQL connection), round after round: one
    starts the payment; every other answers it again (201, replayed) or, if
    it came while the first still waited for the provider, 409 in use."""
    cabin = FlightInventoryFactory(total_seats=20)
    for round_ in range(4):
        customer = UserFactory()
        token = issue_token(customer)
        booking = hold_through_services(customer, cabin)
        answers = together(booking, token, key=f"race-{round_}", count=6)
        made = [a for a in answers if a[0] == 201 and not a[2]]
        assert len(made) == 1, answers
        payment_id = made[0][1]
        answers.remove(made[0])
        again = {(201, payment_id, True), (409, "idempotency_key_in_use", False)}
        assert set(answers) <= again, answers
        assert list(Payment.objects.filter(booking=booking).values_list("id", flat=True)) == [
            payment_id
        ]
        assert Booking.objects.get(pk=booking.pk).status == "held"
    assert_inventory_consistent()


def together(booking, token, *, key, count):
    """POST the payment start `count` times at once with one key: each
    answer's (status, payment id or error code, replayed)."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def run(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait(timeout=30)
            response = start(client, booking, key=key)
            body = response.json()
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            answers[i] = (response.status_code, body.get("id") or body.get("code"), replayed)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers
