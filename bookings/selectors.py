"""Reads of bookings. A held booking whose `expires_at` has passed reads as
expired everywhere, whether or not the sweep has recorded it yet."""

import re
from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from bookings.models import (
    REFERENCE_ALPHABET,
    VIEW_PERMISSION,
    Booking,
    BookingStatus,
    FlightItem,
    HotelItem,
    SeatAssignment,
)
from flights.models import FlightInventory, Seat

REFERENCE_PATTERN = re.compile(rf"^[{REFERENCE_ALPHABET}]{{6}}\Z")

# A booking's items as its answer shows them.
ITEMS = (
    # With the flights: their dates name the cached searches a transition makes stale.
    # Unordered: whoever needs the items in order sorts them (`booking_items`),
    # and the models' ordering was a seventh of a transition's read (profiled).
    Prefetch(
        "flight_items",
        queryset=FlightItem.objects.select_related("inventory__flight").order_by(),
    ),
    Prefetch("hotel_items", queryset=HotelItem.objects.order_by()),
)

# A sweep batch's items (`read_batch_items`) are kept in plain lists on each
# booking under these names; the readers a transition shares take them through
# `flight_items_of` and `hotel_items_of`, so any booking reads the same either
# way.
FLIGHT_ITEM_LIST, HOTEL_ITEM_LIST = "flight_item_list", "hotel_item_list"


def read_batch_items(bookings: Sequence[Booking]) -> None:
    """Read the items of many bookings (the same rows as ITEMS) in three
    queries, flight items, their cabins with flights (each read and built once
    for the batch, not once per item) and hotel items, into a list per booking
    and relation. Not prefetch_related: it builds a related manager and a
    filtered queryset per booking and relation (profiled: 40 % of a sweep's
    Python), and even into `to_attr` lists it filters by, and caches back,
    every booking instance (a third of what was left)."""
    by_pk = {booking.pk: booking for booking in bookings}
    for booking in bookings:
        setattr(booking, FLIGHT_ITEM_LIST, [])
        setattr(booking, HOTEL_ITEM_LIST, [])
    flight_items = list(FlightItem.objects.filter(booking_id__in=by_pk))
    cabins = FlightInventory.objects.select_related("flight").in_bulk(
        {item.inventory_id for item in flight_items}
    )
    for item in flight_items:
        item.inventory = cabins[item.inventory_id]
        getattr(by_pk[item.booking_id], FLIGHT_ITEM_LIST).append(item)
    for item in HotelItem.objects.filter(booking_id__in=by_pk):
        getattr(by_pk[item.booking_id], HOTEL_ITEM_LIST).append(item)


def flight_items_of(booking: Booking) -> Sequence[FlightItem]:
    """The booking's flight items: the list `read_batch_items` read, or else the
    prefetched (ITEMS) or queried relation."""
    items = booking.__dict__.get(FLIGHT_ITEM_LIST)
    return booking.flight_items.all() if items is None else items


def hotel_items_of(booking: Booking) -> Sequence[HotelItem]:
    """The booking's hotel items, as `flight_items_of` reads the flights'."""
    items = booking.__dict__.get(HOTEL_ITEM_LIST)
    return booking.hotel_items.all() if items is None else items


def sees_every_booking(user) -> bool:
    """Staff who may view bookings in the admin see every booking in the API;
    anyone else (customers, staff without that permission) only their own."""
    return user.is_staff and user.has_perm(VIEW_PERMISSION)


def bookings_visible_to(user, *, status: str | None = None) -> QuerySet[Booking]:
    """The user's own bookings, or every booking (`sees_every_booking`)."""
    every = sees_every_booking(user)
    bookings = Booking.objects.all() if every else Booking.objects.filter(customer=user)
    if status:
        bookings = bookings.filter(effective_status_condition(status))
    return bookings.select_related("customer").prefetch_related(*ITEMS)


