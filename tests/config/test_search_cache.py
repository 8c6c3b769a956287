"""The search cache (config/search_cache.py) on the real Redis: a repeated
public search is answered without PostgreSQL, what changes a day's flights
or a city's hotels makes the next search read them again, and without
Redis search still answers from PostgreSQL.

The holds here commit their on_commit callbacks (the bumps) with
`django_capture_on_commit_callbacks(execute=True)`, as a real commit would run
them."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from bookings.services.expire import expire_overdue_holds
from config import search_cache
from flights import services as flight_services
from flights.models import FlightInventory
from tests.booking_requests import booking_url, flight_item, hold_through_api, hotel_item
from tests.factories import FlightInventoryFactory, RoomTypeFactory, put_nights_on_sale
from tests.holds import make_overdue

pytestmark = pytest.mark.django_db

FLIGHTS = "/api/v1/flights/"
HOTELS = "/api/v1/hotels/"


@pytest.fixture
def cabin(db):
    return FlightInventoryFactory(total_seats=100)


def flight_search(cabin, **extra) -> dict:
    flight = cabin.flight
    return {
        "origin": flight.origin,
        "destination": flight.destination,
        "date": flight.departure_date.isoformat(),
        **extra,
    }


def seats_shown(response) -> int:
    (flight,) = response.json()["results"]
    return flight["cabins"][0]["available_seats"]


def test_a_repeated_search_is_answered_from_redis(api_client, cabin, django_assert_num_queries):
    first = api_client.get(FLIGHTS, flight_search(cabin))
    with django_assert_num_queries(0):
        second = api_client.get(FLIGHTS, flight_search(cabin))
    assert second.status_code == 200
    assert second.json() == first.json()


def test_the_same_query_written_differently_is_one_entry_with_its_own_links(
    api_client, cabin, django_assert_num_queries
):
    """Lower-case codes and another parameter order normalize to the same
    query; the links still come from each request."""
    FlightInventoryFactory(flight__departure_at=cabin.flight.departure_at)
    api_client.get(FLIGHTS, {**flight_search(cabin), "page_size": 1})
    query = flight_search(cabin)
    reordered = {
        "page_size": "1",
        "date": query["date"],
        "destination": query["destination"].lower(),
        "origin": query["origin"].lower(),
    }
    with django_assert_num_queries(0):
        response = api_client.get(FLIGHTS, reordered)
    body = response.json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert "origin=" + query["origin"].lower() in body["next"]
    assert "page=2" in body["next"]


def test_a_hold_on_that_date_makes_the_next_search_read_the_database(
    api_client, customer_client, cabin, django_capture_on_commit_callbacks
):
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 100
    with django_capture_on_commit_callbacks(execute=True):
        assert hold_through_api(customer_client, flight_item(cabin, 3)).status_code == 201
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 97


def test_a_cancel_and_a_staff_resize_invalidate_too(
    api_client, customer_client, cabin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reference = hold_through_api(customer_client, flight_item(cabin, 3)).json()["reference"]
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 97
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_client.post(booking_url(reference, "cancel")).status_code == 200
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 100
    with django_capture_on_commit_callbacks(execute=True):
        flight_services.change_cabin(
            flight_id=cabin.flight_id, cabin_class="economy", total_seats=120
        )
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 120


def test_a_change_on_another_date_keeps_the_cached_answer(
    api_client, customer_client, cabin, django_capture_on_commit_callbacks
):
    other = FlightInventoryFactory(
        flight__departure_at=cabin.flight.departure_at + timedelta(days=1)
    )
    api_client.get(FLIGHTS, flight_search(cabin))
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_api(customer_client, flight_item(other, 2))
        hold_through_api(customer_client, flight_item(cabin, 2))
    assert search_cache.flight_scope(cabin.flight.departure_date) != search_cache.flight_scope(
        other.flight.departure_date
    )
    # The bump of the other date alone would have left this answer served.
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 98


def test_staff_answers_are_never_cached(staff_client, cabin):
    """Staff see each cabin's counters: their search always reads them."""
    staff_client.get(FLIGHTS, flight_search(cabin))
    FlightInventory.objects.filter(pk=cabin.pk).update(available_seats=90, held_seats=10)
    (flight,) = staff_client.get(FLIGHTS, flight_search(cabin)).json()["results"]
    assert flight["cabins"][0]["held_seats"] == 10


