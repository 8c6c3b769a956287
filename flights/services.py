"""Every write to flights and their seat counters."""

from collections.abc import Iterable, Mapping

from django.db.models import Case, F, IntegerField, Q, Value, When

from flights.models import FlightInventory

# --- Seat counters, for the bookings app ---------------------------------------------
#
# Callers run inside transaction.atomic(). Rows are locked in one global order
# (FlightInventory before RoomNight, each by primary key) so that two
# transactions that need the same rows never deadlock.

SEAT_STATES = ("available", "held", "booked")


def lock_cabins(cabins: Iterable[tuple[int, str]]) -> dict[tuple[int, str], FlightInventory]:
    """Lock the inventory rows of `(flight_id, cabin_class)` pairs, in primary
    key order; pairs that do not exist are simply missing from the result."""
    condition = Q()
    for flight_id, cabin_class in set(cabins):
        condition |= Q(flight_id=flight_id, cabin_class=cabin_class)
    if not condition:
        return {}
    rows = FlightInventory.objects.select_for_update().filter(condition).order_by("pk")
    return {(row.flight_id, row.cabin_class): row for row in rows}


def lock_cabins_by_id(ids: Iterable[int]) -> list[int]:
    """Lock inventory rows by primary key, in that order."""
    return list(
        FlightInventory.objects.select_for_update()
        .filter(pk__in=set(ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def move_seats(seats_by_row: Mapping[int, int], *, source: str, target: str) -> None:
    """Move seats between two counters of each row (`available`, `held`,
    `booked`) in one UPDATE. The caller holds the rows' locks; the database's
    CheckConstraints refuse any move that would make a counter negative."""
    if not seats_by_row:
        return
    assert source in SEAT_STATES and target in SEAT_STATES and source != target
    amount = Case(
        *(When(pk=pk, then=Value(n)) for pk, n in seats_by_row.items()),
        output_field=IntegerField(),
    )
    FlightInventory.objects.filter(pk__in=list(seats_by_row)).update(
        **{
            f"{source}_seats": F(f"{source}_seats") - amount,
            f"{target}_seats": F(f"{target}_seats") + amount,
        }
    )
