"""Reconciliation of seat maps (docs/design.md, Invariants): for every cabin
with a map, each active seat assignment belongs to a held or confirmed
booking, `held`/`booked` equal the seats assigned to held/confirmed bookings,
and `blocked` the seats staff blocked.

Runs after the counters' own reconciliation (bookings.reconciliation), so the
counters it compares with already match the bookings' items. Repairs take the
cabin's row lock first, as the services do, then: end assignments of ended
bookings, count the blocked seats again, and give an item that lacks seats
some picked ones. What cannot be repaired so (more seats assigned than the
item has) is reported for a person to look at.
"""

from dataclasses import asdict, dataclass

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from bookings.models import BookingStatus, FlightItem, SeatAssignment
from bookings.services import seats
from bookings.services.inventory import lock_rows
from config import search_cache
from flights.models import FlightInventory, Seat

ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)

_SEAT_DRIFT_SQL = """
SELECT f.id, fl.flight_number || ' ' || fl.departure_date || ' ' || f.cabin_class,
       f.held_seats, f.booked_seats, f.blocked_seats,
       COUNT(a.id) FILTER (WHERE b.status = %(held)s),
       COUNT(a.id) FILTER (WHERE b.status = %(confirmed)s),
       COUNT(a.id) FILTER (WHERE b.status NOT IN (%(held)s, %(confirmed)s)),
       COUNT(s.id) FILTER (WHERE s.blocked)
FROM flights_flightinventory AS f
JOIN flights_flight AS fl ON fl.id = f.flight_id
JOIN flights_seat AS s ON s.inventory_id = f.id
LEFT JOIN bookings_seatassignment AS a ON a.seat_id = s.id AND a.active
LEFT JOIN bookings_booking AS b ON b.id = a.booking_id
WHERE f.seat_columns <> '' {row_filter}
GROUP BY f.id, fl.flight_number, fl.departure_date
HAVING (f.held_seats, f.booked_seats, f.blocked_seats, 0::bigint) IS DISTINCT FROM
       (COUNT(a.id) FILTER (WHERE b.status = %(held)s),
        COUNT(a.id) FILTER (WHERE b.status = %(confirmed)s),
        COUNT(s.id) FILTER (WHERE s.blocked),
        COUNT(a.id) FILTER (WHERE b.status NOT IN (%(held)s, %(confirmed)s)))
ORDER BY f.id
"""


@dataclass(frozen=True)
class SeatDrift:
    """One cabin whose seats disagree with its counters or its bookings."""

    pk: int
    label: str
    held: int
    booked: int
    blocked: int
    assigned_held: int
    assigned_booked: int
    assigned_to_ended: int
    blocked_seats: int

    def describe(self) -> str:
        parts = [
            f"{name} {counter} but {seats} seats"
            for name, counter, seats in (
                ("held", self.held, self.assigned_held),
                ("booked", self.booked, self.assigned_booked),
                ("blocked", self.blocked, self.blocked_seats),
            )
            if counter != seats
        ]
        if self.assigned_to_ended:
            parts.append(f"{self.assigned_to_ended} seats still assigned to ended bookings")
        return f"seats of cabin #{self.pk} {self.label}: " + ", ".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)


def find_seat_drift(ids: list[int] | None = None) -> list[SeatDrift]:
    row_filter = "" if ids is None else "AND f.id = ANY(%(ids)s)"
    params = {"held": BookingStatus.HELD, "confirmed": BookingStatus.CONFIRMED, "ids": ids}
    with connection.cursor() as cursor:
        cursor.execute(_SEAT_DRIFT_SQL.format(row_filter=row_filter), params)
        return [SeatDrift(*row) for row in cursor.fetchall()]


def repair_seats(drift: list[SeatDrift]) -> list[SeatDrift]:
    """Repair each drifting cabin under its row lock; the cabins still
    drifting after it (unfixable by these rules)."""
    left = []
    for cabin_id in sorted(d.pk for d in drift):
        with transaction.atomic():
            lock_rows(FlightInventory, [cabin_id])
            _repair_cabin(FlightInventory.objects.get(pk=cabin_id))
            left += find_seat_drift(ids=[cabin_id])
    return left


def _repair_cabin(cabin: FlightInventory) -> None:
    SeatAssignment.objects.filter(seat__inventory=cabin, active=True).exclude(
        booking__status__in=ACTIVE_STATUSES
    ).update(active=False)
    blocked = Seat.objects.filter(inventory=cabin, blocked=True).count()
    available = cabin.total_seats - blocked - cabin.held_seats - cabin.booked_seats
    if available >= 0:
        FlightInventory.objects.filter(pk=cabin.pk).update(
            blocked_seats=blocked, available_seats=available
        )
        search_cache.inventory_changed(FlightInventory, [cabin.pk])
    for item in _items_lacking_seats(cabin):
        picked = seats.pick(cabin, item.seats - item.assigned)
        SeatAssignment.objects.bulk_create(
            SeatAssignment(booking_id=item.booking_id, item_position=item.position, seat=seat)
            for seat in picked
        )


def _items_lacking_seats(cabin: FlightInventory):
    """The cabin's items of held or confirmed bookings with fewer active
    seats than they hold, each with `assigned`, in one query."""
    assigned = (
        SeatAssignment.objects.filter(
            booking=OuterRef("booking"), item_position=OuterRef("position"), active=True
        )
        .values("booking")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        FlightItem.objects.filter(inventory=cabin, booking__status__in=ACTIVE_STATUSES)
        .annotate(assigned=Coalesce(Subquery(assigned), 0))
        .filter(assigned__lt=F("seats"))
    )
