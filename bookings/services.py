"""Every write to bookings: hold, confirm, cancel, extend and expire.

Each transition and its counter moves commit together or not at all. Rows are
locked in one global order, the same in every function here, so no two
transactions wait on each other crosswise:

    customer (auth_user) → bookings → FlightInventory → RoomNight (each by pk)

A hold locks its customer, then the inventory rows it needs; confirm, cancel,
extend and expire lock the booking, then its inventory rows; the sweep locks
a batch of bookings with SKIP LOCKED, then their inventory rows.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from bookings import metrics
from bookings.exceptions import (
    ExtensionLimit,
    HoldExpired,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientInventory,
    InvalidState,
    PaymentReferenceMismatch,
    TooManyActiveHolds,
)
from bookings.models import (
    Actor,
    Booking,
    BookingStatus,
    BookingStatusChange,
    FlightItem,
    HotelItem,
    RunOutcome,
    SweepRun,
)
from config import sql
from config.exceptions import ValidationFailed
from flights import selectors as flight_selectors
from flights import services as seats
from flights.models import FlightInventory
from hotels import selectors as hotel_selectors
from hotels import services as rooms
from hotels.models import RoomNight, RoomType
from locking import locks

logger = logging.getLogger(__name__)

HELD, CONFIRMED, RELEASED = BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.RELEASED
EXPIRED, CANCELLED = BookingStatus.EXPIRED, BookingStatus.CANCELLED


@dataclass(frozen=True)
class FlightRequest:
    flight_id: int
    cabin_class: str
    seats: int


@dataclass(frozen=True)
class HotelRequest:
    room_type_id: int
    check_in: date
    check_out: date
    rooms: int

    def nights(self) -> list[date]:
        return [
            self.check_in + timedelta(days=i) for i in range((self.check_out - self.check_in).days)
        ]


ItemRequest = FlightRequest | HotelRequest


@dataclass(frozen=True)
class HoldResult:
    booking: Booking
    replayed: bool  # an earlier request with the same Idempotency-Key made it
    # The booking's items in request order, as written (none for a replay):
    # the answer is built from them without reading them back.
    items: list | None = None


# --- Hold ---------------------------------------------------------------------------


def hold_booking(
    *,
    customer,
    items: Sequence[ItemRequest],
    idempotency_key: str | None = None,
    fingerprint: str = "",
    answer: Callable[[Booking, list], dict] | None = None,
) -> HoldResult:
    """Take every item out of sale until `expires_at`, all or nothing.
    `answer(booking, items)` is what the caller will answer for a new booking:
    with an Idempotency-Key it is stored in the booking's own row, written in
    the same statement, so a replay answers word for word from the start."""
    if idempotency_key:
        earlier = _booking_for_key(customer, idempotency_key)
        if earlier is not None:
            return _replay(earlier, fingerprint)
    try:
        with locks.acquire(*_lock_keys(customer, items)):
            return _hold_with_retries(customer, items, idempotency_key, fingerprint, answer)
    except locks.LockTimeout:
        if idempotency_key:
            raise IdempotencyKeyInUse() from None
        raise


def _lock_keys(customer, items: Sequence[ItemRequest]) -> list[str]:
    keys = [locks.customer_key(customer.pk)]
    if settings.INVENTORY_REDIS_LOCKS:
        for item in items:
            if isinstance(item, FlightRequest):
                keys.append(locks.cabin_key(item.flight_id, item.cabin_class))
            else:
                keys.append(locks.room_type_key(item.room_type_id))
    return keys


class _StaleHoldsInTheWay(Exception):
    def __init__(self, booking_ids: list[int]):
        self.booking_ids = booking_ids


class _SoldMeanwhile(Exception):
    """A row had fewer units left when the hold came to move them than when it
    read them: another hold took them in between."""


def _hold_with_retries(customer, items, idempotency_key, fingerprint, answer) -> HoldResult:
    release_stale = True
    lock_first = False
    for _ in range(5):
        try:
            with transaction.atomic():
                return _hold(
                    customer, items, idempotency_key, fingerprint, answer, release_stale, lock_first
                )
        except _SoldMeanwhile:
            # Rolled back. Once more, deciding on the rows as locked this time:
            # exact, so the answer (held or refused) comes from that try.
            lock_first = True
        except _StaleHoldsInTheWay as stale:
            # Overdue holds sit on rows this hold needs: release them (in their
            # own transaction, in the global lock order), then try once more.
            # Wait for any of them another transaction has locked (another
            # hold or the sweep releasing it, its owner confirming it): once
            # that ends, the booking is either no longer in the way or ours to
            # release. Skipping it would answer "sold out" while its units
            # are on their way back on sale.
            expire_bookings(
                booking_ids=stale.booking_ids, note="released for a new hold", wait=True
            )
            release_stale = False
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "")
            if constraint == "idempotency_key_unique_per_customer":
                return _replay(_booking_for_key(customer, idempotency_key), fingerprint)
            if "reference" not in (constraint or ""):
                raise
            # Two bookings drew the same reference: draw again.
    raise RuntimeError("could not draw a unique booking reference")


def _hold(
    customer, items, idempotency_key, fingerprint, answer, release_stale: bool, lock_first: bool
) -> HoldResult:
    """One try. The inventory rows, which every hold of a rush contends for,
    are touched last: everything else (checks, prices, the booking, its items
    and history) is done first against the rows as committed, then one
    statement locks the rows and moves the units if they are still there, and
    the transaction commits. The rows stay locked for two round trips. If a
    row was sold meanwhile, the try is rolled back (`_SoldMeanwhile`) and the
    next one (`lock_first`) locks the rows and decides on what they hold."""
    now = timezone.now()
    active, earlier = _lock_customer_and_read_holds(customer, idempotency_key, now)
    if earlier is not None:
        return _replay(earlier, fingerprint)
    limit = settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER
    if active >= limit:
        raise TooManyActiveHolds(limit)

    flights = [(i, item) for i, item in enumerate(items) if isinstance(item, FlightRequest)]
    stays = [(i, item) for i, item in enumerate(items) if isinstance(item, HotelRequest)]
    cabins = flight_selectors.cabins_by_class(
        (item.flight_id, item.cabin_class) for _, item in flights
    )
    nights = {
        (night.room_type_id, night.date): night
        for night in hotel_selectors.nights_of_stays(
            (item.room_type_id, item.check_in, item.check_out) for _, item in stays
        )
    }
    _check_items_exist(flights, cabins, stays, nights)

    seat_demand: Counter[int] = Counter()
    for _, item in flights:
        seat_demand[cabins[(item.flight_id, item.cabin_class)].pk] += item.seats
    room_demand: Counter[int] = Counter()
    for _, item in stays:
        for night in item.nights():
            if (item.room_type_id, night) in nights:
                room_demand[nights[(item.room_type_id, night)].pk] += item.rooms

    currencies = {row.currency for row in cabins.values()}
    currencies |= {row.currency for row in nights.values()}
    if len(currencies) > 1:
        raise ValidationFailed(
            [
                {
                    "field": "items",
                    "code": "mixed_currencies",
                    "detail": "All items of a booking must be in one currency.",
                }
            ]
        )

    # Refused on the committed figures: nothing is locked for a request that
    # cannot be served (a sold-out rush is mostly these).
    _refuse_if_short(flights, cabins, stays, nights, seat_demand, now, release_stale)

    booking = Booking(
        customer=customer,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.HOLD_TTL_SECONDS),
        currency=currencies.pop(),
        total_price=Decimal("0.00"),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key else "",
    )
    flight_items = [
        FlightItem(
            position=i,
            inventory=cabins[(item.flight_id, item.cabin_class)],
            seats=item.seats,
            unit_price=cabins[(item.flight_id, item.cabin_class)].price,
        )
        for i, item in flights
    ]
    hotel_items = [
        HotelItem(
            position=i,
            room_type_id=item.room_type_id,
            check_in=item.check_in,
            check_out=item.check_out,
            rooms=item.rooms,
            unit_price=sum(nights[(item.room_type_id, n)].price for n in item.nights()),
        )
        for i, item in stays
    ]
    for line in flight_items:
        line.line_total = line.unit_price * line.seats
    for line in hotel_items:
        line.line_total = line.unit_price * line.rooms
    booking.total_price = sum(
        (line.line_total for line in [*flight_items, *hotel_items]), Decimal("0.00")
    )
    lines = sorted([*flight_items, *hotel_items], key=lambda line: line.position)
    if idempotency_key and answer is not None:
        booking.idempotent_response = answer(booking, lines)
    _insert_held_booking(booking, flight_items, hotel_items)

    # Last, the contended rows.
    if lock_first:
        seats_left = seats.lock_cabins_by_id(seat_demand)
        rooms_left = rooms.lock_nights_by_id(room_demand)
        for row in cabins.values():
            row.available_seats = seats_left.get(row.pk, 0)
        for row in nights.values():
            row.available_rooms = rooms_left.get(row.pk, 0)
        _refuse_if_short(flights, cabins, stays, nights, seat_demand, now, release_stale)
    moved = seats.move_seats(seat_demand, source="available", target="held", only_if_available=True)
    if len(moved) < len(seat_demand):
        raise _SoldMeanwhile()
    moved = rooms.move_rooms(room_demand, source="available", target="held", only_if_available=True)
    if len(moved) < len(room_demand):
        raise _SoldMeanwhile()
    return HoldResult(booking=booking, replayed=False, items=lines)


def _lock_customer_and_read_holds(
    customer, idempotency_key: str | None, now: datetime
) -> tuple[int, Booking | None]:
    """Lock the customer's row, then count their active holds and find the
    booking an Idempotency-Key already made, if any. The row lock makes both
    exact even when Redis is down and two requests of theirs race. NO KEY
    UPDATE: it does not block the key-share locks that inserting rows which
    reference the customer (their other bookings) take. Two statements: the
    second reads what committed while the first waited."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {get_user_model()._meta.db_table} WHERE id = %s FOR NO KEY UPDATE",
            [customer.pk],
        )
        # The status is written into the statement and the key's OR is there
        # only when there is a key: then PostgreSQL plans the prepared
        # statement once instead of at every call.
        wanted = f"status = '{HELD}' AND expires_at > %(now)s"
        if idempotency_key:
            wanted = f"(({wanted}) OR idempotency_key = %(key)s)"
        cursor.execute(
            "SELECT id, idempotency_key FROM bookings_booking"
            f" WHERE customer_id = %(customer)s AND {wanted}",
            {"customer": customer.pk, "now": now, "key": idempotency_key},
        )
        found = cursor.fetchall()
    if idempotency_key and any(key == idempotency_key for _, key in found):
        return 0, _booking_for_key(customer, idempotency_key)
    return len(found), None


