"""The one path every status change of a booking takes: with the booking
locked, check the change is allowed, write the new status with its history
row and its outbox event, and move the units, in the caller's transaction.
The booking's row is written first and the inventory rows last, so the rows
every hold contends for stay locked only for the end of the transaction."""

from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from bookings import metrics
from bookings.exceptions import HoldExpired, InvalidState
from bookings.models import Actor, Booking, BookingStatus, BookingStatusChange
from bookings.services import inventory, seats, statements
from events.models import Event
from events.services import relay_after_commit

HELD, CONFIRMED, RELEASED = BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.RELEASED
EXPIRED, CANCELLED = BookingStatus.EXPIRED, BookingStatus.CANCELLED

# (from, to): the counters the booking's units move between.
MOVES = {
    (HELD, CONFIRMED): ("held", "booked"),
    (HELD, RELEASED): ("held", "available"),
    (HELD, EXPIRED): ("held", "available"),
    (CONFIRMED, CANCELLED): ("booked", "available"),
    # A payment that succeeded after the hold ended: the same units, if still
    # on sale (the counters' CheckConstraints refuse them otherwise).
    (EXPIRED, CONFIRMED): ("available", "booked"),
    (RELEASED, CONFIRMED): ("available", "booked"),
}

# The fields a transition reads and writes: all a lock needs to read again.
STATE_FIELDS = [
    "status",
    "expires_at",
    "confirmed_at",
    "cancelled_at",
    "expired_at",
    "payment_reference",
    "extension_count",
    "refunded_amount",
    "cancel_reason",
]


def lock_booking(booking: Booking) -> Booking:
    """Take the booking's row lock and read its state again, as it is once the
    lock is ours, into `booking` itself (its items, which never change, stay as
    read): what a transition returns is the caller's booking, now."""
    booking.refresh_from_db(
        fields=STATE_FIELDS, from_queryset=Booking.objects.select_for_update(of=("self",))
    )
    return booking


def lock_one_of(bookings: QuerySet[Booking]) -> Booking | None:
    """The booking `bookings` names (a query for at most one row), locked and
    read, with whatever the query prefetches (`selectors.ITEMS` for a
    transition that moves units), in the caller's transaction: a change asked
    for by reference finds, locks and reads its booking at once, instead of
    reading it, then locking and reading it again."""
    return bookings.select_for_update(of=("self",)).first()


def change_status(
    bookings: Sequence[Booking],
    *,
    to_status: str,
    actor,
    now: datetime,
    note: str = "",
    **fields,
) -> None:
    """Move locked bookings, all in one status, to `to_status` and set
    `fields` on them; raises InvalidState if that change is not allowed."""
    if not bookings:
        return
    from_status = bookings[0].status
    for booking in bookings:
        if booking.status != from_status or (from_status, to_status) not in MOVES:
            raise InvalidState(booking.status, to_status)
    history = [
        BookingStatusChange(
            booking=booking,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            actor_kind=actor_kind(actor, booking),
            at=now,
            note=note,
        )
        for booking in bookings
    ]
    for booking in bookings:
        booking.status = to_status
        for name, value in fields.items():
            setattr(booking, name, value)
    source, target = MOVES[(from_status, to_status)]
    # Units back on sale: their seats too, in the status change's statement.
    seat_holders = seats.seat_holders(bookings) if target == "available" else []
    events = [booking_event(booking, now) for booking in bookings]
    statements.change_status(bookings, history, events, fields, seat_holders)
    inventory.move_units_of(bookings, source=source, target=target)
    metrics.count_transition(to_status, len(bookings))
    relay_after_commit()


def booking_event(booking: Booking, now: datetime, items=None) -> Event:
    """The outbox event of a booking's new status: `booking.<status>`, with
    the booking as its owner reads it."""
    from bookings.api.serializers import BookingSerializer

    context = {} if items is None else {"items": items}
    return Event(
        type=f"booking.{booking.status}",
        created_at=now,
        data={"booking": BookingSerializer(booking, context=context).data},
    )


def actor_kind(actor, booking: Booking) -> str:
    if actor is None:
        return Actor.SYSTEM
    if actor.is_staff and actor.pk != booking.customer_id:
        return Actor.STAFF
    return Actor.CUSTOMER


def require_held(booking: Booking, change: str) -> None:
    """HoldExpired for an expired hold, InvalidState for any other that is
    not held: what `change` needs."""
    if booking.status == EXPIRED:
        raise HoldExpired()
    if booking.status != HELD:
        raise InvalidState(booking.status, change)
