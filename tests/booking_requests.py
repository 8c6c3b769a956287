"""The API's booking request bodies, and the POST that makes a hold with them.
Bodies are plain data, so race workers in spawned processes can unpickle them.
Holds made without HTTP are in `tests.holds`."""

from datetime import date, timedelta

BOOKINGS_URL = "/api/v1/bookings/"


def flight_item(cabin, seats: int = 1) -> dict:
    return {
        "type": "flight",
        "flight_id": cabin.flight_id,
        "cabin_class": str(cabin.cabin_class),
        "seats": seats,
    }


def hotel_item(
    room_type,
    *,
    check_in: date | None = None,
    start_in_days: int = 2,
    nights: int = 3,
    rooms: int = 1,
) -> dict:
    """A stay from `check_in`, or else from `start_in_days` after today."""
    if check_in is None:
        check_in = date.today() + timedelta(days=start_in_days)
    return {
        "type": "hotel",
        "room_type_id": room_type.pk,
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(),
        "rooms": rooms,
    }


def booking_url(reference: str, action: str | None = None) -> str:
    return f"{BOOKINGS_URL}{reference}/" + (f"{action}/" if action else "")


def hold_through_api(client, *items: dict, key: str | None = None):
    """POST a booking of `items`; `key` is sent as Idempotency-Key."""
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(BOOKINGS_URL, {"items": list(items)}, format="json", **headers)
