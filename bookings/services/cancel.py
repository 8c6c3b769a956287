"""Cancel: held → released, confirmed → cancelled; the units go back on sale.
A confirmed booking is refunded by REFUND_POLICY (or staff's amount): the
cancel records the amount and its event carries it; `payments` pays it back."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from bookings.exceptions import (
    BookingNotFound,
    CancellationClosed,
    InvalidState,
    NotPermitted,
    RefundAboveTotal,
)
from bookings.models import CANCEL_PERMISSION, Booking, BookingStatus, FlightItem, HotelItem
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import change_status, lock_booking, lock_one_of

HELD, CONFIRMED = BookingStatus.HELD, BookingStatus.CONFIRMED
RELEASED, CANCELLED = BookingStatus.RELEASED, BookingStatus.CANCELLED
ENDS = {HELD: RELEASED, CONFIRMED: CANCELLED}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CancellationQuote:
    refund_amount: Decimal
    currency: str
    refund_percent: int
    deadline: datetime | None  # until when this tier holds; None for the last


def cancel_booking(
    *, booking: Booking, actor, reason: str = "", refund_amount: Decimal | None = None
) -> Booking:
    """Release a hold or cancel a confirmed booking (refunding by the policy,
    or `refund_amount` when staff give one). Cancelling an ended booking (an
    overdue hold included: it expires) changes nothing."""
    with transaction.atomic():
        return _cancel_locked(lock_booking(booking), actor, reason, refund_amount)


def cancel_booking_named(
    *, bookings: QuerySet[Booking], actor, reason: str = "", refund_amount: Decimal | None = None
) -> Booking:
    """`cancel_booking` for the booking a customer or staff names by its
    reference (`bookings`, as `selectors.booking_named` gives it): found,
    locked and read in one query. The owner may cancel, and staff who may
    cancel for customers; only they may set the refund."""
    with transaction.atomic():
        booking = lock_one_of(bookings)
        if booking is None:
            raise BookingNotFound()
        if not may_cancel(actor, booking):
            raise NotPermitted("You may not cancel this booking.")
        if refund_amount is not None and not may_cancel_for_others(actor):
            raise NotPermitted("Only staff may set the refund.")
        return _cancel_locked(booking, actor, reason, refund_amount)


def may_cancel(actor, booking: Booking) -> bool:
    return booking.customer_id == actor.pk or may_cancel_for_others(actor)


def may_cancel_for_others(actor) -> bool:
    """Staff holding the admin's cancel permission (staff who may only view
    bookings may not)."""
    return actor.is_staff and actor.has_perm(CANCEL_PERMISSION)


def _cancel_locked(booking: Booking, actor, reason: str, refund_amount: Decimal | None) -> Booking:
    now = timezone.now()
    if expire_if_overdue(booking, now) or booking.status not in ENDS:
        return booking
    fields = {"cancelled_at": now, "cancel_reason": reason}
    if booking.status == CONFIRMED:
        fields["refunded_amount"] = _refund(booking, now, refund_amount)
    change_status([booking], to_status=ENDS[booking.status], actor=actor, now=now, **fields)
    return booking


def _refund(booking: Booking, now: datetime, given: Decimal | None) -> Decimal:
    quote = cancellation_quote(booking, now)  # closed once the first service started
    if given is None:
        return quote.refund_amount
    if given > booking.total_price:
        raise RefundAboveTotal(booking.total_price)
    return given


def cancellation_quote(booking: Booking, now: datetime | None = None) -> CancellationQuote:
    """What cancelling the confirmed booking now would refund, by the policy's
    first tier whose hours before the first service start have not passed."""
    if booking.status != CONFIRMED:
        raise InvalidState(booking.effective_status, "refunded")
    now = now or timezone.now()
    start = first_service_start(booking)
    if now >= start:
        raise CancellationClosed()
    tiers = refund_tiers()
    for index, (hours, percent) in enumerate(tiers):
        if start - now >= timedelta(hours=hours):
            last = index == len(tiers) - 1
            return CancellationQuote(
                refund_amount=(booking.total_price * percent / 100).quantize(CENT, ROUND_DOWN),
                currency=booking.currency,
                refund_percent=percent,
                deadline=None if last else start - timedelta(hours=hours),
            )
    return CancellationQuote(Decimal("0.00"), booking.currency, 0, None)


def first_service_start(booking: Booking) -> datetime:
    """The earliest flight's departure or hotel check-in (00:00 UTC)."""
    departure = FlightItem.objects.filter(booking=booking).aggregate(
        at=Min("inventory__flight__departure_at")
    )["at"]
    check_in = HotelItem.objects.filter(booking=booking).aggregate(day=Min("check_in"))["day"]
    starts = [departure] if departure else []
    if check_in:
        starts.append(datetime.combine(check_in, time(0), tzinfo=UTC))
    return min(starts)


def refund_tiers() -> list[tuple[int, int]]:
    """REFUND_POLICY (`168:100,24:50,0:0`) as (hours, percent), most hours first."""
    tiers = []
    for tier in settings.REFUND_POLICY.split(","):
        hours, percent = tier.split(":")
        tiers.append((int(hours), int(percent)))
    return sorted(tiers, reverse=True)
