"""Thin views over the booking services (docs/api.md, Bookings)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from bookings import metrics, selectors, services
from bookings.api.serializers import (
    BookingCreateSerializer,
    BookingListQuerySerializer,
    BookingSerializer,
    CancellationQuoteSerializer,
    CancelSerializer,
)
from bookings.models import Booking
from config.api.idempotency import REPLAYED, idempotency_header, idempotency_key
from config.api.schema import error

IDEMPOTENCY_HEADER = idempotency_header(
    "a repeated request with the same key and body answers as the first did and makes no "
    "second booking."
)


class BookingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = BookingSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"

    def get_throttles(self):
        self.throttle_scope = "booking_create" if self.action == "create" else None
        return super().get_throttles()

    def get_queryset(self):
        query = BookingListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.bookings_visible_to(
            self.request.user, status=query.validated_data.get("status")
        )

    def get_object(self):
        booking = selectors.booking_for(self.request.user, self.kwargs["reference"])
        if booking is None:
            raise exceptions.NotFound("No booking with this reference.")
        return booking

    def _owned_object(self):
        """Extend is the owner's alone: staff get 403 on others'."""
        booking = self.get_object()
        if booking.customer_id != self.request.user.pk:
            raise exceptions.PermissionDenied("Only the customer who made the booking may do this.")
        return booking

    @extend_schema(parameters=[BookingListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, reference=None):
        return Response(BookingSerializer(self.get_object()).data)

    @extend_schema(
        request=BookingCreateSerializer,
        responses={201: BookingSerializer, 409: error(409), 422: error(422)},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request):
        with metrics.hold_outcome() as outcome:
            key = idempotency_key(request)
            serializer = BookingCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            result = services.hold_booking(
                customer=request.user,
                items=serializer.validated_data["items"],
                idempotency_key=key,
                fingerprint=BookingCreateSerializer.fingerprint(request.data) if key else "",
            )
            outcome.replayed(result.replayed)
        if result.replayed:
            body = (
                result.booking.idempotent_response
                or BookingSerializer(
                    selectors.booking_for(request.user, result.booking.reference)
                ).data
            )
            return Response(body, status=status.HTTP_201_CREATED, headers=REPLAYED)
        body = BookingSerializer(result.booking, context={"items": result.items}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=CancelSerializer, responses={200: BookingSerializer, 409: error(409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, reference=None):
        """The owner's, or staff's who may cancel for customers (the admin's
        permission): staff who may only view get 403. Only such staff may
        set the refund. The booking is found and locked in one read."""
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancelled = services.cancel_booking_named(
            bookings=selectors.booking_named(request.user, reference),
            actor=request.user,
            reason=serializer.validated_data.get("reason", ""),
            refund_amount=serializer.validated_data.get("refund_amount"),
        )
        return _transitioned(cancelled)

    @extend_schema(responses={200: CancellationQuoteSerializer, 409: error(409)})
    @action(detail=True, methods=["get"], url_path="cancellation-quote")
    def cancellation_quote(self, request, reference=None):
        quote = services.cancellation_quote(self.get_object())
        return Response(CancellationQuoteSerializer(quote).data)

    @extend_schema(request=None, responses={200: BookingSerializer, 409: error(409)})
    @action(detail=True, methods=["post"])
    def extend(self, request, reference=None):
        booking = self._owned_object()
        return _transitioned(services.extend_booking(booking=booking, actor=request.user))


def _transitioned(booking: Booking) -> Response:
    """The booking after a transition, with the items read before it (a
    transition never changes them)."""
    return Response(BookingSerializer(booking).data)
