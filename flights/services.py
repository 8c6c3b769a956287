"""Every write to flights and their seat counters."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NotRequired, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import F, Value

from config import search_cache
from config.exceptions import CapacityBelowCommitted, ValidationFailed
from flights.models import Flight, FlightInventory, Seat, seat_layout

# --- Flights and their cabins, for staff -----------------------------------------------


class SeatMapSpec(TypedDict):
    first_row: int
    rows: int
    columns: str


class CabinSpec(TypedDict):
    cabin_class: str
    total_seats: int
    price: Decimal
    currency: str
    seat_map: NotRequired[SeatMapSpec | None]


def create_flight(
    *,
    flight_number: str,
    origin: str,
    destination: str,
    departure_at: datetime,
    arrival_at: datetime,
    cabins: Sequence[CabinSpec],
) -> Flight:
    """A flight with all its cabins on sale, or nothing (a flight number is
    unique per UTC departure date; a concurrent twin loses on the constraint)."""
    try:
        with transaction.atomic():
            flight = Flight(
                flight_number=flight_number,
                origin=origin,
                destination=destination,
                departure_at=departure_at,
                arrival_at=arrival_at,
            )
            flight.save()
            rows = FlightInventory.objects.bulk_create(
                _new_cabin(flight, cabin) for cabin in cabins
            )
            _create_seats(rows, cabins)
            search_cache.scopes_changed(flight_dates=[Flight.departure_date_of(departure_at)])
    except IntegrityError as exc:
        if "flight_number_unique_per_day" not in str(exc):
            raise
        raise ValidationFailed(
            [
                {
                    "field": "flight_number",
                    "code": "duplicate",
                    "detail": "This flight number already departs on that date.",
                }
            ]
        ) from exc
    return flight


def _new_cabin(flight: Flight, cabin: CabinSpec) -> FlightInventory:
    seat_map = cabin.get("seat_map") or {}
    return FlightInventory(
        flight=flight,
        cabin_class=cabin["cabin_class"],
        total_seats=cabin["total_seats"],
        available_seats=cabin["total_seats"],
        price=cabin["price"],
        currency=cabin["currency"],
        seat_columns=seat_map.get("columns", ""),
        first_row=seat_map.get("first_row"),
    )


def _create_seats(rows: Sequence[FlightInventory], cabins: Sequence[CabinSpec]) -> None:
    """One Seat row per seat of each cabin given a seat map, row by row (so
    primary keys follow the seats' order, the order they are locked in)."""
    seats = []
    for row, cabin in zip(rows, cabins, strict=True):
        seat_map = cabin.get("seat_map")
        if seat_map:
            for seat in seat_layout(seat_map["first_row"], seat_map["rows"], seat_map["columns"]):
                seat.inventory = row
                seats.append(seat)
    Seat.objects.bulk_create(seats, batch_size=5000)


def add_cabin(
    *,
    flight_id: int,
    cabin_class: str,
    total_seats: int,
    price: Decimal,
    currency: str,
) -> FlightInventory:
    """A new cabin on an existing flight, all of it on sale. Like the cabins
    `create_flight` makes, it is sold in the flight's one currency and its class
    is new to the flight (400 otherwise)."""
    with transaction.atomic():
        # Serializes cabin additions to one flight, so both checks hold. NO KEY
        # UPDATE does not conflict with the key-share lock an insert referring to
        # the flight takes, and holds never lock flights.
        flight = Flight.objects.select_for_update(no_key=True).get(pk=flight_id)
        cabins = FlightInventory.objects.filter(flight_id=flight_id)
        errors = []
        if cabins.filter(cabin_class=cabin_class).exists():
            errors.append(
                {
                    "field": "cabin_class",
                    "code": "duplicate",
                    "detail": "The flight already has this cabin class.",
                }
            )
        if cabins.exclude(currency=currency).exists():
            errors.append(
                {
                    "field": "currency",
                    "code": "currency_mismatch",
                    "detail": "All cabins of a flight are sold in one currency.",
                }
            )
        if errors:
            raise ValidationFailed(errors)
        search_cache.scopes_changed(flight_dates=[flight.departure_date])
        return FlightInventory.objects.create(
            flight_id=flight_id,
            cabin_class=cabin_class,
            total_seats=total_seats,
            available_seats=total_seats,
            price=price,
            currency=currency,
        )


def change_cabin(
    *,
    flight_id: int,
    cabin_class: str,
    total_seats: int | None = None,
    price: Decimal | None = None,
) -> FlightInventory:
    """Resize a cabin or reprice it. Seats already held or booked stay theirs:
    the new total may not go below them (409), and what is left is available.
    Raises FlightInventory.DoesNotExist for a cabin the flight does not have."""
    with transaction.atomic():
        cabin = FlightInventory.objects.select_for_update(no_key=True).get(
            flight_id=flight_id, cabin_class=cabin_class
        )
        changes = {}
        if total_seats is not None and total_seats != cabin.total_seats and cabin.has_seat_map:
            raise ValidationFailed(
                [
                    {
                        "field": "total_seats",
                        "code": "seat_map",
                        "detail": "This cabin has a seat map: its seats make its total.",
                    }
                ]
            )
        if total_seats is not None:
            if total_seats < cabin.committed_seats:
                raise CapacityBelowCommitted(
                    f"{cabin.committed_seats} seats are held or booked; "
                    f"the cabin cannot shrink to {total_seats}.",
                    requested=total_seats,
                    held=cabin.held_seats,
                    booked=cabin.booked_seats,
                )
            changes["total_seats"] = total_seats
            changes["available_seats"] = (
                Value(total_seats) - F("held_seats") - F("booked_seats") - F("blocked_seats")
            )
        if price is not None:
            changes["price"] = price
        if changes:
            FlightInventory.objects.filter(pk=cabin.pk).update(**changes)
            search_cache.inventory_changed(FlightInventory, [cabin.pk])
            cabin.refresh_from_db()
    return cabin
