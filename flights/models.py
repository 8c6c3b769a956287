from datetime import UTC, date, datetime

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q

IATA_CODE = RegexValidator(r"^[A-Z]{3}\Z", "An IATA airport code is three capital letters.")
FLIGHT_NUMBER = RegexValidator(
    r"^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?\Z",
    "A flight number is 2 letters or digits, 1 to 4 digits and an optional letter.",
)
MAX_SEATS = 100_000

# What staff need, in the admin as in the API: a new flight is added with its
# cabins, a cabin is changed on its flight's page, and the seat counters show
# to those who may view cabins.
ADD_FLIGHT_PERMISSIONS = ("flights.add_flight", "flights.add_flightinventory")
CHANGE_CABIN_PERMISSIONS = ("flights.change_flight", "flights.change_flightinventory")
VIEW_CABIN_COUNTERS_PERMISSION = "flights.view_flightinventory"


class UtcDate(Func):
    """The UTC calendar date of a timestamp with time zone. Immutable, as a
    generated column needs (TruncDate's time zone cannot be written into a
    migration)."""

    template = "((%(expressions)s AT TIME ZONE 'UTC')::date)"
    output_field = models.DateField()


class CabinClass(models.TextChoices):
    ECONOMY = "economy", "Economy"
    PREMIUM_ECONOMY = "premium_economy", "Premium economy"
    BUSINESS = "business", "Business"
    FIRST = "first", "First"


class Flight(models.Model):
    flight_number = models.CharField(max_length=7, validators=[FLIGHT_NUMBER])
    origin = models.CharField(max_length=3, validators=[IATA_CODE])
    destination = models.CharField(max_length=3, validators=[IATA_CODE])
    departure_at = models.DateTimeField()
    arrival_at = models.DateTimeField()
    # The UTC date of departure: what searches filter on and what makes a
    # flight number unique. Computed by PostgreSQL (a stored generated
    # column), so no write, bulk or raw, can leave it out of step.
    departure_date = models.GeneratedField(
        expression=UtcDate("departure_at"),
        output_field=models.DateField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["departure_at", "flight_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["flight_number", "departure_date"], name="flight_number_unique_per_day"
            ),
            models.CheckConstraint(
                condition=~Q(origin=F("destination")), name="flight_origin_not_destination"
            ),
            models.CheckConstraint(
                condition=Q(arrival_at__gt=F("departure_at")), name="flight_arrives_after_departure"
            ),
        ]
        indexes = [
            models.Index(
                fields=["origin", "destination", "departure_date"], name="flight_route_day"
            ),
            models.Index(fields=["departure_date"], name="flight_day"),
        ]

    def __str__(self) -> str:
        return f"{self.flight_number} {self.origin}→{self.destination} {self.departure_date}"

    @staticmethod
    def departure_date_of(departure_at: datetime) -> date:
        """The `departure_date` PostgreSQL will store for `departure_at`, for
        checks made before the row exists."""
        return departure_at.astimezone(UTC).date()


class FlightInventory(models.Model):
    """The seats of one cabin on one flight. The counters always add up to the
    total (a database constraint) and move only in `flights.services`/bookings."""

    flight = models.ForeignKey(Flight, on_delete=models.CASCADE, related_name="cabins")
    cabin_class = models.CharField(max_length=16, choices=CabinClass.choices)
    total_seats = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_SEATS)])
    available_seats = models.PositiveIntegerField()
    held_seats = models.PositiveIntegerField(default=0)
    booked_seats = models.PositiveIntegerField(default=0)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        verbose_name = "cabin"
        verbose_name_plural = "cabins"
        ordering = ["flight_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flight", "cabin_class"], name="one_inventory_per_cabin"
            ),
            models.CheckConstraint(
                condition=Q(available_seats__gte=0, held_seats__gte=0, booked_seats__gte=0),
                name="flight_seats_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_seats=F("available_seats") + F("held_seats") + F("booked_seats")),
                name="flight_seats_add_up",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="flight_price_not_negative"),
        ]
        indexes = [models.Index(fields=["cabin_class", "available_seats"], name="cabin_available")]

    def __str__(self) -> str:
        return f"{self.flight} {self.cabin_class}"

    @property
    def committed_seats(self) -> int:
        return self.held_seats + self.booked_seats
