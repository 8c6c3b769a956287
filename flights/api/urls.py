from django.urls import path, register_converter

from flights.api.views import CabinView, FlightDetailView, FlightListView
from flights.models import CabinClass


class CabinClassConverter:
    """Only the four cabin classes route to a cabin: any other segment (odd
    characters, a NUL that PostgreSQL refuses in a query) is the JSON 404 of
    an unknown URL before a view or the database sees it."""

    regex = "|".join(CabinClass.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CabinClassConverter, "cabin_class")

urlpatterns = [
    path("", FlightListView.as_view(), name="flight-list"),
    path("<int:flight_id>/", FlightDetailView.as_view(), name="flight-detail"),
    path(
        "<int:flight_id>/cabins/<cabin_class:cabin_class>/",
        CabinView.as_view(),
        name="flight-cabin",
    ),
]
