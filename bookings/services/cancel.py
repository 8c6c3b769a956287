"""Cancel: held → released, confirmed → cancelled; the units go back on sale.
A confirmed booking is refunded by REFUND_POLICY (or staff's amount): the
cancel records the amount and its event carries it; `payments` pays it back."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from bookings.exceptions import CancellationClosed, InvalidState, RefundAboveTotal
from bookings.models import Booking, BookingStatus, FlightItem, HotelItem
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import change_status, lock_booking

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
        booking = lock_booking(booking)
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
