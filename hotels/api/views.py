from dataclasses import asdict

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config import search_cache
from config.api.permissions import StaffPermissions, StaffPermissionsOrReadOnly, staff_may
from config.api.queries import validated_query
from config.replicas import anonymous_reads_on_replica
from hotels import selectors, services
from hotels.api.serializers import (
    AvailabilitySerializer,
    AvailabilitySetSerializer,
    HotelCreateSerializer,
    HotelSearchSerializer,
    HotelSerializer,
    StayHotelSerializer,
    StaySearchSerializer,
    hotel_serializer_class,
    stay_of,
)
from hotels.models import (
    ADD_HOTEL_PERMISSIONS,
    SET_AVAILABILITY_PERMISSIONS,
    VIEW_NIGHTS_PERMISSION,
    RoomType,
)

STAY_NOTE = (
    "With `check_in` and `check_out` (and `rooms`, default 1) each room type adds "
    "`available_rooms`, `total_price` and `currency` for that stay; staff who may view "
    "room nights also get its `nights`."
)


class HotelListView(GenericAPIView):
    permission_classes = [StaffPermissionsOrReadOnly]
    staff_permissions = ADD_HOTEL_PERMISSIONS
    # What the browsable API and OPTIONS offer to post.
    serializer_class = HotelCreateSerializer

    @extend_schema(
        summary="Search hotels",
        description="With a stay, only hotels with a room type that has `rooms` rooms free "
        "on every night, listing those room types. " + STAY_NOTE,
        parameters=[HotelSearchSerializer],
        responses=StayHotelSerializer(many=True),
    )
    @anonymous_reads_on_replica
    def get(self, request):
        query = validated_query(HotelSearchSerializer, request)
        stay = stay_of(query)
        staff = staff_may(request, VIEW_NIGHTS_PERMISSION)
        city = query.get("city")
        serializer = hotel_serializer_class(stay=stay, staff=staff)

        def results():
            hotels = selectors.search_hotels(city=city, stay=stay)
            page = selectors.hotel_listings(
                self.paginate_queryset(hotels), stay=stay, only_fitting=True, with_nights=staff
            )
            return serializer(page, many=True, context={"stay": stay}).data

        return search_cache.search_response(
            self,
            # Staff see each night's counters: their answers are never cached.
            scope=search_cache.hotel_scope(city) if city and not staff else None,
            query={"city": city and city.lower(), "stay": stay and asdict(stay)},
            results=results,
        )

    @extend_schema(
        summary="Create a hotel with its room types (staff)",
        request=HotelCreateSerializer,
        responses={201: HotelSerializer},
    )
    def post(self, request):
        body = HotelCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hotel = services.create_hotel(**body.validated_data)
        listing = selectors.get_hotel(hotel_id=hotel.pk)
        return Response(HotelSerializer(listing).data, status=status.HTTP_201_CREATED)


class HotelDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="One hotel, with every room type",
        description=STAY_NOTE,
        parameters=[StaySearchSerializer],
        responses=StayHotelSerializer,
    )
    def get(self, request, hotel_id: int):
        query = StaySearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stay = query.stay()
        staff = staff_may(request, VIEW_NIGHTS_PERMISSION)
        listing = selectors.get_hotel(hotel_id=hotel_id, stay=stay, with_nights=staff)
        if listing is None:
            raise Http404
        serializer = hotel_serializer_class(stay=stay, staff=staff)
        return Response(serializer(listing, context={"stay": stay}).data)


class RoomTypeAvailabilityView(APIView):
    permission_classes = [StaffPermissions]
    staff_permissions = SET_AVAILABILITY_PERMISSIONS

    @extend_schema(
        summary="Put a range of nights on sale (staff)",
        description="Sets every night in `[start, end)`; all or nothing.",
        request=AvailabilitySerializer,
        responses={
            200: AvailabilitySetSerializer,
            409: OpenApiResponse(
                description="`capacity_below_committed`: a night has more rooms held or "
                "booked than `total_rooms`; no night changed."
            ),
        },
    )
    def put(self, request, hotel_id: int, room_type_id: int):
        room_type = RoomType.objects.filter(pk=room_type_id, hotel_id=hotel_id).first()
        if room_type is None:
            raise Http404
        body = AvailabilitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        nights = services.set_room_availability(room_type=room_type, **body.validated_data)
        return Response({"nights": nights})
