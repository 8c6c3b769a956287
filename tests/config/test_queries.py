"""Search query strings are validated once per process and query string
(config/api/queries.py): the same answer as the serializer's, shared read
only, and an invalid query is refused every time, never kept."""

from datetime import date

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.api import queries
from flights.api.serializers import FlightSearchSerializer
from hotels.api.serializers import HotelSearchSerializer


def request_for(query: str) -> Request:
    return Request(APIRequestFactory().get("/api/v1/flights/?" + query))


def test_a_query_string_is_validated_once_and_shared_read_only():
    first = queries.validated_query(
        FlightSearchSerializer, request_for("origin=han&date=2030-06-01")
    )
    again = queries.validated_query(
        FlightSearchSerializer, request_for("origin=han&date=2030-06-01")
    )
    assert again is first
    assert dict(first) == {"origin": "HAN", "date": date(2030, 6, 1)}
    with pytest.raises(TypeError):
        first["origin"] = "SGN"  # type: ignore[index]


def test_each_serializer_validates_its_own_reading_of_a_query_string():
    query = "city=Hue&check_in=2030-06-01&check_out=2030-06-03"
    hotels = queries.validated_query(HotelSearchSerializer, request_for(query))
    flights = queries.validated_query(FlightSearchSerializer, request_for(query))
    assert hotels["city"] == "Hue" and dict(flights) == {}


def test_an_invalid_query_is_refused_every_time_and_not_kept():
    query = "date=2030-02-30"
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            queries.validated_query(FlightSearchSerializer, request_for(query))
        assert "date" in refused.value.detail
    assert (FlightSearchSerializer, query) not in queries._validated


def test_the_memo_stays_bounded(monkeypatch):
    monkeypatch.setattr(queries, "MAX_QUERIES", 3)
    monkeypatch.setattr(queries, "_validated", {})
    for day in range(1, 8):
        queries.validated_query(FlightSearchSerializer, request_for(f"date=2030-06-0{day}"))
        assert len(queries._validated) <= 3
