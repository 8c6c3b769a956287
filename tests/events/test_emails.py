"""Customer emails from the outbox: confirmed (itinerary, seats, reference),
payment failed, hold expired, cancelled; text and HTML; at most once per
event; none for a change that rolled back. Django's own test mail backend
(locmem) catches what is sent."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings import services
from events import emails
from events.models import CustomerEmail, Event
from events.services import relay_pending
from tests.factories import RoomTypeFactory, put_nights_on_sale
from tests.holds import hold_through_services, make_overdue

pytestmark = pytest.mark.django_db


def send_all() -> list[str]:
    return [emails.send(pk) for pk in CustomerEmail.objects.values_list("pk", flat=True)]


def test_a_confirmed_booking_mails_its_itinerary_and_reference(customer, cabin):
    room_type = RoomTypeFactory(name="Deluxe double")
    put_nights_on_sale(room_type, date.today() + timedelta(days=10), nights=3)
    booking = hold_through_services(customer, cabin, seats=2, room_type=room_type, nights=2)
    services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    relay_pending()

    assert send_all() == ["sent"]
    (message,) = mail.outbox
    assert message.to == [customer.email]
    assert booking.reference in message.subject and "confirmed" in message.subject
    flight = cabin.flight
    for text in (message.body, message.alternatives[0].content):
        assert booking.reference in text
        assert flight.flight_number in text and f"{flight.origin} → {flight.destination}" in text
        assert "2 seats" in text
        assert room_type.hotel.name in text and "Deluxe double" in text
    assert message.alternatives[0].mimetype == "text/html"
    email = CustomerEmail.objects.get()
    assert (email.kind, email.status, email.recipient) == (
        "booking_confirmed",
        "sent",
        customer.email,
    )


def test_expired_and_cancelled_bookings_are_mailed_and_a_released_hold_is_not(customer, cabin):
    expiring = hold_through_services(customer, cabin)
    make_overdue(expiring)
    services.expire_overdue_holds()
    confirmed = hold_through_services(customer, cabin)
    services.confirm_booking(booking=confirmed, payment_reference="p", actor=customer)
    services.cancel_booking(booking=confirmed, actor=customer)
    released = hold_through_services(customer, cabin)
    services.cancel_booking(booking=released, actor=customer)
    relay_pending()

    send_all()
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == sorted(
        [
            f"Your hold {expiring.reference} has expired",
            f"Your booking {confirmed.reference} is confirmed",
            f"Your booking {confirmed.reference} is cancelled",
        ]
    )
    assert not [m for m in mail.outbox if released.reference in m.subject]


def test_a_payment_failure_is_mailed(customer, cabin):
    """payment.* events come from the payments app: the email needs only
    the event's booking, and the reason if the payment names one."""
    booking = hold_through_services(customer, cabin)
    held = Event.objects.get(type="booking.held")
    Event.objects.create(
        type="payment.failed",
        data={"booking": held.data["booking"], "payment": {"failure_reason": "card declined"}},
    )
    relay_pending()
    send_all()
    (message,) = mail.outbox
    assert booking.reference in message.subject and "card declined" in message.body


def test_each_email_is_sent_at_most_once_however_often_its_task_runs(customer, cabin):
    booking = hold_through_services(customer, cabin)
    services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    relay_pending()
    relay_pending()
    (email,) = CustomerEmail.objects.all()
    assert emails.send(email.pk) == "sent"
    assert emails.send(email.pk) == "not ready"
    CustomerEmail.objects.filter(pk=email.pk).update(status="sending")  # a worker died mid-send
    assert emails.send(email.pk) == "not ready"
    assert len(mail.outbox) == 1


def test_a_backend_that_fails_is_retried_later(customer, cabin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    booking = hold_through_services(customer, cabin)
    services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    relay_pending()
    (email,) = CustomerEmail.objects.all()
    assert emails.send(email.pk) == "failed"
    email.refresh_from_db()
    assert email.status == "pending" and email.attempts == 1 and email.last_error
    assert email.next_attempt_at > timezone.now()
    assert emails.send(email.pk) == "not ready"  # its backoff


def test_a_transition_that_rolls_back_mails_nothing(customer, cabin, monkeypatch):
    from bookings.services import inventory

    booking = hold_through_services(customer, cabin)
    monkeypatch.setattr(inventory, "move_units_of", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.confirm_booking(booking=booking, payment_reference="p", actor=customer)
    relay_pending()
    assert not CustomerEmail.objects.exists()
    assert mail.outbox == []
