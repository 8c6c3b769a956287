from django.core.validators import RegexValidator
from rest_framework import serializers

from config.api.fields import (
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictDateTimeField,
    StrictDecimalField,
    StrictIntegerField,
)
from flights.models import FLIGHT_NUMBER, IATA_CODE, MAX_SEATS, CabinClass, Flight, FlightInventory

CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}\Z", "A currency is an ISO 4217 code: three capitals.")
MAX_CABINS = len(CabinClass.values)


def money_field(**kwargs) -> StrictDecimalField:
    return StrictDecimalField(max_digits=10, decimal_places=2, min_value=0, **kwargs)


# --- Output --------------------------------------------------------------------------


class CabinSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlightInventory
        fields = ["cabin_class", "total_seats", "available_seats", "price", "currency"]
        read_only_fields = fields


class StaffCabinSerializer(CabinSerializer):
    class Meta(CabinSerializer.Meta):
        fields = [*CabinSerializer.Meta.fields, "held_seats", "booked_seats"]
        read_only_fields = fields


class FlightSerializer(serializers.ModelSerializer):
    cabins = CabinSerializer(many=True, read_only=True)

    class Meta:
        model = Flight
        fields = [
            "id",
            "flight_number",
            "origin",
            "destination",
            "departure_at",
            "arrival_at",
            "cabins",
        ]
        read_only_fields = fields


class StaffFlightSerializer(FlightSerializer):
    """What staff see: each cabin also shows its held and booked seats."""

    cabins = StaffCabinSerializer(many=True, read_only=True)


# --- Input ---------------------------------------------------------------------------


class FlightSearchSerializer(serializers.Serializer):
    """The query string of GET /flights/. Codes may be given in lower case."""

    origin = serializers.CharField(required=False, validators=[IATA_CODE])
    destination = serializers.CharField(required=False, validators=[IATA_CODE])
    date = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="UTC departure date, YYYY-MM-DD."
    )
    cabin_class = serializers.ChoiceField(required=False, choices=CabinClass.choices)
    seats = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SEATS)

    def to_internal_value(self, data):
        data = data.copy()
        for key in ("origin", "destination"):
            if isinstance(data.get(key), str):
                data[key] = data[key].upper()
        return super().to_internal_value(data)


class CabinCreateSerializer(serializers.Serializer):
    cabin_class = serializers.ChoiceField(choices=CabinClass.choices)
    total_seats = StrictIntegerField(min_value=0, max_value=MAX_SEATS)
    price = money_field()
    currency = StrictCharField(validators=[CURRENCY_CODE])


class FlightCreateSerializer(serializers.Serializer):
    flight_number = StrictCharField(max_length=7, validators=[FLIGHT_NUMBER])
    origin = StrictCharField(max_length=3, validators=[IATA_CODE])
    destination = StrictCharField(max_length=3, validators=[IATA_CODE])
    departure_at = StrictDateTimeField()
    arrival_at = StrictDateTimeField()
    cabins = CabinCreateSerializer(many=True, min_length=1, max_length=MAX_CABINS)

    def validate(self, attrs):
        errors: dict[str, list] = {}
        if attrs["origin"] == attrs["destination"]:
            errors["destination"] = [
                serializers.ErrorDetail("The destination must differ from the origin.", "same")
            ]
        if attrs["arrival_at"] <= attrs["departure_at"]:
            errors["arrival_at"] = [
                serializers.ErrorDetail("The arrival must be after the departure.", "before")
            ]
        cabin_errors: list[dict] = [{} for _ in attrs["cabins"]]
        seen: set[str] = set()
        currency = attrs["cabins"][0]["currency"]
        for index, cabin in enumerate(attrs["cabins"]):
            if cabin["cabin_class"] in seen:
                cabin_errors[index]["cabin_class"] = [
                    serializers.ErrorDetail("This cabin class is given twice.", "duplicate")
                ]
            seen.add(cabin["cabin_class"])
            if cabin["currency"] != currency:
                cabin_errors[index]["currency"] = [
                    serializers.ErrorDetail(
                        "All cabins of a flight are sold in one currency.", "currency_mismatch"
                    )
                ]
        if any(cabin_errors):
            errors["cabins"] = cabin_errors
        departure_date = Flight.departure_date_of(attrs["departure_at"])
        if Flight.objects.filter(
            flight_number=attrs["flight_number"], departure_date=departure_date
        ).exists():
            errors["flight_number"] = [
                serializers.ErrorDetail(
                    "This flight number already departs on that date.", "duplicate"
                )
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CabinChangeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    total_seats = StrictIntegerField(required=False, min_value=0, max_value=MAX_SEATS)
    price = money_field(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                serializers.ErrorDetail("Give total_seats, price or both.", "required")
            )
        return attrs
