from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import metrics, operations
from config.api import errors
from events.api.views import EventFeedView
from payments import checkout
from payments.api import urls as payment_urls

urlpatterns = [
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves the UI's start-up script as a file: no inline
    # script for the Content-Security-Policy to allow.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/auth/", include("config.api.auth_urls")),
    path("api/v1/flights/", include("flights.api.urls")),
    path("api/v1/flights/", include("bookings.api.seat_urls")),
    path("api/v1/hotels/", include("hotels.api.urls")),
    # A booking's payments and its confirm are the payments app's (it sits above bookings).
    path("api/v1/bookings/", include(payment_urls.booking_urls)),
    path("api/v1/bookings/", include("bookings.api.urls")),
    path("api/v1/payments/", include("payments.api.urls")),
    path("api/v1/events/", EventFeedView.as_view(), name="event-feed"),
    path("api/v1/webhook-endpoints/", include("events.api.urls")),
    # Anything else under /api/ is the contract's JSON 404, DEBUG or not.
    re_path(r"^api/", errors.page_not_found),
    path("sandbox/checkout/<str:payment_id>/", checkout.checkout, name="sandbox-checkout"),
]

handler400 = "config.api.errors.bad_request"
handler404 = "config.api.errors.page_not_found"
handler500 = "config.api.errors.server_error"
