"""Claim, pay, confirm (docs/api.md, Payments): starting a payment, the
provider's webhook, staff's offline confirm, and a customer's confirm."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import cancel_booking, expire_bookings
from events.models import Event
from payments.models import Payment, PaymentStatus, Refund
from tests.booking_requests import booking_url
from tests.holds import hold_through_services, make_overdue
from tests.payments.conftest import post_webhook


def payments_url(booking):
    return booking_url(booking.reference, "payments")


def seats(cabin):
    cabin.refresh_from_db()
    return cabin.available_seats, cabin.held_seats, cabin.booked_seats


def test_starting_a_payment_keeps_the_hold_for_the_payment_window(customer_client, held, settings):
    settings.PAYMENT_WINDOW_SECONDS = 3600
    before = timezone.now()
    response = customer_client.post(payments_url(held))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("pay_")
    assert body["status"] == "pending"
    assert body["booking"] == held.reference
    assert body["amount"] == f"{held.total_price:.2f}"
    assert body["provider"] == "sandbox"
    assert body["client_secret"] is None
    assert body["checkout_url"] == f"http://testserver/sandbox/checkout/{body['id']}/"
    held.refresh_from_db()
    assert held.expires_at >= before + timedelta(seconds=3600)


def test_a_pending_payment_is_answered_again_not_doubled(customer_client, held):
    first = customer_client.post(payments_url(held))
    again = customer_client.post(payments_url(held))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Payment.objects.filter(booking=held).count() == 1
    listed = customer_client.get(payments_url(held))
    assert [p["id"] for p in listed.json()] == [first.json()["id"]]


def test_attempts_are_limited(customer_client, client, held, settings):
    settings.MAX_PAYMENT_ATTEMPTS = 2
    for _ in range(2):
        started = Payment.objects.get(pk=customer_client.post(payments_url(held)).json()["id"])
        assert post_webhook(client, started, "payment.failed").status_code == 200
    response = customer_client.post(payments_url(held))
    assert response.status_code == 409
    assert response.json()["code"] == "payment_attempts_exhausted"


def test_an_expired_or_released_hold_cannot_be_paid(customer_client, held, customer, cabin):
    make_overdue(held)
    response = customer_client.post(payments_url(held))
    assert (response.status_code, response.json()["code"]) == (409, "hold_expired")
    other = hold_through_services(customer, cabin)
    customer_client.post(booking_url(other.reference, "cancel"))
    response = customer_client.post(payments_url(other))
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert not Payment.objects.exists()


def test_only_the_owner_starts_a_payment(other_client, staff_client, held):
    assert other_client.post(payments_url(held)).status_code == 404
    assert staff_client.post(payments_url(held)).status_code == 403
    assert staff_client.get(payments_url(held)).status_code == 200
    assert not Payment.objects.exists()


def test_success_confirms_the_booking_through_the_transition(client, payment, held, cabin):
    response = post_webhook(client, payment)
    assert (response.status_code, response.json()) == (200, {"received": True})
    payment.refresh_from_db()
    held.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert held.status == BookingStatus.CONFIRMED
    assert held.payment_reference == payment.id
    assert seats(cabin) == (8, 0, 2)
    assert list(Event.objects.values_list("type", flat=True))[-2:] == [
        "payment.succeeded",
        "booking.confirmed",
    ]


def test_failure_keeps_the_hold_and_allows_another_payment(
    client, customer_client, payment, held, cabin
):
    response = post_webhook(client, payment, "payment.failed")
    assert response.status_code == 200
    payment.refresh_from_db()
    held.refresh_from_db()
    assert (payment.status, payment.failure_reason) == ("failed", "card_declined")
    assert held.status == BookingStatus.HELD
    assert seats(cabin) == (8, 2, 0)
    assert Event.objects.filter(type="payment.failed").count() == 1
    assert customer_client.post(payments_url(held)).status_code == 201


def test_the_first_outcome_is_the_last(client, payment, held):
    """A failure after the success, and the success again under another id,
    change nothing; the same webhook id again answers 200 and changes nothing."""
    assert post_webhook(client, payment, webhook_id="msg_1").status_code == 200
    events = Event.objects.count()
    assert post_webhook(client, payment, "payment.failed").status_code == 200
    assert post_webhook(client, payment, webhook_id="msg_1").status_code == 200
    assert post_webhook(client, payment).status_code == 200
    payment.refresh_from_db()
    held.refresh_from_db()
    assert (payment.status, held.status) == ("succeeded", "confirmed")
    assert Event.objects.count() == events
    assert not Refund.objects.exists()


@pytest.mark.parametrize("ended", ["expired", "released"])
def test_late_success_holds_the_same_units_again_and_confirms(
    client, customer, payment, held, cabin, ended
):
    if ended == "expired":
        make_overdue(held)
        expire_bookings(booking_ids=[held.pk])
    else:
        cancel_booking(booking=held, actor=customer)
    assert seats(cabin) == (10, 0, 0)
    assert post_webhook(client, payment).status_code == 200
    payment.refresh_from_db()
    held.refresh_from_db()
    assert (held.status, held.payment_reference) == ("confirmed", payment.id)
    assert payment.status == "succeeded"
    assert seats(cabin) == (8, 0, 2)
    assert not Refund.objects.exists()


def test_late_success_refunds_in_full_when_the_units_are_gone(
    client, other_customer, payment, held, cabin
):
    make_overdue(held)
    hold_through_services(other_customer, cabin, seats=9)  # expires `held` on the spot to fit
    assert post_webhook(client, payment).status_code == 200
    payment.refresh_from_db()
    held.refresh_from_db()
    assert held.status == BookingStatus.EXPIRED
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    assert Refund.objects.get(payment=payment).amount == payment.amount
    assert seats(cabin) == (1, 9, 0)
    assert Event.objects.filter(type="payment.refunded").count() == 1


def test_a_customer_confirm_is_402(customer_client, held):
    response = customer_client.post(
        booking_url(held.reference, "confirm"), {"payment_reference": "pay-123"}
    )
    assert (response.status_code, response.json()["code"]) == (402, "payment_required")
    held.refresh_from_db()
    assert held.status == BookingStatus.HELD


def test_staff_confirm_records_an_offline_payment(staff_client, staff, held, cabin):
    url = booking_url(held.reference, "confirm")
    first = staff_client.post(url, {"payment_reference": "desk-42"})
    again = staff_client.post(url, {"payment_reference": "desk-42"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == "confirmed"
    offline = Payment.objects.get(booking=held)
    assert (offline.provider, offline.provider_id, offline.status) == (
        "offline",
        "desk-42",
        "succeeded",
    )
    assert offline.created_by == staff
    assert seats(cabin) == (8, 0, 2)
    other = staff_client.post(url, {"payment_reference": "desk-43"})
    assert (other.status_code, other.json()["code"]) == (409, "payment_reference_mismatch")


def test_success_after_staff_confirmed_offline_is_refunded(
    client, staff_client, payment, held, cabin
):
    staff_client.post(booking_url(held.reference, "confirm"), {"payment_reference": "desk-1"})
    assert post_webhook(client, payment).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert Booking.objects.get(pk=held.pk).payment_reference == "desk-1"
    assert seats(cabin) == (8, 0, 2)


@pytest.mark.parametrize("kind", ["payment.succeeded", "payment.failed"])
def test_webhooks_with_another_amount_or_currency_are_refused(client, payment, held, kind):
    for change in ({"amount": "1.00"}, {"currency": "USD"}):
        message = {
            "type": kind,
            "data": {
                "payment_id": payment.id,
                "amount": f"{payment.amount:.2f}",
                "currency": payment.currency,
                **change,
            },
        }
        response = post_webhook(client, payment, message=message)
        assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_a_webhook_for_an_unknown_payment_is_refused(client, payment):
    message = {"type": "payment.succeeded", "data": {"payment_id": "pay_nope"}}
    response = post_webhook(client, payment, message=message)
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
