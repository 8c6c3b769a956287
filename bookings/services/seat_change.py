"""Seat change: a held or confirmed booking's flight item moves to other seats
of its cabin, all at once or not at all. The counters do not move (as many
seats are held or booked as before); the old assignments end and the new ones
start in one transaction, under the booking's lock, then the cabin's, then the
seats' (the global order of bookings.services.inventory)."""

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.exceptions import HoldExpired, InvalidState, SeatUnavailable
from bookings.models import Booking, BookingStatus, FlightItem, SeatAssignment
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import lock_booking
from config.exceptions import ValidationFailed
from flights.models import FlightInventory, Seat

CHANGEABLE = (BookingStatus.HELD, BookingStatus.CONFIRMED)


def change_seats(*, booking: Booking, position: int, seat_numbers: Sequence[str]) -> FlightItem:
    """Give the booking's item at `position` these seats. A hold found overdue
    is expired (that commits) and the answer is HoldExpired."""
    with transaction.atomic():
        booking = lock_booking(booking)
        now = timezone.now()
        if not expire_if_overdue(booking, now):
            if booking.status not in CHANGEABLE:
                raise InvalidState(booking.status, "given other seats")
            return _move(booking, position, list(seat_numbers), now)
    raise HoldExpired()


def _move(booking: Booking, position: int, numbers: list[str], now) -> FlightItem:
    item = _seat_mapped_item(booking, position, len(numbers))
    cabin = FlightInventory.objects.select_for_update(no_key=True).get(pk=item.inventory_id)
    if cabin.flight.departure_at <= now:
        raise InvalidState("departed", "given other seats")
    others = SeatAssignment.objects.filter(seat=OuterRef("pk"), active=True).exclude(
        booking=booking
    )
    seats = list(
        Seat.objects.select_for_update(no_key=True, of=("self",))
        .filter(inventory=cabin, number__in=numbers)
        .annotate(taken=Exists(others))
        .order_by("pk")
    )
    unknown = sorted(set(numbers) - {seat.number for seat in seats})
    if unknown:
        raise ValidationFailed([_error("does_not_exist", f"No seat {', '.join(unknown)}.")])
    unavailable = [seat.number for seat in seats if seat.blocked or seat.taken]
    if unavailable:
        raise SeatUnavailable(unavailable)
    SeatAssignment.objects.filter(booking=booking, item_position=position, active=True).update(
        active=False
    )
    SeatAssignment.objects.bulk_create(
        SeatAssignment(booking=booking, item_position=position, seat=seat) for seat in seats
    )
    item.seat_numbers = [seat.number for seat in sorted(seats, key=lambda s: (s.row, s.column))]
    return item


def _seat_mapped_item(booking: Booking, position: int, count: int) -> FlightItem:
    item = next((i for i in booking.flight_items.all() if i.position == position), None)
    if item is None or not item.inventory.has_seat_map:
        raise ValidationFailed(
            [_error("no_seat_map", "This item is not a flight on a cabin with a seat map.")]
        )
    if count != item.seats:
        detail = f"Give exactly {item.seats} seat number(s), one per seat."
        raise ValidationFailed([_error("count_mismatch", detail)])
    return item


def _error(code: str, detail: str) -> dict:
    return {"field": "seat_numbers", "code": code, "detail": detail}
