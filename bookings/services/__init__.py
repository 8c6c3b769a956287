"""Every write to bookings, one module per thing the business does:

- `hold`: take items out of sale for a while, at most once per Idempotency-Key;
- `confirm`, `cancel`, `extend`, `expire`: what happens to a hold after;
- `transition`: the one path every status change takes (lock, check, history,
  event, units);
- `availability`, `pricing`: pure functions over the locked inventory rows;
- `inventory`: locking and moving the seat and room counters;
- `statements`: the three writes kept in SQL, each with its measured gain.
"""

from bookings.services.cancel import cancel_booking, cancel_booking_named, cancellation_quote
from bookings.services.confirm import confirm_booking
from bookings.services.expire import expire_bookings, expire_overdue_holds
from bookings.services.extend import extend_booking
from bookings.services.hold import HoldResult, hold_booking
from bookings.services.requests import FlightRequest, HotelRequest, ItemRequest

__all__ = [
    "FlightRequest",
    "HoldResult",
    "HotelRequest",
    "ItemRequest",
    "cancel_booking",
    "cancel_booking_named",
    "cancellation_quote",
    "confirm_booking",
    "expire_bookings",
    "expire_overdue_holds",
    "extend_booking",
    "hold_booking",
]
