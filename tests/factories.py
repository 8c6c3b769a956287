"""factory_boy factories for the models. Inventory factories keep the counters
adding up: `available` is derived from total minus held and booked."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from flights.models import CabinClass, Flight, FlightInventory, Seat, seat_layout
from hotels.models import Hotel, RoomNight, RoomType


def _utc_today() -> date:
    """The service's dates are UTC dates, whatever the machine's time zone."""
    return datetime.now(UTC).date()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class FlightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flight

    flight_number = factory.Sequence(lambda n: f"TS{n % 10000}")
    origin = "HAN"
    destination = "SGN"
    departure_at = factory.LazyFunction(
        lambda: (
            datetime.combine(_utc_today() + timedelta(days=10), datetime.min.time(), UTC)
            + timedelta(hours=8)
        )
    )
    arrival_at = factory.LazyAttribute(lambda f: f.departure_at + timedelta(hours=2))


class FlightInventoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlightInventory

    flight = factory.SubFactory(FlightFactory)
    cabin_class = CabinClass.ECONOMY
    total_seats = 100
    held_seats = 0
    booked_seats = 0
    available_seats = factory.LazyAttribute(lambda c: c.total_seats - c.held_seats - c.booked_seats)
    price = Decimal("129.00")
    currency = "EUR"


class HotelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hotel

    name = factory.Sequence(lambda n: f"Hotel {n}")
    city = "Hanoi"
    address = factory.Sequence(lambda n: f"{n} Trang Tien")


class RoomTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomType

    hotel = factory.SubFactory(HotelFactory)
    code = factory.Sequence(lambda n: f"DBL{n}")
    name = "Double room"
    max_guests = 2


class RoomNightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomNight

    room_type = factory.SubFactory(RoomTypeFactory)
    date = factory.LazyFunction(lambda: _utc_today() + timedelta(days=10))
    total_rooms = 10
    held_rooms = 0
    booked_rooms = 0
    available_rooms = factory.LazyAttribute(lambda n: n.total_rooms - n.held_rooms - n.booked_rooms)
    price = Decimal("80.00")
    currency = "EUR"


def put_nights_on_sale(room_type, start: date, nights: int, rooms: int = 10, price="80.00"):
    """Every night of `[start, start + nights)` on sale with `rooms` rooms."""
    return [
        RoomNightFactory(
            room_type=room_type,
            date=start + timedelta(days=i),
            total_rooms=rooms,
            price=Decimal(price),
        )
        for i in range(nights)
    ]


def seat_mapped_cabin(
    *, rows: int = 3, columns: str = "ABC DEF", first_row: int = 10, **fields
) -> FlightInventory:
    """A cabin with a seat map, all of it on sale, as `create_flight` makes one."""
    seats = seat_layout(first_row, rows, columns)
    cabin = FlightInventoryFactory(
        total_seats=len(seats), seat_columns=columns, first_row=first_row, **fields
    )
    for seat in seats:
        seat.inventory = cabin
    Seat.objects.bulk_create(seats)
    return cabin
