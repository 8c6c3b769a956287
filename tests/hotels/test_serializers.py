"""The hotel search's answers are built from their serializers' declared
fields (config/api/serializers.py) instead of DRF's loop, which deep-copies
every field of every hotel and room type; staff's, with each night, keep
DRF's loop. These tests hold each to what DRF's loop answers for the same
listings, and the query's dates to DRF's DateField."""

from datetime import date

import pytest
from rest_framework import serializers

from hotels.api.serializers import (
    HotelSearchSerializer,
    hotel_serializer_class,
)
from hotels.selectors import Stay, hotel_listings, search_hotels
from tests.factories import RoomTypeFactory, put_nights_on_sale

pytestmark = pytest.mark.django_db

D = date(2030, 6, 1)


def drf_answer(serializer):
    """What DRF's own Serializer.to_representation answers."""
    return [
        serializers.Serializer.to_representation(serializer.child, row)
        for row in serializer.instance
    ]


@pytest.mark.parametrize(
    ("stay", "staff"),
    [(None, False), (Stay(D, date(2030, 6, 4), rooms=1), False), (Stay(D, date(2030, 6, 4)), True)],
)
def test_search_answers_are_drfs(stay, staff):
    fits = RoomTypeFactory(hotel__city="Hue")
    put_nights_on_sale(fits, D, 3, rooms=4, price="100.00")
    short = RoomTypeFactory(hotel=fits.hotel)
    put_nights_on_sale(short, D, 2)
    RoomTypeFactory(hotel__city="Hue")
    listings = hotel_listings(
        list(search_hotels(city="hue")), stay=stay, only_fitting=False, with_nights=staff
    )
    serializer = hotel_serializer_class(stay=stay, staff=staff)(
        listings, many=True, context={"stay": stay}
    )

    answer = serializer.data
    assert answer == drf_answer(serializer)
    assert [len(hotel["room_types"]) for hotel in answer] == [2, 1]
    if stay is not None:
        offer = answer[0]["room_types"][0]
        assert offer["total_price"] == "300.00" and offer["available_rooms"] == 4
        assert answer[0]["room_types"][1]["total_price"] is None
    if staff:
        assert [night["date"] for night in answer[0]["room_types"][1]["nights"]] == [
            "2030-06-01",
            "2030-06-02",
            "2030-06-03",
        ]


@pytest.mark.parametrize(
    ("given", "read"),
    [("2030-06-01", D), ("2030-6-1", D), ("2030-02-30", None), ("20300601", None), ("", None)],
)
def test_query_dates_read_as_drfs_date_field_reads_them(given, read):
    """The plain form is read by date.fromisoformat; anything else is DRF's
    to accept (its `%Y-%m-%d` takes `2030-6-1`) or refuse, with its message."""
    query = {"check_in": given, "check_out": "2030-06-10"}
    drf = serializers.DateField(input_formats=["%Y-%m-%d"])
    ours = HotelSearchSerializer(data=query)
    if read is None:
        assert not ours.is_valid()
        with pytest.raises(serializers.ValidationError) as refused:
            drf.run_validation(given)
        assert ours.errors["check_in"] == refused.value.detail
    else:
        assert ours.is_valid(), ours.errors
        assert ours.validated_data["check_in"] == read == drf.run_validation(given)
