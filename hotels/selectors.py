"""Reads of hotels: search, and a stay's availability and price per room type
computed in the database (one aggregate row per room type, never a loop over
nights). The answers are small frozen dataclasses, so what a stay adds to a
room type travels beside the model instance instead of being set on it."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, FilteredRelation, Max, Min, OuterRef, Q, QuerySet, Sum

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

    def night_filter(self, prefix: str = "") -> Q:
        """The stay's nights, as a filter on RoomNight (or on the relation
        `prefix` leads to, e.g. `nights__`)."""
        return Q(**{f"{prefix}date__gte": self.check_in, f"{prefix}date__lt": self.check_out})


@dataclass(frozen=True)
class RoomTypeOffer:
    """A room type and what it offers for a stay: `available_rooms` is the
    fewest free rooms over the nights (0 when a night was never put on sale),
    `total_price` the nightly prices times the rooms (None unless every night
    is on sale), `currency` that of its nights on sale. `nights` (the nights
    on sale, by date) is only read for staff, else None."""

    room_type: RoomType
    available_rooms: int
    total_price: Decimal | None
    currency: str | None
    nights: tuple[RoomNight, ...] | None = None


@dataclass(frozen=True)
class HotelListing:
    """A hotel with the room types listed: plain room types without a stay,
    offers with one."""

    hotel: Hotel
    room_types: list[RoomType] | list[RoomTypeOffer]


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
    that has `stay.rooms` rooms free on every night. `hotel_listings` then
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
) -> HotelListing | None:
    """One hotel with every room type (with the stay's figures, if any)."""
    hotel = Hotel.objects.filter(pk=hotel_id).first()
    if hotel is None:
        return None
    return hotel_listings([hotel], stay=stay, only_fitting=False, with_nights=with_nights)[0]


def hotel_listings(
    hotels: list[Hotel], *, stay: Stay | None, only_fitting: bool, with_nights: bool = False
) -> list[HotelListing]:
    """Each hotel with its room types by id. With a stay they are offers;
    `only_fitting` keeps those with `stay.rooms` rooms free; `with_nights`
    adds each offer's nights (for staff)."""
    ids = [hotel.pk for hotel in hotels]
    by_hotel: dict[int, list] = {pk: [] for pk in ids}
    if stay is None:
        for room_type in RoomType.objects.filter(hotel_id__in=ids).order_by("pk"):
            by_hotel[room_type.hotel_id].append(room_type)
    else:
        for offer in _offers(ids, stay, with_nights=with_nights):
            if offer.available_rooms >= stay.rooms or not only_fitting:
                by_hotel[offer.room_type.hotel_id].append(offer)
    return [HotelListing(hotel=hotel, room_types=by_hotel[hotel.pk]) for hotel in hotels]


def _offers(hotel_ids: list[int], stay: Stay, *, with_nights: bool) -> list[RoomTypeOffer]:
    """The room types of the hotels with the stay's figures, in one aggregate
    query. The filtered relation puts the stay's dates in the join's
    condition, so only the stay's nights are read (by index), not every night
    of each room type."""
    room_types = list(
        RoomType.objects.filter(hotel_id__in=hotel_ids)
        .alias(stay_night=FilteredRelation("nights", condition=stay.night_filter("nights__")))
        .annotate(
            nights_on_sale=Count("stay_night"),
            fewest_free=Min("stay_night__available_rooms"),
            nightly_prices=Sum("stay_night__price"),
            night_currency=Max("stay_night__currency"),
        )
        .order_by("pk")
    )
    nights = _nights_by_room_type(room_types, stay) if with_nights else None
    offers = []
    for room_type in room_types:
        every_night_on_sale = room_type.nights_on_sale == stay.nights
        offers.append(
            RoomTypeOffer(
                room_type=room_type,
                available_rooms=room_type.fewest_free if every_night_on_sale else 0,
                total_price=room_type.nightly_prices * stay.rooms if every_night_on_sale else None,
                currency=room_type.night_currency,
                nights=None if nights is None else tuple(nights[room_type.pk]),
            )
        )
    return offers


def _nights_by_room_type(room_types: list[RoomType], stay: Stay) -> dict[int, list[RoomNight]]:
    """The stay's nights on sale of each room type, by date (a night never put
    on sale has no row)."""
    by_room_type: dict[int, list[RoomNight]] = {room_type.pk: [] for room_type in room_types}
    nights = RoomNight.objects.filter(stay.night_filter(), room_type__in=room_types)
    for night in nights.order_by("date"):
        by_room_type[night.room_type_id].append(night)
    return by_room_type
