"""Reads of hotels: search and a stay's availability and price per room type,
computed in the database (one aggregate row per room type, never a loop over
nights)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

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

    def night_filter(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}date__gte": self.check_in, f"{prefix}date__lt": self.check_out})


def room_types_for_stay(stay: Stay) -> QuerySet[RoomType]:
    """Room types annotated with the stay: `available_rooms` (the fewest free
    rooms over its nights, 0 when a night was never put on sale), `total_price`
    (sum of nightly prices times rooms, None unless every night is on sale) and
    `currency`. Only the stay's nights are joined (a FilteredRelation: the
    condition is in the JOIN, so the (room type, date) index finds them),
    not every night of the year on sale."""
    nights = "nights_of_stay"
    every_night_on_sale = Q(nights_on_sale=stay.nights)
    return (
        RoomType.objects.annotate(
            **{nights: FilteredRelation("nights", condition=stay.night_filter("nights__"))}
        )
        .annotate(
            nights_on_sale=Count(nights),
            fewest_free=Min(f"{nights}__available_rooms"),
            stay_price=Sum(f"{nights}__price"),
            currency=Max(f"{nights}__currency"),
        )
        .annotate(
            available_rooms=Case(
                When(every_night_on_sale, then=Coalesce(F("fewest_free"), 0)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            total_price=Case(
                When(every_night_on_sale, then=F("stay_price") * Value(stay.rooms)),
                default=None,
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
    )


def _fitting_room_types(stay: Stay) -> QuerySet[RoomNight]:
    """Per room type, the nights of the stay with enough free rooms; a room
    type fits when that is every night."""
    return (
        RoomNight.objects.filter(stay.night_filter(), available_rooms__gte=stay.rooms)
        .values("room_type")
        .annotate(fitting_nights=Count("pk"))
        .filter(fitting_nights=stay.nights)
    )


def _room_types(stay: Stay | None, *, only_fitting: bool, with_nights: bool) -> Prefetch:
    if stay is None:
        return Prefetch("room_types", queryset=RoomType.objects.order_by("pk"))
    room_types = room_types_for_stay(stay).order_by("pk")
    if only_fitting:
        room_types = room_types.filter(available_rooms__gte=stay.rooms)
    if with_nights:
        room_types = room_types.prefetch_related(
            Prefetch(
                "nights",
                queryset=RoomNight.objects.filter(stay.night_filter()).order_by("date"),
                to_attr="stay_nights",
            )
        )
    return Prefetch("room_types", queryset=room_types)


def search_hotels(
    *, city: str | None = None, stay: Stay | None = None, with_nights: bool = False
) -> QuerySet[Hotel]:
    """Hotels by city (any case). With a stay, only hotels with a room type
    that has `stay.rooms` rooms free on every night, listing only such room
    types. `with_nights` adds each room type's nights (for staff)."""
    hotels = Hotel.objects.all()
    if city:
        hotels = hotels.filter(city__iexact=city)
    if stay is not None:
        fitting = _fitting_room_types(stay).filter(room_type__hotel=OuterRef("pk"))
        hotels = hotels.filter(Exists(fitting))
    return hotels.order_by("city", "name", "pk").prefetch_related(
        _room_types(stay, only_fitting=True, with_nights=with_nights)
    )


def get_hotel(
    *, hotel_id: int, stay: Stay | None = None, with_nights: bool = False
) -> Hotel | None:
    """One hotel with every room type (annotated with the stay, if any)."""
    return (
        Hotel.objects.filter(pk=hotel_id)
        .prefetch_related(_room_types(stay, only_fitting=False, with_nights=with_nights))
        .first()
    )


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