def effective_status_condition(status: str) -> Q:
    """Bookings whose status reads as `status`, an overdue hold as expired."""
    now = timezone.now()
    if status == BookingStatus.HELD:
        return Q(status=BookingStatus.HELD, expires_at__gt=now)
    if status == BookingStatus.EXPIRED:
        return Q(status=BookingStatus.EXPIRED) | Q(status=BookingStatus.HELD, expires_at__lte=now)
    return Q(status=status)


def booking_named(user, reference: str) -> QuerySet[Booking]:
    """The booking with this reference (any ASCII case) if `user` may see it,
    as a query not yet run: at most one row. Checked before upper-casing:
    'ß'.upper() is 'SS', so five odd characters would otherwise name a
    six-character reference."""
    if not reference.isascii():
        return Booking.objects.none()
    reference = reference.upper()
    if not REFERENCE_PATTERN.match(reference):
        return Booking.objects.none()
    bookings = Booking.objects.filter(reference=reference)
    if not sees_every_booking(user):
        bookings = bookings.filter(customer=user)
    return bookings


def booking_for(user, reference: str) -> Booking | None:
    """The booking with this reference if `user` may see it, with its items."""
    return booking_named(user, reference).prefetch_related(*ITEMS).first()


def booking_items(booking: Booking) -> list[FlightItem | HotelItem]:
    """The booking's items in request order, from a batch's lists or the
    prefetched (or else queried) relations."""
    return sorted(
        [*flight_items_of(booking), *hotel_items_of(booking)], key=lambda item: item.position
    )


def seat_numbers_of(item: FlightItem) -> list[str]:
    """The seats of a flight item while its booking is held or confirmed, as
    the hold or the last transition left them on the item, or else read with
    those of the booking's other items (one query per booking, and none for a
    cabin without a seat map)."""
    if not item.inventory.has_seat_map:
        return []
    numbers = getattr(item, "seat_numbers", None)
    if numbers is None:
        numbers = _seat_numbers_by_position(item.booking).get(item.position, [])
        item.seat_numbers = numbers
    return numbers


def _seat_numbers_by_position(booking: Booking) -> dict[int, list[str]]:
    cached = getattr(booking, "_seat_numbers", None)
    if cached is None:
        cached = {}
        assignments = (
            SeatAssignment.objects.filter(booking=booking, active=True)
            .order_by("item_position", "seat__row", "seat__column")
            .values_list("item_position", "seat__number")
        )
        for position, number in assignments:
            cached.setdefault(position, []).append(number)
        booking._seat_numbers = cached
    return cached


# A seat's status as staff see it, from its holder's booking status.
SEAT_STATUS = {BookingStatus.HELD: "held", BookingStatus.CONFIRMED: "booked"}


def seat_map(cabin: FlightInventory, *, staff: bool) -> dict:
    """The cabin's seats row by row, in two queries whatever the cabin's size.
    Customers see `available` or `unavailable`; staff see `held`, `booked` or
    `blocked` and the holding booking's reference."""
    holders = dict(
        (seat_id, (reference, status))
        for seat_id, reference, status in SeatAssignment.objects.filter(
            seat__inventory=cabin, active=True
        ).values_list("seat_id", "booking__reference", "booking__status")
    )
    rows: dict[int, list[dict]] = {}
    seats = Seat.objects.filter(inventory=cabin).order_by("row", "column")
    for pk, row, number, position, blocked in seats.values_list(
        "pk", "row", "number", "position", "blocked"
    ):
        seat = {"number": number, "position": position}
        seat.update(seat_status(blocked, holders.get(pk), staff=staff))
        rows.setdefault(row, []).append(seat)
    return {
        "cabin_class": cabin.cabin_class,
        "columns": cabin.seat_columns,
        "rows": [{"row": row, "seats": seats} for row, seats in rows.items()],
    }


def seat_status(blocked: bool, holder: tuple[str, str] | None, *, staff: bool) -> dict:
    """`{"status"}` of one seat, plus `booking` for staff where one holds it."""
    if not staff:
        return {"status": "unavailable" if blocked or holder else "available"}
    if blocked:
        return {"status": "blocked"}
    if holder is None:
        return {"status": "available"}
    reference, status = holder
    return {"status": SEAT_STATUS.get(status, "held"), "booking": reference}
