"""Refunds of cancelled bookings, consumed from the outbox: a cancel writes
`booking.cancelled` with the amount it refunds (bookings sits below
payments and never calls it); the relay hands the event here, in its
transaction, and the refund is recorded once per event id and issued
through the payment's provider after the commit (retried by its task)."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from events.models import Event, EventType
from payments import services
from payments.models import Payment


def refund_cancellations(events: list[Event]) -> None:
    made = []
    for event in events:
        if event.type != EventType.BOOKING_CANCELLED:
            continue
        booking = event.data.get("booking") or {}
        amount = Decimal(booking.get("refunded_amount") or "0")
        payment = (
            Payment.objects.select_for_update(of=services.PAYMENT_ONLY)
            .select_related("booking")
            .filter(booking__reference=booking.get("reference"), status__in=services.PAID)
            .filter(paid_by(booking.get("payment_reference")))
            .first()
        )
        if amount > 0 and payment is not None:
            made.append(services.refund(payment=payment, amount=amount, key=event.id))
    transaction.on_commit(lambda: services.issue_refunds_later(made))


def paid_by(reference) -> Q:
    """The payment a booking's `payment_reference` names: ours by id, or an
    offline one by staff's reference."""
    return Q(pk=reference) | Q(provider=services.OFFLINE, provider_id=reference)