_INSERT_HELD_BOOKING_SQL = """
WITH booking AS (
    INSERT INTO bookings_booking (
        reference, customer_id, status, created_at, expires_at, total_price, currency,
        extension_count, idempotency_key, request_fingerprint, idempotent_response
    )
    VALUES (
        %(reference)s, %(customer)s, %(held)s, %(now)s, %(expires_at)s, %(total_price)s,
        %(currency)s, 0, %(idempotency_key)s, %(fingerprint)s, %(answer)s
    )
    RETURNING id
), flight_items AS (
    INSERT INTO bookings_flightitem
        (booking_id, position, inventory_id, seats, unit_price, line_total)
    SELECT booking.id, item.* FROM booking, unnest(
        %(f_position)s::smallint[], %(f_inventory_id)s::bigint[], %(f_seats)s::smallint[],
        %(f_unit_price)s::numeric[], %(f_line_total)s::numeric[]
    ) AS item
), hotel_items AS (
    INSERT INTO bookings_hotelitem
        (booking_id, position, room_type_id, check_in, check_out, rooms, unit_price, line_total)
    SELECT booking.id, item.* FROM booking, unnest(
        %(h_position)s::smallint[], %(h_room_type_id)s::bigint[], %(h_check_in)s::date[],
        %(h_check_out)s::date[], %(h_rooms)s::smallint[], %(h_unit_price)s::numeric[],
        %(h_line_total)s::numeric[]
    ) AS item
), history AS (
    INSERT INTO bookings_bookingstatuschange
        (booking_id, from_status, to_status, actor_kind, actor_id, at, note)
    SELECT id, '', %(held)s, %(customer_kind)s, %(customer)s, %(now)s, '' FROM booking
)
SELECT id FROM booking
"""


