"""Every write to hotels and their room counters."""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db import transaction
from django.db.models import F, Value

from config import search_cache
from config.exceptions import CapacityBelowCommitted, ValidationFailed
from hotels.models import Hotel, RoomNight, RoomType

# --- Hotels, room types and what is on sale, for staff ---------------------------------

# One availability call covers at most a year of nights.
MAX_AVAILABILITY_NIGHTS = 366


class RoomTypeSpec(TypedDict):
    code: str
    name: str
    max_guests: int


def create_hotel(
    *, name: str, city: str, address: str, room_types: Sequence[RoomTypeSpec]
) -> Hotel:
    """A hotel and its room types; nothing is on sale until staff set nights."""
    with transaction.atomic():
        hotel = Hotel.objects.create(name=name, city=city, address=address)
        RoomType.objects.bulk_create(RoomType(hotel=hotel, **spec) for spec in room_types)
        search_cache.scopes_changed(cities=[city])
    return hotel


def set_room_availability(
    *,
    room_type: RoomType,
    start: date,
    end: date,
    total_rooms: int,
    price: Decimal,
    currency: str,
) -> int:
    """Put every night of `[start, end)` on sale with `total_rooms` rooms at
    `price`, creating the nights that do not exist yet. All or nothing: if any
    night already has more rooms held or booked than `total_rooms`, nothing
    changes (409). Returns the number of nights set."""
    nights = (end - start).days
    if nights < 1 or nights > MAX_AVAILABILITY_NIGHTS:
        raise ValidationFailed(
            [
                {
                    "field": "end",
                    "code": "invalid_range",
                    "detail": f"end must be 1 to {MAX_AVAILABILITY_NIGHTS} days after start.",
                }
            ]
        )
    with transaction.atomic():
        # Serializes availability changes of one room type (so two calls never
        # both insert a night, and the currency check holds). NO KEY UPDATE does
        # not conflict with the key-share lock a booking takes when it refers to
        # the room type, so holds are not blocked or deadlocked by this.
        RoomType.objects.select_for_update(no_key=True).filter(pk=room_type.pk).first()
        if RoomNight.objects.filter(room_type=room_type).exclude(currency=currency).exists():
            raise ValidationFailed(
                [
                    {
                        "field": "currency",
                        "code": "currency_mismatch",
                        "detail": "This room type's nights are sold in another currency.",
                    }
                ]
            )
        existing = list(
            RoomNight.objects.select_for_update(no_key=True)
            .filter(room_type=room_type, date__gte=start, date__lt=end)
            .order_by("pk")
            .values("pk", "date", "held_rooms", "booked_rooms")
        )
        short = [
            {
                "date": night["date"].isoformat(),
                "committed": night["held_rooms"] + night["booked_rooms"],
            }
            for night in existing
            if night["held_rooms"] + night["booked_rooms"] > total_rooms
        ]
        if short:
            raise CapacityBelowCommitted(
                f"{len(short)} night(s) have more rooms held or booked than {total_rooms}.",
                requested=total_rooms,
                nights=sorted(short, key=lambda night: night["date"]),
            )
        RoomNight.objects.filter(pk__in=[night["pk"] for night in existing]).update(
            total_rooms=total_rooms,
            available_rooms=Value(total_rooms) - F("held_rooms") - F("booked_rooms"),
            price=price,
            currency=currency,
        )
        taken = {night["date"] for night in existing}
        RoomNight.objects.bulk_create(
            RoomNight(
                room_type=room_type,
                date=day,
                total_rooms=total_rooms,
                available_rooms=total_rooms,
                price=price,
                currency=currency,
            )
            for day in (start + timedelta(days=i) for i in range(nights))
            if day not in taken
        )
        search_cache.scopes_changed(cities=[room_type.hotel.city])
    return nights
