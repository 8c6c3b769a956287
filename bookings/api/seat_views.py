"""Seat maps of flight cabins (docs/api.md, Flights → Seat maps): read by
anyone, seats blocked and unblocked by staff. Served under /api/v1/flights/,
here because a seat's status comes from the bookings that hold it."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import selectors
from bookings.api.serializers import BookingSerializer
from bookings.services import seats
from bookings.services.seat_change import change_seats
from config.api.fields import StrictCharField
from config.api.permissions import StaffPermissions, staff_may
from config.api.schema import error
from flights.models import (
    CHANGE_CABIN_PERMISSIONS,
    VIEW_CABIN_COUNTERS_PERMISSION,
    CabinClass,
    FlightInventory,
    Seat,
)


class SeatMapQuerySerializer(serializers.Serializer):
    cabin_class = serializers.ChoiceField(choices=CabinClass.choices, default=CabinClass.ECONOMY)


class SeatSerializer(serializers.Serializer):
    number = serializers.CharField()
    position = serializers.CharField()
    status = serializers.CharField()
    booking = serializers.CharField(required=False, help_text="Staff only: who holds it.")


class SeatRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    seats = SeatSerializer(many=True)


class SeatMapSerializer(serializers.Serializer):
    cabin_class = serializers.CharField()
    columns = serializers.CharField()
    rows = SeatRowSerializer(many=True)


class SeatBlockSerializer(serializers.Serializer):
    blocked = serializers.BooleanField()


class SeatMapView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A cabin's seat map",
        description="Staff who may view cabins see held, booked and blocked seats and who "
        "holds them; anyone else sees available or unavailable.",
        parameters=[SeatMapQuerySerializer],
        responses=SeatMapSerializer,
    )
    def get(self, request, flight_id: int):
        query = SeatMapQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cabin = FlightInventory.objects.filter(
            flight_id=flight_id, cabin_class=query.validated_data["cabin_class"]
        ).first()
        if cabin is None or not cabin.has_seat_map:
            raise Http404
        staff = staff_may(request, VIEW_CABIN_COUNTERS_PERMISSION)
        return Response(selectors.seat_map(cabin, staff=staff))


class SeatView(APIView):
    permission_classes = [StaffPermissions]
    staff_permissions = CHANGE_CABIN_PERMISSIONS

    @extend_schema(
        summary="Block or unblock a seat (staff)",
        parameters=[OpenApiParameter("cabin_class", str, "path", enum=CabinClass.values)],
        request=SeatBlockSerializer,
        responses={200: SeatSerializer, 409: error(409)},
    )
    def put(self, request, flight_id: int, cabin_class: str, number: str):
        body = SeatBlockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            seat = seats.block_seat(
                flight_id=flight_id,
                cabin_class=cabin_class,
                number=number.upper(),
                blocked=body.validated_data["blocked"],
            )
        except (FlightInventory.DoesNotExist, Seat.DoesNotExist) as exc:
            raise Http404 from exc
        status = "blocked" if seat.blocked else "available"
        return Response({"number": seat.number, "position": seat.position, "status": status})


class SeatChangeSerializer(serializers.Serializer):
    seat_numbers = serializers.ListField(
        child=StrictCharField(max_length=8), min_length=1, max_length=9
    )

    def validate_seat_numbers(self, value):
        numbers = [number.upper() for number in value]
        if len(set(numbers)) != len(numbers):
            raise serializers.ValidationError("A seat number is given twice.", code="duplicate")
        return numbers


class BookingSeatsView(APIView):
    """The owner moves a flight item to other seats (staff get 403 on others')."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Change a flight item's seats",
        request=SeatChangeSerializer,
        responses={200: BookingSerializer, 409: error(409)},
    )
    def put(self, request, reference: str, index: int):
        booking = selectors.booking_for(request.user, reference)
        if booking is None:
            raise exceptions.NotFound("No booking with this reference.")
        if booking.customer_id != request.user.pk:
            raise exceptions.PermissionDenied("Only the customer who made the booking may do this.")
        body = SeatChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change_seats(
            booking=booking, position=index, seat_numbers=body.validated_data["seat_numbers"]
        )
        return Response(BookingSerializer(booking).data)