_FLIGHT_ITEM_COLUMNS = ("position", "inventory_id", "seats", "unit_price", "line_total")
_HOTEL_ITEM_COLUMNS = (
    "position",
    "room_type_id",
    "check_in",
    "check_out",
    "rooms",
    "unit_price",
    "line_total",
)


def _columns(prefix: str, lines, names) -> dict[str, list]:
    """The items' values as one array per column, `<prefix>_<name>`, for unnest()."""
    return {f"{prefix}_{name}": [getattr(line, name) for line in lines] for name in names}


def _insert_held_booking(booking: Booking, flight_items, hotel_items) -> None:
    """Write a new held booking, its items and the first line of its history
    in one statement (one round trip, no ORM query building: every hold runs
    it). Sets the primary keys of `booking` and the booking of each item."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_HELD_BOOKING_SQL,
            {
                "reference": booking.reference,
                "customer": booking.customer_id,
                "held": HELD,
                "now": booking.created_at,
                "expires_at": booking.expires_at,
                "total_price": booking.total_price,
                "currency": booking.currency,
                "idempotency_key": booking.idempotency_key,
                "fingerprint": booking.request_fingerprint,
                "answer": (
                    Jsonb(booking.idempotent_response)
                    if booking.idempotent_response is not None
                    else None
                ),
                "customer_kind": Actor.CUSTOMER,
                **_columns("f", flight_items, _FLIGHT_ITEM_COLUMNS),
                **_columns("h", hotel_items, _HOTEL_ITEM_COLUMNS),
            },
        )
        (booking.pk,) = cursor.fetchone()
    booking._state.adding = False
    for line in [*flight_items, *hotel_items]:
        line.booking = booking


def _refuse_if_short(flights, cabins, stays, nights, seat_demand, now, release_stale) -> None:
    """Raise InsufficientInventory (or, first, have overdue holds on these
    rows released) if some item cannot be had with the figures in `cabins`
    and `nights`."""
    unavailable = _shortages(flights, cabins, stays, nights)
    if not unavailable:
        return
    if release_stale:
        stale = _overdue_holds_on(seat_demand, stays, now)
        if stale:
            raise _StaleHoldsInTheWay(stale)
        # None in the way now, but another hold may have released one after
        # the figures were read: read them again before saying "sold out".
        _read_figures_again(cabins, nights)
        unavailable = _shortages(flights, cabins, stays, nights)
        if not unavailable:
            return
    raise InsufficientInventory(unavailable)


def _read_figures_again(cabins, nights) -> None:
    seats_now = dict(
        FlightInventory.objects.filter(pk__in=[row.pk for row in cabins.values()]).values_list(
            "pk", "available_seats"
        )
    )
    rooms_now = dict(
        RoomNight.objects.filter(pk__in=[row.pk for row in nights.values()]).values_list(
            "pk", "available_rooms"
        )
    )
    for row in cabins.values():
        row.available_seats = seats_now.get(row.pk, 0)
    for row in nights.values():
        row.available_rooms = rooms_now.get(row.pk, 0)


def _check_items_exist(flights, cabins, stays, nights) -> None:
    """Unknown flights, cabins and room types are the request's fault: a 400
    naming the item's field. Looked up only when something is missing (a
    room type with every night of the stay on sale exists)."""
    errors = []
    missing = [(i, item) for i, item in flights if (item.flight_id, item.cabin_class) not in cabins]
    if missing:
        from flights.models import Flight

        known = set(
            Flight.objects.filter(pk__in={item.flight_id for _, item in missing}).values_list(
                "pk", flat=True
            )
        )
        for i, item in missing:
            if item.flight_id in known:
                errors.append(
                    {
                        "field": f"items.{i}.cabin_class",
                        "code": "does_not_exist",
                        "detail": "This flight has no such cabin.",
                    }
                )
            else:
                errors.append(
                    {
                        "field": f"items.{i}.flight_id",
                        "code": "does_not_exist",
                        "detail": "No flight has this id.",
                    }
                )
    incomplete = [
        (i, item)
        for i, item in stays
        if any((item.room_type_id, night) not in nights for night in item.nights())
    ]
    if incomplete:
        wanted = {item.room_type_id for _, item in incomplete}
        known = set(RoomType.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        errors.extend(
            {
                "field": f"items.{i}.room_type_id",
                "code": "does_not_exist",
                "detail": "No room type has this id.",
            }
            for i, item in incomplete
            if item.room_type_id not in known
        )
    if errors:
        raise ValidationFailed(errors)


def _shortages(flights, cabins, stays, nights) -> list[dict]:
    """The items that cannot be had, each with what is left for it once the
    earlier items of the same request have taken theirs (two items may share a
    row): an item is never refused while the answer says enough is available."""
    taken: Counter[tuple] = Counter()
    unavailable = []
    for i, item in sorted(flights + stays, key=lambda pair: pair[0]):
        if isinstance(item, FlightRequest):
            row = cabins[(item.flight_id, item.cabin_class)]
            needs = {("seat", row.pk): row.available_seats}
            units = item.seats
        else:
            needs = {
                ("night", item.room_type_id, night): _rooms_free(nights, item.room_type_id, night)
                for night in item.nights()
            }
            units = item.rooms
        left = min(available - taken[key] for key, available in needs.items())
        if units > left:
            unavailable.append({"item": i, "requested": units, "available": max(left, 0)})
        else:
            taken.update(dict.fromkeys(needs, units))
    return unavailable


def _rooms_free(nights, room_type_id: int, night: date) -> int:
    """A night never put on sale has no row: 0 rooms."""
    row = nights.get((room_type_id, night))
    return row.available_rooms if row else 0


def _overdue_holds_on(seat_demand, stays, now: datetime) -> list[int]:
    """Held bookings past `expires_at` on the rows a hold needs."""
    touching = Q(flight_items__inventory_id__in=list(seat_demand))
    for _, item in stays:
        touching |= Q(
            hotel_items__room_type_id=item.room_type_id,
            hotel_items__check_in__lt=item.check_out,
            hotel_items__check_out__gt=item.check_in,
        )
    return list(
        Booking.objects.filter(touching, status=HELD, expires_at__lte=now)
        .values_list("pk", flat=True)
        .distinct()
    )


def _booking_for_key(customer, key: str) -> Booking | None:
    found = sql.load(
        Booking,
        "FROM bookings_booking AS booking WHERE customer_id = %s AND idempotency_key = %s",
        [customer.pk, key],
        alias="booking",
    )
    return found[0] if found else None


def _replay(earlier: Booking, fingerprint: str) -> HoldResult:
    if earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return HoldResult(booking=earlier, replayed=True)


# --- Confirm, cancel, extend -------------------------------------------------------


def confirm_booking(*, booking: Booking, payment_reference: str, actor) -> Booking:
    """Held → confirmed: the held units become booked. Repeating it with the
    same payment reference changes nothing."""
    with transaction.atomic():
        booking = _lock(booking)
        now = _now_once_locked()
        if booking.status == CONFIRMED:
            if booking.payment_reference != payment_reference:
                raise PaymentReferenceMismatch()
            return booking
        expired = _expire_if_overdue(booking, now)
        if not expired:
            if booking.status == EXPIRED:
                raise HoldExpired()
            if booking.status != HELD:
                raise InvalidState(booking.status, "confirmed")
            _transition(
                booking,
                to_status=CONFIRMED,
                source="held",
                target="booked",
                actor=actor,
                now=now,
                confirmed_at=now,
                payment_reference=payment_reference,
            )
    if expired:
        raise HoldExpired()
    return booking


def cancel_booking(*, booking: Booking, actor) -> Booking:
    """Held → released, confirmed → cancelled; the units go back on sale.
    Cancelling an ended booking changes nothing."""
    with transaction.atomic():
        booking = _lock(booking)
        now = _now_once_locked()
        if _expire_if_overdue(booking, now):
            return booking
        if booking.status == HELD:
            _transition(
                booking,
                to_status=RELEASED,
                source="held",
                target="available",
                actor=actor,
                now=now,
                cancelled_at=now,
            )
        elif booking.status == CONFIRMED:
            _transition(
                booking,
                to_status=CANCELLED,
                source="booked",
                target="available",
                actor=actor,
                now=now,
                cancelled_at=now,
            )
    return booking


def extend_booking(*, booking: Booking, actor) -> Booking:
    """Move `expires_at` to now plus the hold time, a limited number of times."""
    with transaction.atomic():
        booking = _lock(booking)
        now = _now_once_locked()
        expired = _expire_if_overdue(booking, now)
        if not expired:
            if booking.status == EXPIRED:
                raise HoldExpired()
            if booking.status != HELD:
                raise InvalidState(booking.status, "extended")
            limit = settings.HOLD_MAX_EXTENSIONS
            if booking.extension_count >= limit:
                raise ExtensionLimit(limit)
            booking.expires_at = now + timedelta(seconds=settings.HOLD_TTL_SECONDS)
            booking.extension_count = F("extension_count") + 1
            booking.save(update_fields=["expires_at", "extension_count"])
            booking.refresh_from_db(fields=["extension_count"])
            metrics.count_extension()
            BookingStatusChange.objects.create(
                booking=booking,
                from_status=HELD,
                to_status=HELD,
                actor=actor,
                actor_kind=_actor_kind(actor, booking),
                at=now,
                note=f"extended until {booking.expires_at.isoformat()}",
            )
    if expired:
        raise HoldExpired()
    return booking


# --- Expire ----------------------------------------------------------------------------
#
# The sweep's batches are a few set-based statements, whatever their size:
#
#   1. one UPDATE … RETURNING picks the next overdue held bookings with
#      FOR UPDATE SKIP LOCKED (a confirm, a cancel or another sweep that has one
#      locked is changing it: leave it to them), marks them expired and writes
#      their history rows (a data-modifying CTE). The pick is a MATERIALIZED
#      CTE: as a subquery the planner may rescan it per row, and each rescan
#      skips the rows this statement has just updated and takes more than the
#      LIMIT;
#   2. one query adds up their units per inventory row, and one statement per
#      inventory table locks those rows in primary-key order (the global order,
#      so no deadlock with holds) and moves the units from held to available
#      (`_move_units_of`, as every transition does).
#
# The bookings are written first and the inventory last, so the rows every
# hold contends for stay locked only for the end of a short transaction.

_EXPIRE_BOOKINGS_SQL = """
WITH picked AS MATERIALIZED (
    SELECT id FROM bookings_booking
    WHERE status = %(held)s AND expires_at <= %(now)s {only_ids} {after}
    ORDER BY expires_at, id
    {limit}
    FOR UPDATE {skip_locked}
), expired AS (
    UPDATE bookings_booking AS b
    SET status = %(expired)s, expired_at = %(now)s
    FROM picked
    WHERE b.id = picked.id AND b.status = %(held)s
    RETURNING b.id, b.expires_at
), history AS (
    INSERT INTO bookings_bookingstatuschange
        (booking_id, from_status, to_status, actor_kind, actor_id, at, note)
    SELECT id, %(held)s, %(expired)s, %(system)s, NULL, %(now)s, %(note)s FROM expired
)
SELECT id, expires_at FROM expired ORDER BY expires_at, id
"""


def _expire_batch(
    *,
    now: datetime,
    note: str,
    limit: int | None = None,
    ids: list[int] | None = None,
    after: tuple[datetime, int] | None = None,
    wait: bool = False,
) -> list[tuple[int, datetime]]:
    """Expire up to `limit` overdue held bookings (or those of `ids` that are,
    or those after the `(expires_at, id)` key `after`), skipping locked ones
    unless `wait`, and give their units back. Returns `(id, expires_at)` of those it expired,
    in key order. The caller runs it inside transaction.atomic(): the bookings
    and their counters commit together."""
    sql = _EXPIRE_BOOKINGS_SQL.format(
        only_ids="AND id = ANY(%(ids)s)" if ids is not None else "",
        after="AND (expires_at, id) > (%(after_at)s, %(after_id)s)" if after else "",
        limit="LIMIT %(limit)s" if limit is not None else "",
        skip_locked="" if wait else "SKIP LOCKED",
    )
    params = {
        "held": HELD,
        "expired": EXPIRED,
        "system": Actor.SYSTEM,
        "now": now,
        "note": note,
        "ids": ids,
        "limit": limit,
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        expired = cursor.fetchall()
    if expired:
        _move_units_of([pk for pk, _ in expired], source="held", target="available")
    metrics.count_transition(EXPIRED, len(expired))
    return expired


def expire_bookings(
    *, booking_ids: Iterable[int], note: str = "", now=None, wait: bool = False
) -> int:
    """Expire the given bookings that are still held and overdue, in one
    transaction; those another transaction has locked are skipped (it is
    changing them), unless `wait`: then they are expired once that
    transaction ends if they are still held and overdue. Returns how many it
    expired."""
    ids = list(booking_ids)
    if not ids:
        return 0
    with transaction.atomic():
        expired = _expire_batch(now=now or timezone.now(), note=note, ids=ids, wait=wait)
    return len(expired)


def expire_overdue_holds(*, batch_size: int | None = None, now=None) -> int:
    """The sweep: expire every held booking whose `expires_at` has passed, in
    batches of short transactions, skipping rows other transactions hold.
    Single-flight: while one sweep runs, another returns 0 at once (without
    Redis both run, and SKIP LOCKED keeps them apart). Each run is recorded as
    a `SweepRun`. Returns how many it expired."""
    batch_size = batch_size or settings.EXPIRY_BATCH_SIZE
    now = now or timezone.now()
    with metrics.sweep_run() as observed:
        try:
            with locks.acquire(
                locks.singleton_key("expiry-sweep"),
                wait=0,
                timeout=settings.EXPIRY_SWEEP_LOCK_SECONDS,
            ) as sweep_lock:
                return _sweep(sweep_lock, batch_size=batch_size, now=now)
        except locks.LockTimeout:
            observed.skip()
            logger.info("expiry sweep skipped: another sweep is running")
            return 0


def _sweep(sweep_lock: locks.Locks, *, batch_size: int, now: datetime) -> int:
    started = time.monotonic()
    run = SweepRun.objects.create(started_at=timezone.now(), batch_size=batch_size)
    # Each batch starts after the last key of the one before, so no scan walks
    # again over the index entries of the bookings it has just expired. A booking
    # skipped because another transaction had it locked is being changed by
    # that transaction; if it rolls back, the next sweep expires it.
    after = None
    try:
        while True:
            with transaction.atomic():
                _commit_without_waiting_for_the_disk()
                expired = _expire_batch(
                    now=now, note="expired by the sweep", limit=batch_size, after=after
                )
            if expired:
                run.batches += 1
                run.expired += len(expired)
                after = (expired[-1][1], expired[-1][0])
            sweep_lock.refresh()
            if len(expired) < batch_size:
                # None left, or the rest are locked by those changing them.
                break
    except BaseException as exc:
        _finish_run(run, RunOutcome.FAILED, error=repr(exc))
        logger.exception(
            "expiry sweep failed after expiring %d holds in %d batches", run.expired, run.batches
        )
        raise
    _finish_run(run, RunOutcome.FINISHED)
    logger.info(
        "expiry sweep: expired %d holds in %d batches in %.2f s",
        run.expired,
        run.batches,
        time.monotonic() - started,
    )
    return run.expired


def _commit_without_waiting_for_the_disk() -> None:
    """The batch's commit does not wait for its WAL flush, so the inventory rows
    it locks are free sooner. Safe: if PostgreSQL crashed before the flush, the
    whole batch is lost together (bookings held, counters held: consistent) and
    the next sweep redoes it; and any transaction that sells the freed units
    flushes the WAL up to its own commit, the batch's included, first."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _finish_run(run: SweepRun, outcome: str, error: str = "") -> None:
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "error", "finished_at", "expired", "batches"])
    cutoff = run.finished_at - timedelta(days=settings.SWEEP_RUN_RETENTION_DAYS)
    SweepRun.objects.filter(started_at__lt=cutoff).delete()


