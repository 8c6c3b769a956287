"""Every write to hotels and their room counters."""

from collections.abc import Iterable, Mapping
from datetime import date

from django.db.models import Case, F, IntegerField, Q, Value, When

from hotels.models import RoomNight

# --- Room counters, for the bookings app ---------------------------------------------
#
# Callers run inside transaction.atomic(), after locking any flight rows they
# need (FlightInventory before RoomNight, each by primary key: one global order,
# so no two transactions deadlock).

ROOM_STATES = ("available", "held", "booked")


def lock_nights(stays: Iterable[tuple[int, date, date]]) -> list[RoomNight]:
    """Lock the room nights of `(room_type_id, check_in, check_out)` stays in
    primary key order. A night never put on sale has no row (0 rooms)."""
    condition = Q()
    for room_type_id, check_in, check_out in set(stays):
        condition |= Q(room_type_id=room_type_id, date__gte=check_in, date__lt=check_out)
    if not condition:
        return []
    return list(RoomNight.objects.select_for_update().filter(condition).order_by("pk"))


def lock_nights_by_id(ids: Iterable[int]) -> list[int]:
    """Lock room nights by primary key, in that order."""
    return list(
        RoomNight.objects.select_for_update()
        .filter(pk__in=set(ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def move_rooms(rooms_by_night: Mapping[int, int], *, source: str, target: str) -> None:
    """Move rooms between two counters of each night in one UPDATE. The caller
    holds the rows' locks; the database's CheckConstraints refuse any move that
    would make a counter negative."""
    if not rooms_by_night:
        return
    assert source in ROOM_STATES and target in ROOM_STATES and source != target
    amount = Case(
        *(When(pk=pk, then=Value(n)) for pk, n in rooms_by_night.items()),
        output_field=IntegerField(),
    )
    RoomNight.objects.filter(pk__in=list(rooms_by_night)).update(
        **{
            f"{source}_rooms": F(f"{source}_rooms") - amount,
            f"{target}_rooms": F(f"{target}_rooms") + amount,
        }
    )
