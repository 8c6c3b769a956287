"""Confirm: held → confirmed, the held units become booked."""

from django.db import transaction
from django.utils import timezone

from bookings.exceptions import HoldExpired, PaymentReferenceMismatch
from bookings.models import Booking, BookingStatus
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import change_status, lock_booking, require_held

CONFIRMED = BookingStatus.CONFIRMED


def confirm_booking(*, booking: Booking, payment_reference: str, actor) -> Booking:
    """Confirm a hold paid by `payment_reference`. Repeating it with the same
    reference changes nothing. A hold found overdue is expired (that commits)
    and the answer is HoldExpired."""
    with transaction.atomic():
        booking = lock_booking(booking)
        now = timezone.now()  # read once the lock is ours, not before the wait
        if booking.status == CONFIRMED:
            if booking.payment_reference != payment_reference:
                raise PaymentReferenceMismatch()
            return booking
        if not expire_if_overdue(booking, now):
            require_held(booking, "confirmed")
            change_status(
                [booking],
                to_status=CONFIRMED,
                actor=actor,
                now=now,
                confirmed_at=now,
                payment_reference=payment_reference,
            )
            return booking
    raise HoldExpired()