# --- Shared ----------------------------------------------------------------------------


def _lock(booking: Booking) -> Booking:
    """The booking as it is once its row lock is ours (a hand-written query,
    config/sql.py: every confirm and cancel runs it)."""
    found = sql.load(
        Booking,
        "FROM bookings_booking AS booking WHERE id = %s FOR UPDATE",
        [booking.pk],
        alias="booking",
    )
    if not found:
        raise Booking.DoesNotExist(f"No booking has the id {booking.pk}.")
    return found[0]


def _now_once_locked() -> datetime:
    """The time of a transition, read once the booking's lock is ours: a clock
    read before waiting for the lock could confirm a hold whose deadline passed
    during the wait, and would date a transition before the one it waited for."""
    return timezone.now()


def _expire_if_overdue(booking: Booking, now: datetime) -> bool:
    """Expire an overdue hold now rather than wait for the sweep. Time expired
    it, not whoever's request noticed: the history records the system, as for
    the sweep."""
    if not booking.is_overdue(now):
        return False
    # The sweep's own statements: one way to expire a hold. The booking is
    # already locked by this transaction, so its FOR UPDATE does not wait.
    _expire_batch(now=now, note="expired when it was next used", ids=[booking.pk], wait=True)
    booking.status, booking.expired_at = EXPIRED, now
    return True


