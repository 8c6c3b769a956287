"""What a hold costs, fixed when it is made: pure functions over the locked
inventory rows' prices."""

from collections.abc import Sequence
from decimal import Decimal

from bookings.models import FlightItem, HotelItem
from bookings.services.availability import Cabins, Nights
from bookings.services.requests import FlightRequest, ItemRequest
from config.exceptions import ValidationFailed


def priced_items(
    items: Sequence[ItemRequest], cabins: Cabins, nights: Nights
) -> list[FlightItem | HotelItem]:
    """The booking's items in request order, each with its unit price (a seat;
    a room for the whole stay, the sum of its nights) and line total."""
    return [_priced(i, item, cabins, nights) for i, item in enumerate(items)]


def _priced(position: int, item: ItemRequest, cabins: Cabins, nights: Nights):
    if isinstance(item, FlightRequest):
        cabin = cabins[(item.flight_id, item.cabin_class)]
        return FlightItem(
            position=position,
            inventory=cabin,
            seats=item.seats,
            unit_price=cabin.price,
            line_total=cabin.price * item.seats,
        )
    stay_price = sum(nights[(item.room_type_id, night)].price for night in item.nights())
    return HotelItem(
        position=position,
        room_type_id=item.room_type_id,
        check_in=item.check_in,
        check_out=item.check_out,
        rooms=item.rooms,
        unit_price=stay_price,
        line_total=stay_price * item.rooms,
    )


def total_price(items: Sequence[FlightItem | HotelItem]) -> Decimal:
    return sum((item.line_total for item in items), Decimal("0.00"))


def one_currency(cabins: Cabins, nights: Nights) -> str:
    """The currency every item is sold in; a 400 if they differ."""
    currencies = {row.currency for row in [*cabins.values(), *nights.values()]}
    if len(currencies) > 1:
        raise ValidationFailed(
            [
                {
                    "field": "items",
                    "code": "mixed_currencies",
                    "detail": "All items of a booking must be in one currency.",
                }
            ]
        )
    return currencies.pop()
