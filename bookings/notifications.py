"""What a customer email says about a booking: its customer's address and
its itinerary, read when the email is sent (events/emails.py asks through
the reader registered in BookingsConfig.ready, as events sits below bookings)."""

from decimal import Decimal

from bookings.models import Booking
from events.emails import Letter
from events.models import Event


def booking_letter(event: Event) -> Letter | None:
    """The customer and itinerary of the event's booking; None when the event
    names no booking we have. The booking's figures are the event's own (as
    the customer saw them at that moment); the itinerary is read now."""
    data = event.data.get("booking") or {}
    booking = (
        Booking.objects.filter(reference=data.get("reference"))
        .select_related("customer")
        .prefetch_related("flight_items__inventory__flight", "hotel_items__room_type__hotel")
        .first()
    )
    if booking is None:
        return None
    flights = [
        {
            "flight": item.inventory.flight,
            "cabin_class": item.inventory.get_cabin_class_display(),
            "seats": item.seats,
            "seat_numbers": seat_numbers_in(data, item.position),
        }
        for item in booking.flight_items.all()
    ]
    stays = [
        {
            "hotel": item.room_type.hotel,
            "room_type": item.room_type,
            "check_in": item.check_in,
            "check_out": item.check_out,
            "rooms": item.rooms,
        }
        for item in booking.hotel_items.all()
    ]
    return Letter(
        recipient=booking.customer.email,
        context={
            "customer": booking.customer,
            "booking": data,
            "flights": flights,
            "stays": stays,
            "payment": event.data.get("payment"),
            "refund": event.data.get("refund") or refund_of(event),
        },
    )


def seat_numbers_in(data: dict, position: int) -> list[str]:
    """The seats the event's booking gives its item at `position` (its items
    are listed in position order), as the customer saw them at that moment:
    [] for a cabin without a seat map or a booking whose seats were freed."""
    items = data.get("items") or []
    if position >= len(items):
        return []
    return items[position].get("seat_numbers") or []


def refund_of(event: Event) -> dict | None:
    """A cancel's refund, as its event's booking records it."""
    booking = event.data.get("booking") or {}
    amount = booking.get("refunded_amount")
    if event.type != "booking.cancelled" or not amount or Decimal(amount) <= 0:
        return None
    return {"amount": amount, "currency": booking.get("currency")}