def _actor_kind(actor, booking: Booking) -> str:
    if actor is None:
        return Actor.SYSTEM
    if actor.is_staff and actor.pk != booking.customer_id:
        return Actor.STAFF
    return Actor.CUSTOMER


def _transition(
    booking: Booking,
    *,
    to_status: str,
    source: str,
    target: str,
    actor,
    now: datetime,
    **fields,
) -> None:
    """Move a locked booking to `to_status`, and its units from the `source`
    counters to the `target` counters. The booking's row is written first, the
    inventory rows last, so the inventory (which every hold contends for)
    stays locked only for the end of the transaction."""
    assignments = "".join(
        f", {connection.ops.quote_name(Booking._meta.get_field(name).column)} = %({name})s"
        for name in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _TRANSITION_SQL.format(assignments=assignments),
            {
                **fields,
                "id": booking.pk,
                "from_status": booking.status,
                "to_status": to_status,
                "actor_kind": _actor_kind(actor, booking),
                "actor": actor.pk if actor is not None else None,
                "now": now,
            },
        )
    metrics.count_transition(to_status, 1)
    booking.status = to_status
    for name, value in fields.items():
        setattr(booking, name, value)
    _move_units_of([booking.pk], source=source, target=target)


# The statements below name one booking as `= %(id)s`, not `= ANY(...)`: with a
# parameter PostgreSQL can plan once for every booking (a prepared statement's
# generic plan); with an array it plans again for each call.
_TRANSITION_SQL = """
WITH changed AS (
    UPDATE bookings_booking SET status = %(to_status)s{assignments} WHERE id = %(id)s
)
INSERT INTO bookings_bookingstatuschange
    (booking_id, from_status, to_status, actor_kind, actor_id, at, note)
VALUES (%(id)s, %(from_status)s, %(to_status)s, %(actor_kind)s, %(actor)s, %(now)s, '')
"""

