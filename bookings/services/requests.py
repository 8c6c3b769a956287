"""What a customer asks a hold for: value types the API's serializers build."""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class FlightRequest:
    flight_id: int
    cabin_class: str
    seats: int
    # The seats chosen on a cabin with a seat map; empty: the service picks.
    seat_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class HotelRequest:
    room_type_id: int
    check_in: date
    check_out: date
    rooms: int

    def nights(self) -> list[date]:
        return [
            self.check_in + timedelta(days=i) for i in range((self.check_out - self.check_in).days)
        ]


ItemRequest = FlightRequest | HotelRequest
