"""Confirm: held → confirmed, the held units become booked."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings import selectors
from bookings.exceptions import (
    HoldExpired,
    InsufficientInventory,
    InvalidState,
    PaymentReferenceMismatch,
)
from bookings.models import Booking, BookingStatus
from bookings.services import seats
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import (
    STATE_FIELDS,
    change_status,
    lock_booking,
    require_held,
)

CONFIRMED, EXPIRED = BookingStatus.CONFIRMED, BookingStatus.EXPIRED
ENDED_HOLDS = (BookingStatus.EXPIRED, BookingStatus.RELEASED)


def confirm_booking(*, booking: Booking, payment_reference: str, actor) -> Booking:
    """Confirm a hold paid by `payment_reference`. Repeating it with the same
    reference changes nothing. A hold found overdue is expired (that commits)
    and the answer is HoldExpired."""
    with transaction.atomic():
        booking = confirm_locked(
            lock_booking(booking), payment_reference=payment_reference, actor=actor
        )
    if booking.status == EXPIRED:
        raise HoldExpired()
    return booking


def confirm_locked(booking: Booking, *, payment_reference: str, actor) -> Booking:
    """`confirm_booking` for a booking the caller has locked and read in its
    own transaction (a payment's webhook locks it with its items first): no
    second locking read. An overdue hold comes back expired."""
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


def confirm_ended_locked(booking: Booking, *, payment_reference: str) -> Booking:
    """A payment succeeded after its hold ended (expired, released): hold the
    same units again and confirm, in one step, if they are still on sale and
    the first service has not started; on a cabin with a seat map with seats
    again (`seats.take_again`: its own if they are free, else picked). For a
    booking the caller has locked and read with its items in its own
    transaction (a payment's webhook): no second locking read.
    InsufficientInventory when units or seats are short (nothing moves: the
    counters' CheckConstraints are the last word), InvalidState for a booking
    that is not an ended hold."""
    from bookings.services.cancel import first_service_start

    now = timezone.now()
    if booking.status not in ENDED_HOLDS or first_service_start(booking) <= now:
        raise InvalidState(booking.status, "confirmed")
    try:
        with transaction.atomic():
            seats.take_again(booking)
            change_status(
                [booking],
                to_status=CONFIRMED,
                actor=None,
                now=now,
                note="held again and confirmed: its payment succeeded late",
                confirmed_at=now,
                payment_reference=payment_reference,
            )
    except IntegrityError:
        _as_before(booking)
        raise InsufficientInventory([]) from None
    return booking


def _as_before(booking: Booking) -> None:
    """The booking in memory as the rolled-back savepoint left it: its state
    as stored, and no seats."""
    booking.refresh_from_db(fields=STATE_FIELDS)
    for item in selectors.flight_items_of(booking):
        item.seat_numbers = []
