"""Holds made through the services, as production makes them (so counters and
bookings agree), and overdue holds without waiting out the hold time. The API's
own way in is `tests.booking_requests.hold_through_api`."""

from datetime import timedelta

from django.utils import timezone

from bookings import services
from bookings.models import Booking
from hotels.models import RoomNight


def hold_through_services(
    customer, cabin=None, seats: int = 1, room_type=None, rooms: int = 1, nights: int = 2
) -> Booking:
    """`seats` of `cabin` and/or `rooms` of `room_type` for `nights` nights
    from the first night the room type is on sale, in one booking."""
    items = []
    if cabin is not None:
        items.append(services.FlightRequest(cabin.flight_id, cabin.cabin_class, seats))
    if room_type is not None:
        check_in = (
            RoomNight.objects.filter(room_type=room_type)
            .order_by("date")
            .values_list("date", flat=True)
            .first()
        )
        assert check_in is not None, "the room type has no night on sale"
        items.append(
            services.HotelRequest(room_type.pk, check_in, check_in + timedelta(days=nights), rooms)
        )
    return services.hold_booking(customer=customer, items=items).booking


def make_overdue(*bookings: Booking | str) -> None:
    """Put the holds' `expires_at` a minute in the past, straight in the
    database (no sleeping, no sweep): overdue, but still stored as held.
    Takes bookings or their references (what the API answers); bookings
    passed in are updated in memory too."""
    now = timezone.now()
    created_at, expires_at = now - timedelta(hours=1), now - timedelta(minutes=1)
    references = {b if isinstance(b, str) else b.reference for b in bookings}
    updated = Booking.objects.filter(reference__in=references).update(
        created_at=created_at, expires_at=expires_at
    )
    assert updated == len(references), f"only {updated} of {sorted(references)} found"
    for booking in bookings:
        if isinstance(booking, Booking):
            booking.created_at, booking.expires_at = created_at, expires_at
