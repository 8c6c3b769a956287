"""Cancel: held → released, confirmed → cancelled; the units go back on sale."""

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import change_status, lock_booking

HELD, CONFIRMED = BookingStatus.HELD, BookingStatus.CONFIRMED
RELEASED, CANCELLED = BookingStatus.RELEASED, BookingStatus.CANCELLED
ENDS = {HELD: RELEASED, CONFIRMED: CANCELLED}


def cancel_booking(*, booking: Booking, actor) -> Booking:
    """Release a hold or cancel a confirmed booking. Cancelling an ended
    booking (an overdue hold included: it expires) changes nothing."""
    with transaction.atomic():
        booking = lock_booking(booking)
        now = timezone.now()
        if not expire_if_overdue(booking, now) and booking.status in ENDS:
            change_status(
                [booking], to_status=ENDS[booking.status], actor=actor, now=now, cancelled_at=now
            )
    return booking
