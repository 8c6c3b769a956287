"""Refunds by REFUND_POLICY (docs/api.md, Bookings: cancellation-quote and
cancel): the cancel records the amount, and payments refunds it through the
payment that paid by consuming `booking.cancelled` from the outbox."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.services import relay_pending
from flights.models import Flight
from payments.models import Refund
from tests.booking_requests import booking_url
from tests.payments.conftest import post_webhook


def departing_in(cabin, delta):
    Flight.objects.filter(pk=cabin.flight_id).update(
        departure_at=timezone.now() + delta, arrival_at=timezone.now() + delta + timedelta(hours=2)
    )


@pytest.fixture
def paid(client, payment, held):
    """`held` (2 seats at 129.00: 258.00) confirmed by the sandbox's payment."""
    assert post_webhook(client, payment).status_code == 200
    held.refresh_from_db()
    payment.refresh_from_db()
    return held


@pytest.mark.parametrize(
    ("before", "percent", "amount", "has_deadline"),
    [
        (timedelta(days=8), 100, "258.00", True),
        (timedelta(days=2), 50, "129.00", True),
        (timedelta(hours=3), 0, "0.00", False),
    ],
)
def test_the_quote_follows_the_policy_tiers(
    customer_client, paid, cabin, before, percent, amount, has_deadline
):
    departing_in(cabin, before)
    quote = customer_client.get(booking_url(paid.reference, "cancellation-quote")).json()
    assert quote["refund_percent"] == percent
    assert quote["refund_amount"] == amount
    assert quote["currency"] == "EUR"
    assert (quote["deadline"] is not None) == has_deadline


def test_amounts_are_rounded_down_to_the_cent(customer_client, paid, cabin, settings):
    settings.REFUND_POLICY = "0:33"
    quote = customer_client.get(booking_url(paid.reference, "cancellation-quote")).json()
    assert quote["refund_amount"] == "85.14"  # 258.00 × 33 % = 85.14


def test_cancel_refunds_through_the_payment_once(customer_client, paid, payment, cabin):
    departing_in(cabin, timedelta(days=2))
    response = customer_client.post(booking_url(paid.reference, "cancel"), {"reason": "ill"})
    again = customer_client.post(booking_url(paid.reference, "cancel"))
    assert response.status_code == again.status_code == 200
    body = response.json()
    assert (body["status"], body["refunded_amount"], body["cancel_reason"]) == (
        "cancelled",
        "129.00",
        "ill",
    )
    relay_pending()
    relay_pending()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("129.00"))
    assert Refund.objects.get(payment=payment).amount == Decimal("129.00")


def test_staff_may_set_the_refund_up_to_what_was_paid(staff_client, paid, payment):
    url = booking_url(paid.reference, "cancel")
    too_much = staff_client.post(url, {"refund_amount": "258.01"})
    assert (too_much.status_code, too_much.json()["code"]) == (400, "validation_error")
    paid.refresh_from_db()
    assert paid.status == "confirmed"
    assert staff_client.post(url, {"refund_amount": "258.00"}).status_code == 200
    relay_pending()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("258.00"))


def test_a_customer_may_not_set_the_refund(customer_client, paid):
    response = customer_client.post(booking_url(paid.reference, "cancel"), {"refund_amount": "1"})
    assert response.status_code == 403
    paid.refresh_from_db()
    assert paid.status == "confirmed"


def test_cancellation_closes_when_the_first_service_starts(customer_client, paid, cabin):
    departing_in(cabin, -timedelta(minutes=1))
    for response in (
        customer_client.get(booking_url(paid.reference, "cancellation-quote")),
        customer_client.post(booking_url(paid.reference, "cancel")),
    ):
        assert (response.status_code, response.json()["code"]) == (409, "cancellation_closed")
    paid.refresh_from_db()
    assert paid.status == "confirmed"


def test_an_offline_payment_is_refunded_offline(staff_client, held):
    from payments.models import Payment

    staff_client.post(booking_url(held.reference, "confirm"), {"payment_reference": "desk-9"})
    assert staff_client.post(booking_url(held.reference, "cancel")).status_code == 200
    relay_pending()
    offline = Payment.objects.get(booking=held)
    assert (offline.status, offline.refunded_amount) == ("refunded", Decimal("258.00"))
    assert Refund.objects.get(payment=offline).status == "succeeded"


def test_the_cancel_email_tells_the_refund(customer_client, paid, cabin):
    from bookings.notifications import booking_letter
    from events.emails import message
    from events.models import Event

    departing_in(cabin, timedelta(days=2))
    customer_client.post(booking_url(paid.reference, "cancel"))
    event = Event.objects.get(type="booking.cancelled")
    text = message("booking_cancelled", booking_letter(event)).body
    assert "Refund: 129.00 EUR" in text


def test_one_cancel_refunds_once_however_often_its_event_is_consumed(
    customer_client, paid, payment
):
    from events.models import Event
    from payments.refunds import refund_cancellations

    customer_client.post(booking_url(paid.reference, "cancel"))
    event = Event.objects.get(type="booking.cancelled")
    for _ in range(3):
        refund_cancellations([event])
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("258.00")
    assert Refund.objects.filter(payment=payment).count() == 1


def test_refunds_never_exceed_what_was_paid(paid, payment):
    from payments import services

    payment.refresh_from_db()
    first = services.refund(payment=payment, amount=Decimal("200.00"), key="goodwill")
    second = services.refund(payment=payment, amount=Decimal("200.00"), key="cancel")
    third = services.refund(payment=payment, amount=Decimal("1.00"), key="more")
    assert (first.amount, second.amount, third) == (Decimal("200.00"), Decimal("58.00"), None)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("258.00"))
