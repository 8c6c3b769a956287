"""The inventory a booking takes: flight cabins (seats) and room nights
(rooms), locked and moved the same way.

Rows are locked in one global order, the same everywhere, so no two
transactions wait on each other crosswise:

    customer (auth_user) → bookings → FlightInventory → RoomNight (each by pk)

Locks are FOR NO KEY UPDATE: the counters are no key, so inserting a booking
item that refers to a row (a key-share lock) is not blocked by them.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import reduce
from operator import or_

from django.db.models import F, Model, Q, Sum

from bookings import selectors
from bookings.models import Booking, HotelItem
from bookings.services import statements
from bookings.services.requests import HotelRequest
from config import search_cache
from flights.models import FlightInventory
from hotels.models import RoomNight

STATES = ("available", "held", "booked")
UNIT = {FlightInventory: "seats", RoomNight: "rooms"}


def lock_cabins(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], FlightInventory]:
    """The cabins of `(flight_id, cabin_class)` pairs, locked in primary-key
    order, with their flights (not locked); pairs that do not exist are missing."""
    wanted = [Q(flight_id=flight_id, cabin_class=cabin) for flight_id, cabin in set(pairs)]
    if not wanted:
        return {}
    rows = (
        FlightInventory.objects.select_for_update(no_key=True, of=("self",))
        .select_related("flight")
        .filter(reduce(or_, wanted))
        .order_by("pk")
    )
    return {(row.flight_id, row.cabin_class): row for row in rows}


def lock_nights(stays: Sequence[HotelRequest]) -> dict[tuple[int, date], RoomNight]:
    """The room nights of the stays, locked in primary-key order; nights not
    on sale have no row and are missing."""
    wanted = [
        Q(room_type_id=stay.room_type_id, date__gte=stay.check_in, date__lt=stay.check_out)
        for stay in stays
    ]
    if not wanted:
        return {}
    rows = RoomNight.objects.select_for_update(no_key=True).filter(reduce(or_, wanted))
    return {(row.room_type_id, row.date): row for row in rows.order_by("pk")}


def lock_rows(model: type[Model], pks: Iterable[int]) -> None:
    """Lock rows of `model` by primary key, in that order."""
    list(
        model.objects.select_for_update(no_key=True)
        .filter(pk__in=set(pks))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def move(model: type[Model], units_by_row: Mapping[int, int], *, source: str, target: str) -> None:
    """Move units of rows of `model` between two of their counters
    (`available`, `held`, `booked`); the caller runs inside transaction.atomic()."""
    assert source in STATES and target in STATES and source != target
    if units_by_row:
        unit = UNIT[model]
        statements.move_counters(
            model, units_by_row, source=f"{source}_{unit}", target=f"{target}_{unit}"
        )


def move_units_of(bookings: Sequence[Booking], *, source: str, target: str) -> None:
    """Move every unit of these bookings' items: cabins first, then nights.
    A move to or from `available` changes what searches show: their cached
    answers go stale after commit (the flights' dates come with the items,
    `selectors.ITEMS`)."""
    seats: Counter[int] = Counter()
    cabins = []
    stays = []
    for booking in bookings:
        for item in selectors.flight_items_of(booking):
            seats[item.inventory_id] += item.seats
            cabins.append(item.inventory)
        stays += selectors.hotel_items_of(booking)
    rooms = _rooms_by_night(stays)
    move(FlightInventory, seats, source=source, target=target)
    move(RoomNight, rooms, source=source, target=target)
    if "available" in (source, target):
        search_cache.rows_changed(cabins, rooms)


def _rooms_by_night(stays: Sequence[HotelItem]) -> Counter[int]:
    """The rooms of hotel items (stays) per room night, in one query: the
    stays' rows joined to their room types' nights from check-in to the
    night before check-out, by the (room type, date) index. A sweep batch's
    stays lie all over the year: one range per batch read every night of
    their room types in between (16,000 rows for 170 stays at a tenth of
    `seed_scale`), an OR of one range per stay costs more Python to build
    than the rows it saves; this join reads the nights they cover."""
    if not stays:
        return Counter()
    nights = (
        RoomNight.objects.filter(
            room_type__booking_items__in=[stay.pk for stay in stays],
            room_type__booking_items__check_in__lte=F("date"),
            room_type__booking_items__check_out__gt=F("date"),
        )
        .order_by()
        .values("pk")
        .annotate(rooms=Sum("room_type__booking_items__rooms"))
        .values_list("pk", "rooms")
    )
    return Counter(dict(nights))
