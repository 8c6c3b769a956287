"""Reads of bookings. A held booking whose `expires_at` has passed reads as
expired everywhere, whether or not the sweep has recorded it yet."""

import json
import re

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from bookings.models import (
    REFERENCE_ALPHABET,
    VIEW_PERMISSION,
    Booking,
    BookingStatus,
    FlightItem,
    HotelItem,
)
from config import sql
from flights.models import FlightInventory

REFERENCE_PATTERN = re.compile(rf"^[{REFERENCE_ALPHABET}]{{6}}\Z")


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
    query, params = _BOOKING_WITH_ITEMS_SQL, [reference]
    if not sees_every_booking(user):
        query, params = f"{query} AND booking.customer_id = %s", [reference, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    if row is None:
        return None
    booking = sql.build(Booking, row)
    flight_items, hotel_items = (json.loads(v) if isinstance(v, str) else v for v in row[-2:])
    items: list[FlightItem | HotelItem] = []
    for item_values, cabin_values in flight_items or []:
        item = sql.from_json(FlightItem, item_values)
        item.inventory = sql.from_json(FlightInventory, cabin_values)
        items.append(item)
    items += [sql.from_json(HotelItem, values) for values in hotel_items or []]
    for item in items:
        item.booking = booking
    booking.items_read = sorted(items, key=lambda item: item.position)
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


# The booking and its items in one round trip: each kind of item as a JSON
# array of rows (config/sql.py, json_list).
_BOOKING_WITH_ITEMS_SQL = f"""
SELECT {sql.select_list(Booking, "booking")},
    (SELECT json_agg(json_build_array(
        {sql.json_list(FlightItem, "item")}, {sql.json_list(FlightInventory, "cabin")}
    )) FROM bookings_flightitem AS item
    JOIN flights_flightinventory AS cabin ON cabin.id = item.inventory_id
    WHERE item.booking_id = booking.id),
    (SELECT json_agg({sql.json_list(HotelItem, "item")})
    FROM bookings_hotelitem AS item WHERE item.booking_id = booking.id)
FROM bookings_booking AS booking
WHERE booking.reference = %s"""
