from collections.abc import Mapping
from datetime import timedelta

from django.core.validators import RegexValidator
from rest_framework import serializers

from config.api.fields import (
    QueryDateField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictDateField,
    StrictDecimalField,
    StrictIntegerField,
)
from config.api.serializers import DeclaredFieldsSerializer
from hotels.models import MAX_ROOMS, RoomType
from hotels.selectors import RoomTypeOffer, Stay
from hotels.services import MAX_AVAILABILITY_NIGHTS

CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}\Z", "A currency is an ISO 4217 code: three capitals.")
ROOM_TYPE_CODE = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z", "A code is letters, digits, '-' and '_'."
)
MAX_ROOM_TYPES = 50
MAX_GUESTS = 50
# A stay to look up spans at most as many nights as staff can set at once.
MAX_STAY_NIGHTS = MAX_AVAILABILITY_NIGHTS


# --- Output --------------------------------------------------------------------------


class RoomTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoomType
        fields = ["id", "code", "name", "max_guests"]
        read_only_fields = fields


class StayRoomTypeSerializer(DeclaredFieldsSerializer):
    """A room type; when a stay is asked for, also its availability and price."""

    # Reads a hotels.selectors.RoomTypeOffer.
    id = serializers.IntegerField(source="room_type.pk", read_only=True)
    code = serializers.CharField(source="room_type.code", read_only=True)
    name = serializers.CharField(source="room_type.name", read_only=True)
    max_guests = serializers.IntegerField(source="room_type.max_guests", read_only=True)
    # Only there with a stay, so optional in the schema (output only: never parsed).
    available_rooms = serializers.IntegerField(required=False)
    total_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    currency = serializers.CharField(required=False, allow_null=True)


class NightSerializer(serializers.Serializer):
    date = serializers.DateField()
    total_rooms = serializers.IntegerField()
    available_rooms = serializers.IntegerField()
    held_rooms = serializers.IntegerField()
    booked_rooms = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField(allow_null=True)


class StaffStayRoomTypeSerializer(StayRoomTypeSerializer):
    """Staff also see each night of the stay; a night never put on sale shows
    0 rooms and no price."""

    nights = serializers.SerializerMethodField()

    def get_nights(self, offer: RoomTypeOffer) -> list[dict]:
        stay: Stay = self.context["stay"]
        on_sale = {night.date: night for night in offer.nights}
        nights = []
        for offset in range(stay.nights):
            day = stay.check_in + timedelta(days=offset)
            night = on_sale.get(day)
            nights.append(
                {
                    "date": day,
                    "total_rooms": night.total_rooms if night else 0,
                    "available_rooms": night.available_rooms if night else 0,
                    "held_rooms": night.held_rooms if night else 0,
                    "booked_rooms": night.booked_rooms if night else 0,
                    "price": night.price if night else None,
                    "currency": night.currency if night else None,
                }
            )
        return NightSerializer(nights, many=True).data


# Answers from its declared fields (config/api/serializers.py): a search page
# is 20 hotels of a few room types each, and DRF's loop deep-copied every field
# of each, most of a search's Python.
class HotelSerializer(DeclaredFieldsSerializer):
    # Reads a hotels.selectors.HotelListing (a docstring would be the schema's description).
    id = serializers.IntegerField(source="hotel.pk", read_only=True)
    name = serializers.CharField(source="hotel.name", read_only=True)
    city = serializers.CharField(source="hotel.city", read_only=True)
    address = serializers.CharField(source="hotel.address", read_only=True)
    room_types = RoomTypeSerializer(many=True, read_only=True)


class StayHotelSerializer(HotelSerializer):
    room_types = StayRoomTypeSerializer(many=True, read_only=True)


class StaffStayHotelSerializer(HotelSerializer):
    room_types = StaffStayRoomTypeSerializer(many=True, read_only=True)

    # DRF's loop: it binds the nested fields, so each night's list reads the
    # stay from the root's context. Staff answers are rare and never cached.
    to_representation = serializers.Serializer.to_representation


