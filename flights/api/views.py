from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config import search_cache
from config.api.permissions import StaffPermissions, StaffPermissionsOrReadOnly, staff_may
from config.api.queries import validated_query
from config.replicas import anonymous_reads_on_replica
from flights import selectors, services
from flights.api.serializers import (
    CabinChangeSerializer,
    FlightCreateSerializer,
    FlightSearchSerializer,
    FlightSerializer,
    StaffCabinSerializer,
    StaffFlightSerializer,
)
from flights.models import (
    ADD_FLIGHT_PERMISSIONS,
    CHANGE_CABIN_PERMISSIONS,
    VIEW_CABIN_COUNTERS_PERMISSION,
    CabinClass,
    FlightInventory,
)

STAFF_NOTE = "Staff who may view cabins also see `held_seats` and `booked_seats` on each cabin."


def _flight_serializer_class(request):
    if staff_may(request, VIEW_CABIN_COUNTERS_PERMISSION):
        return StaffFlightSerializer
    return FlightSerializer


class FlightListView(GenericAPIView):
    permission_classes = [StaffPermissionsOrReadOnly]
    staff_permissions = ADD_FLIGHT_PERMISSIONS
    # What the browsable API and OPTIONS offer to post.
    serializer_class = FlightCreateSerializer

    @extend_schema(
        summary="Search flights",
        description=STAFF_NOTE,
        parameters=[FlightSearchSerializer],
        responses=FlightSerializer(many=True),
    )
    @anonymous_reads_on_replica
    def get(self, request):
        filters = validated_query(FlightSearchSerializer, request)
        serializer = _flight_serializer_class(request)
        day = filters.get("date")

        def results():
            flights = selectors.search_flights(
                origin=filters.get("origin"),
                destination=filters.get("destination"),
                departure_date=day,
                cabin_class=filters.get("cabin_class"),
                seats=filters.get("seats"),
            )
            return serializer(self.paginate_queryset(flights), many=True).data

        return search_cache.search_response(
            self,
            # Staff see counters: their answers are never cached.
            scope=search_cache.flight_scope(day)
            if day and serializer is FlightSerializer
            else None,
            query=filters,
            results=results,
        )

    @extend_schema(
        summary="Create a flight with its cabins (staff)",
        request=FlightCreateSerializer,
        responses={201: StaffFlightSerializer},
    )
    def post(self, request):
        body = FlightCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flight = services.create_flight(**body.validated_data)
        flight = selectors.get_flight(flight_id=flight.pk)
        return Response(StaffFlightSerializer(flight).data, status=status.HTTP_201_CREATED)


class FlightDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="One flight", description=STAFF_NOTE, responses=FlightSerializer)
    def get(self, request, flight_id: int):
        flight = selectors.get_flight(flight_id=flight_id)
        if flight is None:
            raise Http404
        return Response(_flight_serializer_class(request)(flight).data)


class CabinView(APIView):
    permission_classes = [StaffPermissions]
    staff_permissions = CHANGE_CABIN_PERMISSIONS

    @extend_schema(
        summary="Resize or reprice a cabin (staff)",
        parameters=[
            OpenApiParameter(
                "cabin_class",
                str,
                OpenApiParameter.PATH,
                enum=CabinClass.values,
            )
        ],
        request=CabinChangeSerializer,
        responses={
            200: StaffCabinSerializer,
            409: OpenApiResponse(
                description="`capacity_below_committed`: fewer seats than held + booked."
            ),
        },
    )
    def patch(self, request, flight_id: int, cabin_class: str):
        if not FlightInventory.objects.filter(
            flight_id=flight_id, cabin_class=cabin_class
        ).exists():
            raise Http404
        body = CabinChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            cabin = services.change_cabin(
                flight_id=flight_id, cabin_class=cabin_class, **body.validated_data
            )
        except FlightInventory.DoesNotExist as exc:
            raise Http404 from exc
        return Response(StaffCabinSerializer(cabin).data)