_UNITS_OF_BOOKINGS_SQL = """
SELECT 'seat', inventory_id, SUM(seats) FROM bookings_flightitem
WHERE booking_id {bookings} GROUP BY inventory_id
UNION ALL
SELECT 'room', night.id, SUM(item.rooms) FROM bookings_hotelitem AS item
JOIN hotels_roomnight AS night ON night.room_type_id = item.room_type_id
    AND night.date >= item.check_in AND night.date < item.check_out
WHERE item.booking_id {bookings} GROUP BY night.id
"""


def _move_units_of(booking_ids: list[int], *, source: str, target: str) -> None:
    """Move every unit of these bookings from the `source` counters to the
    `target` counters: one query adds them up per inventory row, then the
    cabins and the nights are locked and moved, in the global order."""
    seat_moves: dict[int, int] = {}
    room_moves: dict[int, int] = {}
    with connection.cursor() as cursor:
        bookings = "= %(id)s" if len(booking_ids) == 1 else "= ANY(%(ids)s::bigint[])"
        cursor.execute(
            _UNITS_OF_BOOKINGS_SQL.format(bookings=bookings),
            {"id": booking_ids[0], "ids": booking_ids},
        )
        for kind, pk, units in cursor.fetchall():
            (seat_moves if kind == "seat" else room_moves)[pk] = units
    seats.move_seats(seat_moves, source=source, target=target)
    rooms.move_rooms(room_moves, source=source, target=target)
