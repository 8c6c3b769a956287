from django.core.validators import RegexValidator
from rest_framework import serializers

from config.api.fields import (
    QueryDateField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictDateTimeField,
    StrictDecimalField,
    StrictIntegerField,
)
from flights.models import FLIGHT_NUMBER, IATA_CODE, MAX_SEATS, CabinClass, Flight, FlightInventory

CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}\Z", "A currency is an ISO 4217 code: three capitals.")
MAX_CABINS = len(CabinClass.values)
# Capital letters in groups, one space between groups (an aisle): "ABC DEF".
SEAT_COLUMNS = RegexValidator(
    r"^[A-Z]+( [A-Z]+)*\Z", "Seat columns are capital letters, a single space for an aisle."
)


def money_field(**kwargs) -> StrictDecimalField:
    return StrictDecimalField(max_digits=10, decimal_places=2, min_value=0, **kwargs)


# --- Output --------------------------------------------------------------------------


class CabinSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlightInventory
        fields = [
            "cabin_class",
            "total_seats",
            "available_seats",
            "price",
            "currency",
            "has_seat_map",
        ]
        read_only_fields = fields


class StaffCabinSerializer(CabinSerializer):
    class Meta(CabinSerializer.Meta):
        fields = [*CabinSerializer.Meta.fields, "held_seats", "booked_seats", "blocked_seats"]
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
    date = QueryDateField(required=False, help_text="UTC departure date, YYYY-MM-DD.")
    cabin_class = serializers.ChoiceField(required=False, choices=CabinClass.choices)
    seats = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SEATS)

    def to_internal_value(self, data):
        data = data.copy()
        for key in ("origin", "destination"):
            if isinstance(data.get(key), str):
                data[key] = data[key].upper()
        return super().to_internal_value(data)


class SeatMapSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    first_row = StrictIntegerField(min_value=1, max_value=999)
    rows = StrictIntegerField(min_value=1, max_value=MAX_SEATS)
    columns = StrictCharField(
        trim_whitespace=False,
        max_length=FlightInventory._meta.get_field("seat_columns").max_length,
        validators=[SEAT_COLUMNS],
    )

    def validate_columns(self, value):
        letters = value.replace(" ", "")
        if len(set(letters)) != len(letters):
            raise serializers.ValidationError("A letter appears twice.", code="duplicate")
        return value


class CabinCreateSerializer(serializers.Serializer):
    cabin_class = serializers.ChoiceField(choices=CabinClass.choices)
    total_seats = StrictIntegerField(min_value=0, max_value=MAX_SEATS, required=False)
    price = money_field()
    currency = StrictCharField(validators=[CURRENCY_CODE])
    seat_map = SeatMapSerializer(required=False)

    def to_internal_value(self, data):
        """`total_seats` is required without a seat map: said with the other
        fields' errors, not after them."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            missing = isinstance(data, dict) and not {"total_seats", "seat_map"} & set(data)
            if missing and isinstance(exc.detail, dict):
                required = serializers.ErrorDetail("This field is required.", "required")
                exc.detail.setdefault("total_seats", [required])
            raise

    def validate(self, attrs):
        """With a seat map the seats make the total (a different one is a 400)."""
        seat_map = attrs.get("seat_map")
        if seat_map is None:
            if "total_seats" not in attrs:
                raise serializers.ValidationError(
                    {"total_seats": serializers.ErrorDetail("This field is required.", "required")}
                )
            return attrs
        seats = seat_map["rows"] * len(seat_map["columns"].replace(" ", ""))
        if seats > MAX_SEATS:
            detail = f"A cabin has at most {MAX_SEATS} seats."
            raise serializers.ValidationError(
                {"seat_map": serializers.ErrorDetail(detail, "max_value")}
            )
        if attrs.setdefault("total_seats", seats) != seats:
            detail = f"The seat map has {seats} seats."
            raise serializers.ValidationError(
                {"total_seats": serializers.ErrorDetail(detail, "seat_map_mismatch")}
            )
        return attrs


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