def test_hotel_search_is_cached_per_city_and_a_hold_invalidates_it(
    api_client, customer_client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    room_type = RoomTypeFactory(hotel__city="Hanoi")
    check_in = put_nights_on_sale(room_type, start=_in_days(5), nights=3, rooms=2)[0].date
    stay = {"check_in": check_in, "check_out": check_in + timedelta(days=3), "rooms": 2}
    query = {"city": "Hanoi", **stay}
    assert api_client.get(HOTELS, query).json()["count"] == 1
    with django_assert_num_queries(0):
        assert api_client.get(HOTELS, {**query, "city": "HANOI"}).json()["count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        item = hotel_item(room_type, check_in=check_in, nights=3, rooms=1)
        assert hold_through_api(customer_client, item).status_code == 201
    # One room left on each night: no hotel fits two rooms any more.
    assert api_client.get(HOTELS, query).json()["count"] == 0


def test_the_expiry_sweep_invalidates(
    api_client, customer_client, cabin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reference = hold_through_api(customer_client, flight_item(cabin, 4)).json()["reference"]
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 96
    make_overdue(reference)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_overdue_holds() == 1
    assert seats_shown(api_client.get(FLIGHTS, flight_search(cabin))) == 100


def test_without_redis_search_answers_from_postgresql(api_client, cabin, redis_down):
    for _ in range(2):
        response = api_client.get(FLIGHTS, flight_search(cabin))
        assert response.status_code == 200
        assert seats_shown(response) == 100
    assert api_client.get(HOTELS, {"city": "Hanoi"}).status_code == 200


def test_a_hold_commits_even_when_the_bump_cannot_reach_redis(
    customer_client, cabin, redis_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = hold_through_api(customer_client, flight_item(cabin, 1))
    assert response.status_code == 201
    cabin.refresh_from_db()
    assert cabin.held_seats == 1


def test_a_bump_moves_the_version(cabin, django_capture_on_commit_callbacks):
    scope = search_cache.flight_scope(cabin.flight.departure_date)
    key = search_cache._version_key(scope)
    with django_capture_on_commit_callbacks(execute=True):
        search_cache.inventory_changed(type(cabin), [cabin.pk])
    assert int(get_redis_connection("default").get(key)) == 1
    assert get_redis_connection("default").ttl(key) > 0


def _in_days(days: int):
    return datetime.now(UTC).date() + timedelta(days=days)


# --- What a hit answers and costs -----------------------------------------------------------


def _headers(response) -> dict:
    """Every header but the request id, which each request draws anew."""
    return {name: value for name, value in response.items() if name != "X-Request-ID"}


def _two_flights(cabin):
    FlightInventoryFactory(flight__departure_at=cabin.flight.departure_at)
    return {**flight_search(cabin), "page_size": 1, "page": 2}


def _stay_in_hanoi():
    room_type = RoomTypeFactory(hotel__city="Hanoi")
    RoomTypeFactory(hotel__city="Hanoi", hotel__name="Zz Hanoi")
    check_in = put_nights_on_sale(room_type, start=_in_days(5), nights=3, rooms=2)[0].date
    return {"city": "Hanoi", "check_in": check_in, "check_out": check_in + timedelta(days=3)}


@pytest.mark.parametrize(
    ("path", "make_query"),
    [(FLIGHTS, "flights"), (HOTELS, "hotels")],
)
def test_a_hit_answers_the_very_bytes_and_headers_drf_renders(
    api_client, cabin, settings, path, make_query, django_assert_num_queries
):
    """The cached bytes are spliced with each request's links: the miss that
    caches them and the hit answer what DRF renders with the cache off, byte
    for byte, page links included."""
    query = _two_flights(cabin) if make_query == "flights" else _stay_in_hanoi()
    settings.SEARCH_CACHE_SECONDS = 0
    uncached = api_client.get(path, query)
    settings.SEARCH_CACHE_SECONDS = 5
    miss = api_client.get(path, query)
    with django_assert_num_queries(0):
        hit = api_client.get(path, query)
    assert uncached.status_code == miss.status_code == hit.status_code == 200
    assert uncached.content == miss.content == hit.content
    assert _headers(uncached) == _headers(miss) == _headers(hit)
    assert uncached["Content-Type"] == "application/json"
    body = hit.json()
    assert list(body) == ["count", "next", "previous", "results"]
    if make_query == "flights":
        assert body["count"] == 2 and body["previous"] and body["next"] is None


def test_a_hit_is_one_redis_round_trip(api_client, cabin):
    """The scope's version and the entry come in one MGET: nothing else is
    sent to Redis (the throttles are off in tests)."""
    redis = get_redis_connection("default")
    api_client.get(FLIGHTS, flight_search(cabin))
    before = _commands(redis)
    api_client.get(FLIGHTS, flight_search(cabin))
    sent = _commands(redis) - before
    sent.pop("info", None)
    assert dict(sent) == {"mget": 1}


def _commands(redis) -> Counter:
    stats = redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()})


def test_an_answer_read_before_a_bump_is_not_served_after_it(cabin):
    """A miss tags its answer with the version it read before PostgreSQL; a
    bump meanwhile (a hold committing) leaves that answer unread."""
    scope = search_cache.flight_scope(cabin.flight.departure_date)
    entry = search_cache._Entry("search-entry", search_cache._version_key(scope))
    assert entry.read() is None
    search_cache._bump({scope})
    entry.write(1, b"[]")
    assert entry.read() is None
    entry.write(1, b"[]")
    assert entry.read() == (1, b"[]")


def test_an_indented_answer_is_drfs_own_and_not_cached(api_client, cabin):
    """A client asking for indented JSON gets DRF's rendering, never the
    compact cached bytes."""
    api_client.get(FLIGHTS, flight_search(cabin))
    indented = api_client.get(
        FLIGHTS, flight_search(cabin), HTTP_ACCEPT="application/json; indent=2"
    )
    assert indented.status_code == 200
    assert indented.content.startswith(b'{\n  "count": 1')