def hotel_serializer_class(*, stay: Stay | None, staff: bool) -> type[HotelSerializer]:
    if stay is None:
        return HotelSerializer
    return StaffStayHotelSerializer if staff else StayHotelSerializer


# --- Input ---------------------------------------------------------------------------


class StaySearchSerializer(serializers.Serializer):
    """The stay of a query string: `check_in` and `check_out` together, and
    optionally `rooms` (default 1)."""

    check_in = QueryDateField(required=False)
    check_out = QueryDateField(required=False, help_text="Exclusive: the departure day.")
    rooms = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ROOMS)

    def validate(self, attrs):
        check_in, check_out = attrs.get("check_in"), attrs.get("check_out")
        if check_in is None and check_out is None:
            if "rooms" in attrs:
                raise serializers.ValidationError(
                    {"check_in": [serializers.ErrorDetail("Give a stay for rooms.", "required")]}
                )
            return attrs
        if check_in is None or check_out is None:
            missing = "check_in" if check_in is None else "check_out"
            raise serializers.ValidationError(
                {
                    missing: [
                        serializers.ErrorDetail(
                            "check_in and check_out are given together.", "required"
                        )
                    ]
                }
            )
        nights = (check_out - check_in).days
        if nights < 1 or nights > MAX_STAY_NIGHTS:
            raise serializers.ValidationError(
                {
                    "check_out": [
                        serializers.ErrorDetail(
                            f"check_out must be 1 to {MAX_STAY_NIGHTS} days after check_in.",
                            "invalid_range",
                        )
                    ]
                }
            )
        return attrs

    def stay(self) -> Stay | None:
        return stay_of(self.validated_data)


def stay_of(query: Mapping) -> Stay | None:
    """The stay of a query StaySearchSerializer validated, if it names one."""
    if "check_in" not in query:
        return None
    return Stay(
        check_in=query["check_in"], check_out=query["check_out"], rooms=query.get("rooms", 1)
    )


class HotelSearchSerializer(StaySearchSerializer):
    city = serializers.CharField(required=False, max_length=100)


class RoomTypeCreateSerializer(serializers.Serializer):
    code = StrictCharField(max_length=20, validators=[ROOM_TYPE_CODE])
    name = StrictCharField(max_length=100)
    max_guests = StrictIntegerField(min_value=1, max_value=MAX_GUESTS)


class HotelCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    city = StrictCharField(max_length=100)
    address = StrictCharField(max_length=300)
    room_types = RoomTypeCreateSerializer(many=True, min_length=1, max_length=MAX_ROOM_TYPES)

    def validate_room_types(self, room_types):
        errors: list[dict] = [{} for _ in room_types]
        seen: set[str] = set()
        for index, room_type in enumerate(room_types):
            if room_type["code"] in seen:
                errors[index]["code"] = [
                    serializers.ErrorDetail("This code is given twice.", "duplicate")
                ]
            seen.add(room_type["code"])
        if any(errors):
            raise serializers.ValidationError(errors)
        return room_types


class AvailabilitySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    start = StrictDateField()
    end = StrictDateField(help_text="Exclusive: the last night set is the day before.")
    total_rooms = StrictIntegerField(min_value=0, max_value=MAX_ROOMS)
    price = StrictDecimalField(max_digits=10, decimal_places=2, min_value=0)
    currency = StrictCharField(validators=[CURRENCY_CODE])

    def validate(self, attrs):
        nights = (attrs["end"] - attrs["start"]).days
        if nights < 1 or nights > MAX_AVAILABILITY_NIGHTS:
            raise serializers.ValidationError(
                {
                    "end": [
                        serializers.ErrorDetail(
                            f"end must be 1 to {MAX_AVAILABILITY_NIGHTS} days after start.",
                            "invalid_range",
                        )
                    ]
                }
            )
        return attrs


class AvailabilitySetSerializer(serializers.Serializer):
    nights = serializers.IntegerField(help_text="How many nights were set.")
