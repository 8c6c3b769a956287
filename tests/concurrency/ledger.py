"""The books after a race: every counter row adds up, and its `held` and
`booked` equal the units of the items of held and confirmed bookings."""

from collections import Counter
from datetime import timedelta

from bookings.models import BookingStatus, FlightItem, HotelItem
from flights.models import FlightInventory
from hotels.models import RoomNight

COUNTED = {BookingStatus.HELD: "held", BookingStatus.CONFIRMED: "booked"}


def ledger_problems() -> list[str]:
    """Every way the counters disagree with themselves or with the bookings."""
    problems = []
    seats: Counter = Counter()
    for row_id, status, n in FlightItem.objects.filter(booking__status__in=COUNTED).values_list(
        "inventory_id", "booking__status", "seats"
    ):
        seats[row_id, COUNTED[status]] += n
    for row in FlightInventory.objects.order_by("pk"):
        counters = (row.available_seats, row.held_seats, row.booked_seats)
        if min(counters) < 0 or sum(counters) != row.total_seats:
            problems.append(f"cabin {row.pk}: {counters} does not add up to {row.total_seats}")
        for state in ("held", "booked"):
            if getattr(row, f"{state}_seats") != seats[row.pk, state]:
                problems.append(
                    f"cabin {row.pk}: {state}_seats={getattr(row, f'{state}_seats')} "
                    f"but its {state} items have {seats[row.pk, state]} seats"
                )

    rooms: Counter = Counter()
    for room_type_id, check_in, check_out, status, n in HotelItem.objects.filter(
        booking__status__in=COUNTED
    ).values_list("room_type_id", "check_in", "check_out", "booking__status", "rooms"):
        for i in range((check_out - check_in).days):
            rooms[room_type_id, check_in + timedelta(days=i), COUNTED[status]] += n
    on_sale = set()
    for night in RoomNight.objects.order_by("pk"):
        on_sale.add((night.room_type_id, night.date))
        counters = (night.available_rooms, night.held_rooms, night.booked_rooms)
        if min(counters) < 0 or sum(counters) != night.total_rooms:
            problems.append(
                f"night {night.room_type_id}/{night.date}: {counters} "
                f"does not add up to {night.total_rooms}"
            )
        for state in ("held", "booked"):
            expected = rooms[night.room_type_id, night.date, state]
            if getattr(night, f"{state}_rooms") != expected:
                problems.append(
                    f"night {night.room_type_id}/{night.date}: {state}_rooms="
                    f"{getattr(night, f'{state}_rooms')} but its {state} items have {expected}"
                )
    problems.extend(
        f"night {room_type_id}/{day}: items hold rooms on a night never on sale"
        for room_type_id, day, _ in rooms
        if (room_type_id, day) not in on_sale
    )
    return problems


def assert_ledger_consistent() -> None:
    problems = ledger_problems()
    assert not problems, "inventory ledger out of balance:\n" + "\n".join(problems)
