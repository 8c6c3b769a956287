"""Thin views over the payment services (docs/api.md, Payments; Bookings: confirm)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import selectors
from bookings.api.serializers import BookingSerializer
from bookings.exceptions import PaymentRequired
from config.api.idempotency import REPLAYED, idempotency_header, idempotency_key
from config.api.schema import error
from payments import services
from payments.api.serializers import (
    ConfirmSerializer,
    PaymentSerializer,
    WebhookReceivedSerializer,
)

IDEMPOTENCY_HEADER = idempotency_header(
    "a repeated request with the same key on the same booking answers the payment the first "
    "started (201, header Idempotent-Replayed) and starts no other."
)


def _found(booking):
    if booking is None:
        raise exceptions.NotFound("No booking with this reference.")
    return booking


class BookingPaymentsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PaymentSerializer(many=True)})
    def get(self, request, reference):
        booking = _found(selectors.booking_named(request.user, reference).first())  # no items
        payments = booking.payments.select_related("booking")
        return Response(PaymentSerializer(payments, many=True, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={200: PaymentSerializer, 201: PaymentSerializer, 409: error(409)},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, reference):
        """The owner's alone: staff get 403 on others' bookings. A repeat with
        the Idempotency-Key of a request that started a payment answers that
        payment as it is now, with the first answer's 201."""
        key = idempotency_key(request)
        result = services.start_payment_named(
            bookings=selectors.booking_named(request.user, reference),
            actor=request.user,
            idempotency_key=key,
        )
        made = result.created or result.replayed
        return Response(
            PaymentSerializer(result.payment, context={"request": request}).data,
            status=status.HTTP_201_CREATED if made else status.HTTP_200_OK,
            headers=REPLAYED if result.replayed else None,
        )


class ConfirmView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ConfirmSerializer,
        responses={200: BookingSerializer, 402: error(402), 409: error(409)},
    )
    def post(self, request, reference):
        """Staff record a payment taken outside the service; a customer pays
        through the booking's payments instead (402)."""
        booking = _found(selectors.booking_for(request.user, reference))
        if not request.user.is_staff:
            raise PaymentRequired()
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        confirmed = services.confirm_offline(
            booking=booking,
            payment_reference=serializer.validated_data["payment_reference"],
            actor=request.user,
        )
        return Response(BookingSerializer(confirmed).data)


class ProviderWebhookView(APIView):
    """No token, no CSRF, no throttle: the signature is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request=None,
        responses={200: WebhookReceivedSerializer, 400: error(400)},
    )
    def post(self, request, provider):
        services.handle_webhook(provider_name=provider, body=request.body, headers=request.headers)
        return Response({"received": True})
