from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

MAX_ROOMS = 100_000

# What staff need, in the admin as in the API: a hotel is added with its room
# types, nights are put on sale (added or changed) a range at once, and a
# stay's nights show to those who may view them.
ADD_HOTEL_PERMISSIONS = ("hotels.add_hotel", "hotels.add_roomtype")
SET_AVAILABILITY_PERMISSIONS = ("hotels.add_roomnight", "hotels.change_roomnight")
VIEW_NIGHTS_PERMISSION = "hotels.view_roomnight"


class Hotel(models.Model):
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100, db_index=True)
    address = models.CharField(max_length=300)

    class Meta:
        ordering = ["city", "name", "id"]
        # Search matches the city in any case (`city__iexact`, UPPER() = UPPER()).
        indexes = [models.Index(Upper("city"), name="hotel_city_upper")]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})"


class RoomType(models.Model):
    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="room_types")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    max_guests = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["hotel_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["hotel", "code"], name="room_type_code_unique_per_hotel"
            ),
            models.CheckConstraint(condition=Q(max_guests__gte=1), name="room_type_has_guests"),
        ]

    def __str__(self) -> str:
        return f"{self.hotel.name} {self.code}"


class RoomNight(models.Model):
    """The rooms of one room type on one night (the date the night starts).
    The counters always add up to the total (a database constraint)."""

    # Indexed by one_room_night_per_date (room_type, date), as for cabins.
    room_type = models.ForeignKey(
        RoomType, on_delete=models.CASCADE, related_name="nights", db_index=False
    )
    date = models.DateField()
    total_rooms = models.PositiveIntegerField()
    available_rooms = models.PositiveIntegerField()
    held_rooms = models.PositiveIntegerField(default=0)
    booked_rooms = models.PositiveIntegerField(default=0)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        ordering = ["room_type_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["room_type", "date"], name="one_room_night_per_date"),
            models.CheckConstraint(
                condition=Q(available_rooms__gte=0, held_rooms__gte=0, booked_rooms__gte=0),
                name="room_nights_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_rooms=F("available_rooms") + F("held_rooms") + F("booked_rooms")),
                name="room_nights_add_up",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="room_price_not_negative"),
        ]
        # The admin's nights of a day, in its order; no counter in it, so a
        # hold's counter update leaves it alone.
        indexes = [models.Index(fields=["date", "room_type"], name="room_night_day")]

    def __str__(self) -> str:
        return f"{self.room_type} {self.date}"

    @property
    def committed_rooms(self) -> int:
        return self.held_rooms + self.booked_rooms
