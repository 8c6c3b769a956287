"""Whether a hold's items can be had from the inventory rows as locked: pure
functions over the figures, no database."""

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from bookings.services.requests import FlightRequest, HotelRequest, ItemRequest
from flights.models import FlightInventory
from hotels.models import RoomNight

Cabins = Mapping[tuple[int, str], FlightInventory]
Nights = Mapping[tuple[int, date], RoomNight]


def shortages(items: Sequence[ItemRequest], cabins: Cabins, nights: Nights) -> list[dict]:
    """The items that cannot be had, each with what is left for it once the
    earlier items of the same request have taken theirs (two items may share a
    row): an item is never refused while the answer says enough is available."""
    taken: Counter[tuple] = Counter()
    unavailable = []
    for i, item in enumerate(items):
        left_by_row = _left_by_row(item, cabins, nights)
        units = item.seats if isinstance(item, FlightRequest) else item.rooms
        left = min(available - taken[row] for row, available in left_by_row.items())
        if units > left:
            unavailable.append({"item": i, "requested": units, "available": max(left, 0)})
        else:
            taken.update(dict.fromkeys(left_by_row, units))
    return unavailable


def _left_by_row(item: ItemRequest, cabins: Cabins, nights: Nights) -> dict[tuple, int]:
    if isinstance(item, FlightRequest):
        cabin = cabins[(item.flight_id, item.cabin_class)]
        return {("cabin", cabin.pk): cabin.available_seats}
    return {
        ("night", item.room_type_id, night): _rooms_free(nights, item.room_type_id, night)
        for night in item.nights()
    }


def _rooms_free(nights: Nights, room_type_id: int, night: date) -> int:
    """A night never put on sale has no row: 0 rooms."""
    row = nights.get((room_type_id, night))
    return row.available_rooms if row else 0


def seats_by_cabin(items: Sequence[ItemRequest], cabins: Cabins) -> Counter[int]:
    """The seats the items take from each cabin (by primary key)."""
    demand: Counter[int] = Counter()
    for item in items:
        if isinstance(item, FlightRequest):
            demand[cabins[(item.flight_id, item.cabin_class)].pk] += item.seats
    return demand


def rooms_by_night(items: Sequence[ItemRequest], nights: Nights) -> Counter[int]:
    """The rooms the items take from each room night (by primary key)."""
    demand: Counter[int] = Counter()
    for item in items:
        if isinstance(item, HotelRequest):
            for night in item.nights():
                demand[nights[(item.room_type_id, night)].pk] += item.rooms
    return demand
