from django.urls import path

from hotels.api.views import HotelDetailView, HotelListView, RoomTypeAvailabilityView

urlpatterns = [
    path("", HotelListView.as_view(), name="hotel-list"),
    path("<int:hotel_id>/", HotelDetailView.as_view(), name="hotel-detail"),
    path(
        "<int:hotel_id>/room-types/<int:room_type_id>/availability/",
        RoomTypeAvailabilityView.as_view(),
        name="room-type-availability",
    ),
]
