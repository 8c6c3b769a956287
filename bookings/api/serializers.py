import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from bookings import selectors
from bookings.models import MONEY_DIGITS, BookingStatus, FlightItem
from bookings.services import FlightRequest, HotelRequest
from config.api.fields import (
    StrictCharField,
    StrictDateField,
    StrictDecimalField,
    StrictIntegerField,
)
from config.api.serializers import DeclaredFieldsSerializer
from flights.models import CabinClass

MAX_ITEMS = 10
MAX_UNITS = 9
MAX_NIGHTS = 30
MAX_ID = 2**63 - 1


class FlightItemRequestSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["flight"])
    flight_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    cabin_class = serializers.ChoiceField(choices=CabinClass.choices)
    seats = StrictIntegerField(min_value=1, max_value=MAX_UNITS)
    seat_numbers = serializers.ListField(
        child=StrictCharField(max_length=8), required=False, max_length=MAX_UNITS
    )

    def validate(self, attrs):
        numbers = attrs.get("seat_numbers")
        if numbers is not None:
            _check_seat_numbers(numbers, attrs["seats"])
        return attrs

    def to_request(self) -> FlightRequest:
        data = self.validated_data
        return FlightRequest(
            data["flight_id"],
            data["cabin_class"],
            data["seats"],
            tuple(number.upper() for number in data.get("seat_numbers", ())),
        )


def _check_seat_numbers(numbers: list[str], seats: int) -> None:
    """Exactly `seats` distinct seat numbers (any case)."""
    if len(numbers) != seats:
        detail = f"Give exactly {seats} seat number(s), one per seat."
        code = "count_mismatch"
    elif len({number.upper() for number in numbers}) != len(numbers):
        detail, code = "A seat number is given twice.", "duplicate"
    else:
        return
    raise serializers.ValidationError({"seat_numbers": serializers.ErrorDetail(detail, code)})


class HotelItemRequestSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["hotel"])
    room_type_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    check_in = StrictDateField()
    check_out = StrictDateField()
    rooms = StrictIntegerField(min_value=1, max_value=MAX_UNITS)

    def validate_check_in(self, value):
        if value < datetime.now(UTC).date():
            raise serializers.ValidationError("check_in is in the past.", code="in_the_past")
        return value

    def validate(self, attrs):
        nights = (attrs["check_out"] - attrs["check_in"]).days
        if nights < 1:
            raise serializers.ValidationError(
                {
                    "check_out": serializers.ErrorDetail(
                        "check_out must be after check_in.", code="before_check_in"
                    )
                }
            )
        if nights > MAX_NIGHTS:
            raise serializers.ValidationError(
                {
                    "check_out": serializers.ErrorDetail(
                        f"A stay is at most {MAX_NIGHTS} nights.", code="too_long"
                    )
                }
            )
        return attrs

    def to_request(self) -> HotelRequest:
        data = self.validated_data
        return HotelRequest(
            data["room_type_id"], data["check_in"], data["check_out"], data["rooms"]
        )


ITEM_SERIALIZERS = {"flight": FlightItemRequestSerializer, "hotel": HotelItemRequestSerializer}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="BookingItemRequest",
        serializers={"flight": FlightItemRequestSerializer, "hotel": HotelItemRequestSerializer},
        resource_type_field_name="type",
        many=True,
    )
)
class ItemsField(serializers.ListField):
    """1 to 10 items, each a flight or a hotel item by its `type`."""

    child = serializers.DictField()

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=MAX_ITEMS, **kwargs)

    def to_internal_value(self, data):
        raw = super().to_internal_value(data)
        parsed, errors = [], []
        for item in raw:
            kind = item.get("type")
            serializer_class = ITEM_SERIALIZERS.get(kind) if isinstance(kind, str) else None
            if serializer_class is None:
                errors.append(
                    {
                        "type": [
                            serializers.ErrorDetail(
                                'type must be "flight" or "hotel".', code="invalid_choice"
                            )
                        ]
                    }
                )
                continue
            serializer = serializer_class(data=item)
            if serializer.is_valid():
                parsed.append(serializer.to_request())
                errors.append({})
            else:
                errors.append(serializer.errors)
        if any(errors):
            raise serializers.ValidationError(errors)
        return parsed


