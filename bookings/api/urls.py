from rest_framework.routers import SimpleRouter

from bookings.api.views import BookingViewSet

router = SimpleRouter()
router.register("", BookingViewSet, basename="booking")
urlpatterns = router.urls
