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

    # Indexed by one_inventory_per_cabin (flight, cabin_class): a second index
    # on the flight alone would only cost every counter update more.
    flight = models.ForeignKey(
        Flight, on_delete=models.CASCADE, related_name="cabins", db_index=False
    )
    cabin_class = models.CharField(max_length=16, choices=CabinClass.choices)
    total_seats = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_SEATS)])
    available_seats = models.PositiveIntegerField()
    held_seats = models.PositiveIntegerField(default=0)
    booked_seats = models.PositiveIntegerField(default=0)
    # Seats staff took off sale (a cabin with a seat map only). The database's
    # own defaults too, so bulk inserts that predate seat maps still add up.
    blocked_seats = models.PositiveIntegerField(default=0, db_default=0)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="EUR")
    # The seat map's layout, e.g. "ABC DEF" (a space is an aisle); empty for a
    # cabin sold by count only. Read from the locked cabin row, it tells a hold
    # whether to touch Seat rows at all, so a cabin without a map costs nothing more.
    seat_columns = models.CharField(max_length=60, blank=True, default="", db_default="")
    first_row = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "cabin"
        verbose_name_plural = "cabins"
        ordering = ["flight_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flight", "cabin_class"], name="one_inventory_per_cabin"
            ),
            models.CheckConstraint(
                condition=Q(
                    available_seats__gte=0,
                    held_seats__gte=0,
                    booked_seats__gte=0,
                    blocked_seats__gte=0,
                ),
                name="flight_seats_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_seats=F("available_seats")
                    + F("held_seats")
                    + F("booked_seats")
                    + F("blocked_seats")
                ),
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

    @property
    def has_seat_map(self) -> bool:
        return bool(self.seat_columns)


class SeatPosition(models.TextChoices):
    WINDOW = "window", "Window"
    MIDDLE = "middle", "Middle"
    AISLE = "aisle", "Aisle"


class Seat(models.Model):
    """One seat of a cabin with a seat map. Whether it is held or booked is
    its active assignment (bookings.SeatAssignment); `blocked` is staff's."""

    inventory = models.ForeignKey(FlightInventory, on_delete=models.CASCADE, related_name="seats")
    row = models.PositiveIntegerField()
    # The seat's index in the layout string, aisles counted: two seats of a row
    # are side by side when their columns differ by one.
    column = models.PositiveSmallIntegerField()
    number = models.CharField(max_length=8)
    position = models.CharField(max_length=6, choices=SeatPosition.choices)
    blocked = models.BooleanField(default=False)

    class Meta:
        ordering = ["inventory_id", "row", "column"]
        constraints = [
            models.UniqueConstraint(fields=["inventory", "number"], name="seat_number_unique"),
            models.UniqueConstraint(
                fields=["inventory", "row", "column"], name="seat_place_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.number


def seat_layout(first_row: int, rows: int, columns: str) -> list[Seat]:
    """The seats of a layout such as "ABC DEF" (a space is an aisle), row by
    row: a seat at either end of the row is by a window, one next to an aisle
    on the aisle, any other in the middle."""
    last = len(columns) - 1
    positions = []
    for index, letter in enumerate(columns):
        if letter == " ":
            continue
        if index in (0, last):
            position = SeatPosition.WINDOW
        elif " " in (columns[index - 1], columns[index + 1]):
            position = SeatPosition.AISLE
        else:
            position = SeatPosition.MIDDLE
        positions.append((index, letter, position))
    return [
        Seat(row=row, column=index, number=f"{row}{letter}", position=position)
        for row in range(first_row, first_row + rows)
        for index, letter, position in positions
    ]
