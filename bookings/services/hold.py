"""Hold: take every item out of sale until `expires_at`, all or nothing, at
most once per Idempotency-Key.

One customer's requests are serialized (a Redis lock in front, the
customer's row lock as the last word); the inventory rows are locked in
primary-key order and the hold is decided on their figures as locked, then
the units move. A hold refused for want of units has the overdue holds on
those rows released, and is decided once more on the rows as locked then, so
units given back meanwhile (by that release or by anyone else's) are not
missed."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bookings.exceptions import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientInventory,
    SeatUnavailable,
    TooManyActiveHolds,
)
from bookings.models import Actor, Booking, BookingStatus, BookingStatusChange, new_reference
from bookings.services import availability, inventory, pricing, seats, statements
from bookings.services.expire import release_overdue_holds_on
from bookings.services.requests import FlightRequest, HotelRequest, ItemRequest
from bookings.services.transition import booking_event
from config import search_cache  # cached searches go stale when a hold commits
from config.exceptions import ValidationFailed
from events.services import relay_after_commit
from flights.models import Flight
from hotels.models import RoomType
from locking import locks

HELD = BookingStatus.HELD
REFERENCE_DRAWS = 5


@dataclass(frozen=True)
class HoldResult:
    booking: Booking
    replayed: bool  # an earlier request with the same Idempotency-Key made it
    # The booking's items in request order, as written (empty for a replay).
    items: list = field(default_factory=list)


@dataclass(frozen=True)
class Attempt:
    """One try at a hold: its result, or the items it could not have."""

    result: HoldResult | None = None
    unavailable: list[dict] = field(default_factory=list)
    unavailable_seats: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.unavailable or self.unavailable_seats)


def hold_booking(
    *,
    customer,
    items: Sequence[ItemRequest],
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> HoldResult:
    """Hold the items for `customer`. A repeated `idempotency_key` answers
    with the booking it made (IdempotencyKeyReused for another request)."""
    earlier = _booking_for_key(customer, idempotency_key)
    if earlier is not None:
        return _replay(earlier, fingerprint)
    try:
        with locks.acquire(*_lock_keys(customer, items)):
            attempt = _try_hold(customer, items, idempotency_key, fingerprint)
            if attempt.refused:
                release_overdue_holds_on(items)
                attempt = _try_hold(customer, items, idempotency_key, fingerprint)
    except locks.LockTimeout:
        if idempotency_key:
            raise IdempotencyKeyInUse() from None
        raise
    if attempt.unavailable:
        raise InsufficientInventory(attempt.unavailable)
    if attempt.unavailable_seats:
        raise SeatUnavailable(attempt.unavailable_seats)
    return attempt.result


def _lock_keys(customer, items: Sequence[ItemRequest]) -> list[str]:
    keys = [locks.customer_key(customer.pk)]
    if settings.INVENTORY_REDIS_LOCKS:
        for item in items:
            if isinstance(item, FlightRequest):
                keys.append(locks.cabin_key(item.flight_id, item.cabin_class))
            else:
                keys.append(locks.room_type_key(item.room_type_id))
    return keys


def _try_hold(customer, items, idempotency_key, fingerprint) -> Attempt:
    with transaction.atomic():
        now = timezone.now()
        earlier = _lock_customer(customer, idempotency_key, now)
        if earlier is not None:
            return Attempt(result=_replay(earlier, fingerprint))
        flights = [item for item in items if isinstance(item, FlightRequest)]
        stays = [item for item in items if isinstance(item, HotelRequest)]
        cabins = inventory.lock_cabins((item.flight_id, item.cabin_class) for item in flights)
        nights = inventory.lock_nights(stays)
        _check_items_exist(items, cabins, nights, now)
        unavailable = availability.shortages(items, cabins, nights)
        if unavailable:
            return Attempt(unavailable=unavailable)
        choice = seats.choose(items, cabins)
        if choice.shortages or choice.unavailable_seats:
            return Attempt(unavailable=choice.shortages, unavailable_seats=choice.unavailable_seats)
        booking, lines = _write_booking(
            customer, items, cabins, nights, now, idempotency_key, fingerprint, choice
        )
        return Attempt(result=HoldResult(booking=booking, replayed=False, items=lines))


def _lock_customer(customer, idempotency_key: str | None, now: datetime) -> Booking | None:
    """Lock the customer's row, so their active holds and keys are counted
    exactly even when Redis is down and two of their requests race; returns
    the booking the key already made, if any. NO KEY UPDATE: it does not block
    inserting rows that refer to the customer."""
    get_user_model().objects.select_for_update(no_key=True).filter(pk=customer.pk).exists()
    wanted = Q(status=HELD, expires_at__gt=now)
    if idempotency_key:
        wanted |= Q(idempotency_key=idempotency_key)
    found = Booking.objects.filter(wanted, customer=customer).values_list("pk", "idempotency_key")
    for pk, key in found:
        if idempotency_key and key == idempotency_key:
            return Booking.objects.get(pk=pk)
    limit = settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER
    if len(found) >= limit:
        raise TooManyActiveHolds(limit)
    return None


def _write_booking(customer, items, cabins, nights, now, idempotency_key, fingerprint, choice):
    """The booking, its priced items, its history, its `booking.held` event,
    its seats and the units it takes off sale, in one statement (a fresh
    reference if the drawn one is taken)."""
    lines = pricing.priced_items(items, cabins, nights)
    seats.label(lines, choice)
    seat_assignments = seats.assignments(choice, lines)
    booking = Booking(
        customer=customer,
        status=HELD,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.HOLD_TTL_SECONDS),
        currency=pricing.one_currency(cabins, nights),
        total_price=pricing.total_price(lines),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key else "",
    )
    history = BookingStatusChange(
        from_status="", to_status=HELD, actor_kind=Actor.CUSTOMER, actor=customer, at=now
    )
    for _ in range(REFERENCE_DRAWS):
        event = booking_event(booking, now, items=lines)
        if idempotency_key:
            booking.idempotent_response = event.data["booking"]
        written = statements.insert_held_booking(
            booking,
            lines,
            history,
            event,
            seats=availability.seats_by_cabin(items, cabins),
            rooms=availability.rooms_by_night(items, nights),
            seat_assignments=seat_assignments,
        )
        if written:
            search_cache.rows_changed(cabins.values(), [night.pk for night in nights.values()])
            relay_after_commit()
            return booking, lines
        booking.reference = new_reference()
    raise RuntimeError(f"{REFERENCE_DRAWS} booking references drawn, every one taken")


def _check_items_exist(items, cabins, nights, now: datetime) -> None:
    """Unknown or departed flights, unknown cabins and room types are the
    request's fault: a 400 naming the item's field."""
    errors = []
    for i, item in enumerate(items):
        error = _item_error(item, cabins, nights, now)
        if error:
            errors.append({"field": f"items.{i}.{error[0]}", "code": error[1], "detail": error[2]})
    if errors:
        raise ValidationFailed(errors)


def _item_error(item, cabins, nights, now) -> tuple[str, str, str] | None:
    if isinstance(item, HotelRequest):
        if all((item.room_type_id, night) in nights for night in item.nights()):
            return None
        if RoomType.objects.filter(pk=item.room_type_id).exists():
            return None  # nights not on sale: a shortage, not a bad request
        return ("room_type_id", "does_not_exist", "No room type has this id.")
    cabin = cabins.get((item.flight_id, item.cabin_class))
    if cabin is not None:
        if cabin.flight.departure_at <= now:
            return ("flight_id", "departed", "This flight has already departed.")
        return None
    if Flight.objects.filter(pk=item.flight_id).exists():
        return ("cabin_class", "does_not_exist", "This flight has no such cabin.")
    return ("flight_id", "does_not_exist", "No flight has this id.")


def _booking_for_key(customer, key: str | None) -> Booking | None:
    if not key:
        return None
    return Booking.objects.filter(customer=customer, idempotency_key=key).first()


def _replay(earlier: Booking, fingerprint: str) -> HoldResult:
    if earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return HoldResult(booking=earlier, replayed=True)
