"""Reads of hotels: search and a stay's availability and price per room type,
computed in the database (one aggregate row per room type, never a loop over
nights)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from config import sql
from hotels.models import Hotel, RoomNight, RoomType


@dataclass(frozen=True)
class Stay:
    """Nights `[check_in, check_out)` for `rooms` rooms."""

    check_in: date
    check_out: date
    rooms: int = 1

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    def night_filter(self) -> Q:
        return Q(date__gte=self.check_in, date__lt=self.check_out)


def _fitting_room_types(stay: Stay) -> QuerySet[RoomNight]:
    """Per room type, the nights of the stay with enough free rooms; a room
    type fits when that is every night."""
    return (
        RoomNight.objects.filter(stay.night_filter(), available_rooms__gte=stay.rooms)
        .values("room_type")
        .annotate(fitting_nights=Count("pk"))
        .filter(fitting_nights=stay.nights)
    )


def search_hotels(*, city: str | None = None, stay: Stay | None = None) -> QuerySet[Hotel]:
    """Hotels by city (any case); with a stay, only hotels with a room type
    that has `stay.rooms` rooms free on every night. `with_room_types` then
    lists the room types of the page shown."""
    hotels = Hotel.objects.all()
    if city:
        hotels = hotels.filter(city__iexact=city)
    if stay is not None:
        fitting = _fitting_room_types(stay).filter(room_type__hotel=OuterRef("pk"))
        hotels = hotels.filter(Exists(fitting))
    return hotels.order_by("city", "name", "pk")


def get_hotel(
    *, hotel_id: int, stay: Stay | None = None, with_nights: bool = False
) -> Hotel | None:
    """One hotel with every room type (with the stay's figures, if any)."""
    hotel = Hotel.objects.filter(pk=hotel_id).first()
    if hotel is not None:
        with_room_types([hotel], stay=stay, only_fitting=False, with_nights=with_nights)
    return hotel


def with_room_types(
    hotels: Iterable[Hotel], *, stay: Stay | None, only_fitting: bool, with_nights: bool = False
) -> list[Hotel]:
    """Sets each hotel's `listed_room_types`, by id. With a stay, each room
    type carries `available_rooms` (the fewest free rooms over its nights, 0
    when a night was never put on sale), `total_price` (the nightly prices
    times the rooms, None unless every night is on sale) and `currency`;
    `only_fitting` keeps those with `stay.rooms` rooms free; `with_nights`
    adds `stay_nights` (for staff).

    Hand-written (config/sql.py): the ORM's aggregate over a filtered join
    took longer to build and compile than PostgreSQL takes to run it
    (profiled: a third of a hotel search's CPU). Only the stay's nights are
    joined, through the (room type, date) index."""
    hotels = list(hotels)
    ids = [hotel.pk for hotel in hotels]
    if stay is None:
        room_types = sql.load(
            RoomType,
            "FROM hotels_roomtype AS room_type WHERE room_type.hotel_id = ANY(%s) "
            "ORDER BY room_type.id",
            [ids],
            alias="room_type",
        )
    else:
        room_types = _room_types_for_stay(ids, stay)
        if only_fitting:
            room_types = [rt for rt in room_types if rt.available_rooms >= stay.rooms]
        if with_nights:
            _attach_nights(room_types, stay)
    by_hotel: dict[int, list[RoomType]] = {pk: [] for pk in ids}
    for room_type in room_types:
        by_hotel[room_type.hotel_id].append(room_type)
    for hotel in hotels:
        hotel.listed_room_types = by_hotel[hotel.pk]
    return hotels


def _room_types_for_stay(hotel_ids: list[int], stay: Stay) -> list[RoomType]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql.select_list(RoomType, 'room_type')}, COUNT(night.id), "
            "MIN(night.available_rooms), SUM(night.price), MAX(night.currency) "
            "FROM hotels_roomtype AS room_type "
            "LEFT JOIN hotels_roomnight AS night ON night.room_type_id = room_type.id "
            "AND night.date >= %s AND night.date < %s "
            "WHERE room_type.hotel_id = ANY(%s) GROUP BY room_type.id ORDER BY room_type.id",
            [stay.check_in, stay.check_out, hotel_ids],
        )
        rows = cursor.fetchall()
    room_types = []
    for row in rows:
        room_type = sql.build(RoomType, row)
        nights_on_sale, fewest_free, nightly_prices, currency = row[-4:]
        every_night_on_sale = nights_on_sale == stay.nights
        room_type.available_rooms = fewest_free if every_night_on_sale else 0
        room_type.total_price = nightly_prices * stay.rooms if every_night_on_sale else None
        room_type.currency = currency
        room_types.append(room_type)
    return room_types


def _attach_nights(room_types: list[RoomType], stay: Stay) -> None:
    """Each room type's `stay_nights`: the nights of the stay on sale, by date."""
    by_room_type: dict[int, list[RoomNight]] = {rt.pk: [] for rt in room_types}
    nights = nights_of_stays((pk, stay.check_in, stay.check_out) for pk in by_room_type)
    for night in sorted(nights, key=lambda night: night.date):
        by_room_type[night.room_type_id].append(night)
    for room_type in room_types:
        room_type.stay_nights = by_room_type[room_type.pk]


def nights_of_stays(stays: Iterable[tuple[int, date, date]]) -> list[RoomNight]:
    """The room nights of `(room_type_id, check_in, check_out)` stays as
    committed now, unlocked, in one query. A night never put on sale has no
    row (0 rooms). Every hold of a stay runs it: a hand-written query
    (config/sql.py)."""
    stays = set(stays)
    if not stays:
        return []
    condition = " OR ".join(["(room_type_id = %s AND date >= %s AND date < %s)"] * len(stays))
    return sql.load(
        RoomNight,
        f"FROM hotels_roomnight AS night WHERE {condition}",
        [value for stay in stays for value in stay],
        alias="night",
    )
