from django.urls import path
from rest_framework.routers import SimpleRouter

from bookings.api.seat_views import BookingSeatsView
from bookings.api.views import BookingViewSet

router = SimpleRouter()
router.register("", BookingViewSet, basename="booking")
urlpatterns = [
    path(
        "<str:reference>/items/<int:index>/seats/",
        BookingSeatsView.as_view(),
        name="booking-item-seats",
    ),
    *router.urls,
]
