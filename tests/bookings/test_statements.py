"""Each hand-written statement of bookings/services/statements.py against its
ORM twin (tests/bookings/statement_twins.py): the same hold and cancel, made
once with each, leave the same rows behind."""

from datetime import date, timedelta

import pytest
from django.forms.models import model_to_dict

from bookings import services
from bookings.models import BookingStatusChange, FlightItem, HotelItem, SeatAssignment
from bookings.services import statements
from events.models import Event
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.bookings import statement_twins
from tests.factories import (
    FlightInventoryFactory,
    RoomTypeFactory,
    UserFactory,
    put_nights_on_sale,
    seat_mapped_cabin,
)

pytestmark = pytest.mark.django_db

STATEMENTS = ("move_counters", "insert_held_booking", "change_status")


def hold_and_cancel(customer, cabin, room_type, check_in, mapped):
    """A hold of seats (some chosen and some picked on a cabin with a seat
    map) and rooms, a second hold, and a cancel of the first; returns the
    state of every row they wrote, without ids and times."""
    items = [
        services.FlightRequest(cabin.flight_id, cabin.cabin_class, 2),
        services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=2), 1),
        services.FlightRequest(mapped.flight_id, mapped.cabin_class, 2, ("11B", "10F")),
        services.FlightRequest(mapped.flight_id, mapped.cabin_class, 1),
    ]
    first = services.hold_booking(customer=customer, items=items).booking
    services.hold_booking(customer=customer, items=items[:1] + items[3:])
    services.cancel_booking(booking=first, actor=customer)
    return state(customer, cabin, room_type, mapped)


def state(customer, cabin, room_type, mapped) -> dict:
    """The rows of this customer's bookings and their inventory, without what
    differs between two runs (ids, keys to the run's own rows, times)."""
    ignored = {"id", "booking", "reference", "created_at", "expires_at", "cancelled_at", "at"}
    ignored |= {"flight", "inventory", "room_type", "customer", "actor"}
    references = set(customer.bookings.values_list("reference", flat=True))

    def rows(queryset):
        return [
            {k: v for k, v in model_to_dict(row).items() if k not in ignored} for row in queryset
        ]

    return {
        "cabin": rows(FlightInventory.objects.filter(pk__in=[cabin.pk, mapped.pk])),
        "seats": list(
            SeatAssignment.objects.filter(booking__customer=customer)
            .order_by("pk")
            .values_list("booking__status", "item_position", "seat__number", "active")
        ),
        "nights": rows(RoomNight.objects.filter(room_type=room_type).order_by("date")),
        "bookings": rows(customer.bookings.order_by("pk")),
        "flight items": rows(FlightItem.objects.filter(booking__customer=customer).order_by("pk")),
        "hotel items": rows(HotelItem.objects.filter(booking__customer=customer).order_by("pk")),
        "history": rows(
            BookingStatusChange.objects.filter(booking__customer=customer).order_by("pk")
        ),
        "events": [
            (e.type, e.data["booking"]["status"], e.data["booking"]["total_price"])
            for e in Event.objects.order_by("id")
            if e.data["booking"]["reference"] in references
        ],
    }


@pytest.mark.parametrize("name", STATEMENTS)
def test_each_statement_leaves_the_state_its_orm_twin_does(name, monkeypatch):
    check_in = date.today() + timedelta(days=30)
    figures = []
    for twin in (False, True):
        if twin:
            monkeypatch.setattr(statements, name, getattr(statement_twins, name))
        cabin = FlightInventoryFactory(total_seats=10, price="100.00")
        room_type = RoomTypeFactory()
        put_nights_on_sale(room_type, check_in, 2, rooms=5)
        mapped = seat_mapped_cabin(rows=2)
        figures.append(hold_and_cancel(UserFactory(), cabin, room_type, check_in, mapped))
    with_statement, with_twin = figures
    assert with_statement == with_twin
    assert with_statement["seats"] == [
        ("released", 2, "11B", False),
        ("released", 2, "10F", False),
        ("released", 3, "10A", False),
        ("held", 1, "10B", True),
    ]
    assert [e[0] for e in with_statement["events"]] == [
        "booking.held",
        "booking.held",
        "booking.released",
    ]
