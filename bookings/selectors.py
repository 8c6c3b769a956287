"""Reads of bookings. A held booking whose `expires_at` has passed reads as
expired everywhere, whether or not the sweep has recorded it yet."""

import re

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from bookings.models import REFERENCE_ALPHABET, Booking, BookingStatus, FlightItem, HotelItem
from config import sql
from flights.models import FlightInventory

REFERENCE_PATTERN = re.compile(rf"^[{REFERENCE_ALPHABET}]{{6}}\Z")


def bookings_visible_to(user, *, status: str | None = None) -> QuerySet[Booking]:
    """The customer's own bookings; every booking for staff."""
    bookings = Booking.objects.all() if user.is_staff else Booking.objects.filter(customer=user)
    if status:
        bookings = bookings.filter(effective_status_condition(status))
    return bookings.select_related("customer").prefetch_related(
        Prefetch(
            "flight_items",
            queryset=FlightItem.objects.select_related("inventory").order_by("position"),
        ),
        Prefetch("hotel_items", queryset=HotelItem.objects.order_by("position")),
    )


def effective_status_condition(status: str) -> Q:
    """Bookings whose status reads as `status`, an overdue hold as expired."""
    now = timezone.now()
    if status == BookingStatus.HELD:
        return Q(status=BookingStatus.HELD, expires_at__gt=now)
    if status == BookingStatus.EXPIRED:
        return Q(status=BookingStatus.EXPIRED) | Q(status=BookingStatus.HELD, expires_at__lte=now)
    return Q(status=status)


def booking_for(user, reference: str) -> Booking | None:
    """The booking with this reference (any ASCII case) if `user` may see it,
    with its items (`booking_items` gives them without another query). Every
    confirm and cancel starts here: hand-written queries (config/sql.py).
    Checked before upper-casing: 'ß'.upper() is 'SS', so five odd characters
    would otherwise name a six-character reference."""
    if not reference.isascii():
        return None
    reference = reference.upper()
    if not REFERENCE_PATTERN.match(reference):
        return None
    query, params = "FROM bookings_booking AS booking WHERE reference = %s", [reference]
    if not user.is_staff:
        query, params = f"{query} AND customer_id = %s", [reference, user.pk]
    found = sql.load(Booking, query, params, alias="booking")
    if not found:
        return None
    booking = found[0]
    booking.items_read = _items_of(booking)
    return booking


def booking_items(booking: Booking) -> list[FlightItem | HotelItem]:
    """The booking's items in request order: as `booking_for` read them, or
    from the prefetched (or else queried) relations."""
    read = getattr(booking, "items_read", None)
    if read is not None:
        return read
    return sorted(
        [*booking.flight_items.all(), *booking.hotel_items.all()], key=lambda item: item.position
    )


_FLIGHT_ITEMS_SQL = f"""
SELECT {sql.select_list(FlightItem, "item")}, {sql.select_list(FlightInventory, "cabin")}
FROM bookings_flightitem AS item
JOIN flights_flightinventory AS cabin ON cabin.id = item.inventory_id
WHERE item.booking_id = %s
"""


def _items_of(booking: Booking) -> list[FlightItem | HotelItem]:
    """Two queries: the flight items with their cabins, the hotel items."""
    items: list[FlightItem | HotelItem] = []
    item_fields, cabin_fields = sql.columns(FlightItem)[0], sql.columns(FlightInventory)[0]
    with connection.cursor() as cursor:
        cursor.execute(_FLIGHT_ITEMS_SQL, [booking.pk])
        for row in cursor.fetchall():
            item = FlightItem.from_db(connection.alias, item_fields, row[: len(item_fields)])
            item.inventory = FlightInventory.from_db(
                connection.alias, cabin_fields, row[len(item_fields) :]
            )
            items.append(item)
    items += sql.load(
        HotelItem,
        "FROM bookings_hotelitem AS item WHERE booking_id = %s",
        [booking.pk],
        alias="item",
    )
    for item in items:
        item.booking = booking
    return sorted(items, key=lambda item: item.position)
