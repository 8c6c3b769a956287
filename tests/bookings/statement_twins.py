"""The ORM twins of bookings/services/statements.py: the same writes, said
in plain Django. tests/bookings/test_statements.py checks that each pair
leaves the database in the same state; swapping a twin in for its statement
is how the README's side-by-side ratio of each statement was measured."""

from django.db.models import F

from bookings.models import FlightItem, HotelItem, SeatAssignment
from events.models import Event
from flights.models import FlightInventory
from hotels.models import RoomNight


def move_counters(model, units_by_row, *, source, target):
    list(model.objects.select_for_update(no_key=True).filter(pk__in=units_by_row).order_by("pk"))
    for pk, n in units_by_row.items():
        model.objects.filter(pk=pk).update(**{source: F(source) - n, target: F(target) + n})


def insert_held_booking(booking, items, history, event, *, seats, rooms, seat_assignments=()):
    booking.save(force_insert=True)
    for item in [*items, *seat_assignments]:
        item.booking = booking
    FlightItem.objects.bulk_create([i for i in items if isinstance(i, FlightItem)])
    HotelItem.objects.bulk_create([i for i in items if isinstance(i, HotelItem)])
    SeatAssignment.objects.bulk_create(seat_assignments)
    history.booking = booking
    history.save()
    event.save(force_insert=True)
    for model, units, unit in ((FlightInventory, seats, "seats"), (RoomNight, rooms, "rooms")):
        for pk, n in units.items():
            model.objects.filter(pk=pk).update(
                **{
                    f"available_{unit}": F(f"available_{unit}") - n,
                    f"held_{unit}": F(f"held_{unit}") + n,
                }
            )
    return True


def change_status(bookings, history, events, fields, seat_holders=()):
    type(bookings[0]).objects.filter(pk__in=[b.pk for b in bookings]).update(
        status=history[0].to_status, **fields
    )
    if seat_holders:
        SeatAssignment.objects.filter(booking__in=seat_holders, active=True).update(active=False)
    type(history[0]).objects.bulk_create(history)
    Event.objects.bulk_create(events)
