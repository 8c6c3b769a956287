"""Reads of flights: search and lookups, with their cabins in one extra query."""

from datetime import date

from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
    When,
)

from flights.models import CabinClass, Flight, FlightInventory

# Cabins are shown from the back of the plane to the front.
CABIN_ORDER = Case(
    *(When(cabin_class=value, then=Value(rank)) for rank, value in enumerate(CabinClass.values)),
    output_field=IntegerField(),
)


def _with_cabins(flights: QuerySet[Flight]) -> QuerySet[Flight]:
    return flights.prefetch_related(
        Prefetch("cabins", queryset=FlightInventory.objects.order_by(CABIN_ORDER, "pk"))
    )


def search_flights(
    *,
    origin: str | None = None,
    destination: str | None = None,
    departure_date: date | None = None,
    cabin_class: str | None = None,
    seats: int | None = None,
) -> QuerySet[Flight]:
    """Flights by route and UTC departure date. `cabin_class` keeps flights
    that have that cabin; with `seats`, that cabin (or, without a class, any
    cabin) must have at least that many seats available."""
    flights = Flight.objects.all()
    if origin:
        flights = flights.filter(origin=origin)
    if destination:
        flights = flights.filter(destination=destination)
    if departure_date:
        flights = flights.filter(departure_date=departure_date)
    if cabin_class or seats:
        cabins = FlightInventory.objects.filter(flight=OuterRef("pk"))
        if cabin_class:
            cabins = cabins.filter(cabin_class=cabin_class)
        if seats:
            cabins = cabins.filter(available_seats__gte=seats)
        flights = flights.filter(Exists(cabins))
    return _with_cabins(flights.order_by("departure_at", "flight_number", "pk"))


def get_flight(*, flight_id: int) -> Flight | None:
    return _with_cabins(Flight.objects.filter(pk=flight_id)).first()
