"""The inventory invariants of DESIGN.md, checked against the database, for any
test that moves counters (API tests, services, races):

    from tests.invariants import assert_inventory_consistent
    assert_inventory_consistent()

For EVERY FlightInventory and RoomNight row: `available + held + booked ==
total`, none negative, `held` equals the units of the items of bookings whose
stored status is `held`, and `booked` the units of `confirmed` ones. A held
booking past its `expires_at` that nobody has expired yet still counts as held:
its units leave the counter only when its transition commits.
"""

from collections import Counter
from datetime import timedelta

from bookings.models import BookingStatus, FlightItem, HotelItem
from flights.models import FlightInventory
from hotels.models import RoomNight

_COUNTED = {BookingStatus.HELD: "held", BookingStatus.CONFIRMED: "booked"}


def inventory_drift() -> list[str]:
    """Every way the counters disagree with each other or with the bookings,
    as one human line per problem (empty when all is well)."""
    expected_seats: dict[str, Counter[int]] = {"held": Counter(), "booked": Counter()}
    for inventory_id, status, seats in FlightItem.objects.values_list(
        "inventory_id", "booking__status", "seats"
    ):
        if status in _COUNTED:
            expected_seats[_COUNTED[status]][inventory_id] += seats

    expected_rooms: dict[str, Counter[tuple]] = {"held": Counter(), "booked": Counter()}
    for room_type_id, check_in, check_out, status, rooms in HotelItem.objects.values_list(
        "room_type_id", "check_in", "check_out", "booking__status", "rooms"
    ):
        if status in _COUNTED:
            for day in range((check_out - check_in).days):
                expected_rooms[_COUNTED[status]][
                    (room_type_id, check_in + timedelta(days=day))
                ] += rooms

    drift = []
    for row in FlightInventory.objects.order_by("pk"):
        name = f"FlightInventory #{row.pk} (flight {row.flight_id} {row.cabin_class})"
        drift += _row_drift(
            name,
            total=row.total_seats,
            available=row.available_seats,
            held=row.held_seats,
            booked=row.booked_seats,
            expected_held=expected_seats["held"][row.pk],
            expected_booked=expected_seats["booked"][row.pk],
        )
    nights_seen = set()
    for row in RoomNight.objects.order_by("pk"):
        key = (row.room_type_id, row.date)
        nights_seen.add(key)
        name = f"RoomNight #{row.pk} (room type {row.room_type_id} on {row.date})"
        drift += _row_drift(
            name,
            total=row.total_rooms,
            available=row.available_rooms,
            held=row.held_rooms,
            booked=row.booked_rooms,
            expected_held=expected_rooms["held"][key],
            expected_booked=expected_rooms["booked"][key],
        )
    for state, wanted in expected_rooms.items():
        for (room_type_id, night), rooms in sorted(wanted.items()):
            if (room_type_id, night) not in nights_seen and rooms:
                drift.append(
                    f"room type {room_type_id} on {night}: {rooms} room(s) {state} by "
                    "bookings but that night has no RoomNight row"
                )
    return drift


def _row_drift(name, *, total, available, held, booked, expected_held, expected_booked):
    problems = []
    if available + held + booked != total:
        problems.append(
            f"{name}: available {available} + held {held} + booked {booked} "
            f"= {available + held + booked}, not total {total}"
        )
    if min(available, held, booked) < 0:
        problems.append(f"{name}: a negative counter ({available}/{held}/{booked})")
    if held != expected_held:
        problems.append(
            f"{name}: held is {held} but held bookings' items add up to {expected_held}"
        )
    if booked != expected_booked:
        problems.append(
            f"{name}: booked is {booked} but confirmed bookings' items add up to {expected_booked}"
        )
    return problems


def assert_inventory_consistent() -> None:
    """Fail with every drift listed, one per line."""
    drift = inventory_drift()
    assert not drift, "inventory counters drifted from the bookings:\n  " + "\n  ".join(drift)
