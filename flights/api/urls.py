from django.urls import path

from flights.api.views import CabinView, FlightDetailView, FlightListView

urlpatterns = [
    path("", FlightListView.as_view(), name="flight-list"),
    path("<int:flight_id>/", FlightDetailView.as_view(), name="flight-detail"),
    path(
        "<int:flight_id>/cabins/<str:cabin_class>/",
        CabinView.as_view(),
        name="flight-cabin",
    ),
]
