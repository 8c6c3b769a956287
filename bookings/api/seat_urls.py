from django.urls import path, register_converter

import flights.api.urls  # noqa: F401  (registers the cabin_class converter)
from bookings.api.seat_views import SeatMapView, SeatView


class SeatNumberConverter:
    """Row digits then a letter: any other segment is the JSON 404 of an
    unknown URL before the database sees it."""

    regex = "[0-9]{1,6}[A-Za-z]"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SeatNumberConverter, "seat_number")

urlpatterns = [
    path("<int:flight_id>/seat-map/", SeatMapView.as_view(), name="flight-seat-map"),
    path(
        "<int:flight_id>/cabins/<cabin_class:cabin_class>/seats/<seat_number:number>/",
        SeatView.as_view(),
        name="flight-seat",
    ),
]