def _limit_seats_per_cabin(items: list) -> None:
    """At most MAX_UNITS seats of one flight cabin in one booking, however
    the items split them: the error names the item that goes over."""
    seats: dict[tuple[int, str], int] = {}
    errors = [{} for _ in items]
    for i, item in enumerate(items):
        if isinstance(item, FlightRequest):
            cabin = (item.flight_id, item.cabin_class)
            seats[cabin] = seats.get(cabin, 0) + item.seats
            if seats[cabin] > MAX_UNITS:
                detail = f"At most {MAX_UNITS} seats of one flight cabin in one booking."
                errors[i] = {"seats": [serializers.ErrorDetail(detail, code="max_value")]}
                raise serializers.ValidationError(errors)


class BookingCreateSerializer(serializers.Serializer):
    items = ItemsField()

    def validate_items(self, items):
        _limit_seats_per_cabin(items)
        return items

    @staticmethod
    def fingerprint(data) -> str:
        """The request body, canonically: the same JSON in any key order."""
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


class ConfirmSerializer(serializers.Serializer):
    payment_reference = StrictCharField(min_length=1, max_length=100)


class CancelSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True)
    # Staff's alone: any amount from 0 to what was paid, instead of the policy's.
    refund_amount = StrictDecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, min_value=Decimal("0"), required=False
    )


class CancellationQuoteSerializer(serializers.Serializer):
    refund_amount = serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    currency = serializers.CharField()
    refund_percent = serializers.IntegerField()
    deadline = serializers.DateTimeField(allow_null=True)


class BookingItemSerializer(serializers.Serializer):
    """A flight or a hotel item: its request fields, `unit_price` and `line_total`."""

    type = serializers.CharField()
    flight_id = serializers.IntegerField(required=False)
    cabin_class = serializers.CharField(required=False)
    seats = serializers.IntegerField(required=False)
    room_type_id = serializers.IntegerField(required=False)
    check_in = serializers.DateField(required=False)
    check_out = serializers.DateField(required=False)
    rooms = serializers.IntegerField(required=False)
    seat_numbers = serializers.ListField(child=serializers.CharField(), required=False)
    unit_price = serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)

    def to_representation(self, item):
        if isinstance(item, FlightItem):
            return {
                "type": "flight",
                "flight_id": item.inventory.flight_id,
                "cabin_class": item.inventory.cabin_class,
                "seats": item.seats,
                "seat_numbers": selectors.seat_numbers_of(item),
                "unit_price": f"{item.unit_price:.2f}",
                "line_total": f"{item.line_total:.2f}",
            }
        return {
            "type": "hotel",
            "room_type_id": item.room_type_id,
            "check_in": item.check_in.isoformat(),
            "check_out": item.check_out.isoformat(),
            "rooms": item.rooms,
            "unit_price": f"{item.unit_price:.2f}",
            "line_total": f"{item.line_total:.2f}",
        }


_ITEM = BookingItemSerializer()


# Declared field by field rather than a ModelSerializer: it is built for every
# answer of a hold, and a ModelSerializer introspects the model each time
# (profiled: most of the serializer's cost). (A comment, not a docstring: the
# schema would show it.)
class BookingSerializer(DeclaredFieldsSerializer):
    reference = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=BookingStatus.choices, source="effective_status")
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    payment_reference = serializers.CharField(read_only=True, allow_null=True)
    total_price = serializers.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, read_only=True
    )
    currency = serializers.CharField(read_only=True)
    refunded_amount = serializers.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, read_only=True
    )
    cancel_reason = serializers.CharField(read_only=True)
    items = serializers.SerializerMethodField()

    @extend_schema_field(BookingItemSerializer(many=True))
    def get_items(self, booking):
        # A view that already has the booking's items (a hold just wrote them,
        # a transition read them) passes them in `context["items"]`.
        items = self.context.get("items")
        if items is None:
            items = selectors.booking_items(booking)
        return [_ITEM.to_representation(item) for item in items]


class BookingListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
