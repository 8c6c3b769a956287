from django.urls import path

from payments.api import views

# Under /api/v1/bookings/ (the booking's payments and its confirm).
booking_urls = [
    path("<str:reference>/payments/", views.BookingPaymentsView.as_view(), name="booking-payments"),
    path("<str:reference>/confirm/", views.ConfirmView.as_view(), name="booking-confirm"),
]
# Under /api/v1/payments/.
urlpatterns = [
    path(
        "webhooks/<str:provider>/",
        views.ProviderWebhookView.as_view(),
        name="payment-webhook",
    ),
]
