"""The flights API (docs/api.md, Flights): search, detail, staff create and cabin changes."""

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bookings.services.inventory import move
from flights.models import Flight, FlightInventory
from tests.api_errors import assert_error, assert_validation_error
from tests.factories import FlightFactory, FlightInventoryFactory

pytestmark = pytest.mark.django_db

DAY = datetime(2030, 6, 1, tzinfo=UTC)
LIST = "/api/v1/flights/"


def detail_url(flight) -> str:
    return f"/api/v1/flights/{flight.pk}/"


def cabin_url(flight, cabin_class="economy") -> str:
    return f"/api/v1/flights/{flight.pk}/cabins/{cabin_class}/"


def flight_with_cabins(*, cabins=(("economy", 100),), **fields):
    flight = FlightFactory(**fields)
    for cabin_class, seats in cabins:
        FlightInventoryFactory(flight=flight, cabin_class=cabin_class, total_seats=seats)
    return flight


def snapshot():
    """Every flight and cabin row, to prove that a refused request changed nothing."""
    return (
        list(Flight.objects.order_by("pk").values()),
        list(FlightInventory.objects.order_by("pk").values()),
    )


def ids(response) -> list[int]:
    return [flight["id"] for flight in response.json()["results"]]


# --- Search ------------------------------------------------------------------------


def test_list_is_paginated_with_the_contract_shape(api_client):
    flight = flight_with_cabins(cabins=[("economy", 100), ("business", 8)])
    response = api_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    (item,) = body["results"]
    assert item == {
        "id": flight.pk,
        "flight_number": flight.flight_number,
        "origin": "HAN",
        "destination": "SGN",
        "departure_at": flight.departure_at.isoformat().replace("+00:00", "Z"),
        "arrival_at": flight.arrival_at.isoformat().replace("+00:00", "Z"),
        "cabins": [
            {
                "cabin_class": "economy",
                "total_seats": 100,
                "available_seats": 100,
                "price": "129.00",
                "currency": "EUR",
                "has_seat_map": False,
            },
            {
                "cabin_class": "business",
                "total_seats": 8,
                "available_seats": 8,
                "price": "129.00",
                "currency": "EUR",
                "has_seat_map": False,
            },
        ],
    }


def test_customers_do_not_see_held_and_booked_seats(customer_client):
    flight = flight_with_cabins()
    for response in (customer_client.get(LIST), customer_client.get(detail_url(flight))):
        body = response.json()
        cabin = (body["results"][0] if "results" in body else body)["cabins"][0]
        assert "held_seats" not in cabin and "booked_seats" not in cabin


def test_staff_see_held_and_booked_seats(staff_client):
    flight = flight_with_cabins()
    cabin = flight.cabins.get()
    move(FlightInventory, {cabin.pk: 3}, source="available", target="held")
    move(FlightInventory, {cabin.pk: 1}, source="held", target="booked")
    for response in (staff_client.get(LIST), staff_client.get(detail_url(flight))):
        body = response.json()
        cabin = (body["results"][0] if "results" in body else body)["cabins"][0]
        assert (cabin["available_seats"], cabin["held_seats"], cabin["booked_seats"]) == (97, 2, 1)


def test_filter_by_origin_and_destination(api_client):
    han_sgn = FlightFactory(origin="HAN", destination="SGN")
    han_dad = FlightFactory(origin="HAN", destination="DAD")
    sgn_han = FlightFactory(origin="SGN", destination="HAN")
    assert set(ids(api_client.get(LIST, {"origin": "HAN"}))) == {han_sgn.pk, han_dad.pk}
    assert ids(api_client.get(LIST, {"destination": "HAN"})) == [sgn_han.pk]
    assert ids(api_client.get(LIST, {"origin": "HAN", "destination": "DAD"})) == [han_dad.pk]
    # Codes are compared in capitals, whatever case the query uses.
    assert ids(api_client.get(LIST, {"origin": "han", "destination": "dad"})) == [han_dad.pk]


def test_filter_by_date_is_the_utc_departure_date(api_client):
    late = FlightFactory(departure_at=DAY + timedelta(hours=23, minutes=30))
    # 06:30 on 2 June in Hanoi is 23:30 on 1 June in UTC.
    hanoi = datetime.fromisoformat("2030-06-02T06:30:00+07:00")
    local_next_day = FlightFactory(departure_at=hanoi, arrival_at=hanoi + timedelta(hours=2))
    next_day = FlightFactory(departure_at=DAY + timedelta(days=1, minutes=30))
    assert set(ids(api_client.get(LIST, {"date": "2030-06-01"}))) == {late.pk, local_next_day.pk}
    assert ids(api_client.get(LIST, {"date": "2030-06-02"})) == [next_day.pk]
    assert ids(api_client.get(LIST, {"date": "2030-06-03"})) == []


def test_filter_by_cabin_class(api_client):
    economy_only = flight_with_cabins(cabins=[("economy", 100)])
    with_first = flight_with_cabins(cabins=[("economy", 100), ("first", 0)])
    assert ids(api_client.get(LIST, {"cabin_class": "first"})) == [with_first.pk]
    assert set(ids(api_client.get(LIST, {"cabin_class": "economy"}))) == {
        economy_only.pk,
        with_first.pk,
    }
    assert ids(api_client.get(LIST, {"cabin_class": "business"})) == []


def test_filter_by_seats_in_a_cabin(api_client):
    roomy = flight_with_cabins(cabins=[("economy", 5), ("business", 4)])
    tight = flight_with_cabins(cabins=[("economy", 2), ("business", 9)])
    cabin = roomy.cabins.get(cabin_class="business")
    move(FlightInventory, {cabin.pk: 2}, source="available", target="held")  # business: 2 left
    assert ids(api_client.get(LIST, {"cabin_class": "economy", "seats": 3})) == [roomy.pk]
    assert ids(api_client.get(LIST, {"cabin_class": "business", "seats": 3})) == [tight.pk]
    assert ids(api_client.get(LIST, {"cabin_class": "business", "seats": 10})) == []
    # Exactly as many as available still fits.
    assert ids(api_client.get(LIST, {"cabin_class": "economy", "seats": 5})) == [roomy.pk]


def test_filter_by_seats_in_any_cabin(api_client):
    a = flight_with_cabins(cabins=[("economy", 5), ("business", 1)])
    b = flight_with_cabins(cabins=[("economy", 1), ("first", 6)])
    flight_with_cabins(cabins=[("economy", 2), ("business", 2)])
    assert set(ids(api_client.get(LIST, {"seats": 5}))) == {a.pk, b.pk}
    assert ids(api_client.get(LIST, {"seats": 6})) == [b.pk]
    assert ids(api_client.get(LIST, {"seats": 7})) == []


def test_filters_combine(api_client):
    match = flight_with_cabins(
        origin="SGN", destination="SIN", departure_at=DAY + timedelta(hours=4)
    )
    flight_with_cabins(origin="SGN", destination="SIN", departure_at=DAY + timedelta(days=1))
    flight_with_cabins(origin="SGN", destination="BKK", departure_at=DAY + timedelta(hours=5))
    query = {
        "origin": "SGN",
        "destination": "SIN",
        "date": "2030-06-01",
        "cabin_class": "economy",
        "seats": 2,
    }
    assert ids(api_client.get(LIST, query)) == [match.pk]


def test_list_is_ordered_by_departure_and_page_size_is_capped(api_client):
    flights = [FlightFactory(departure_at=DAY + timedelta(hours=h)) for h in (5, 1, 3)]
    response = api_client.get(LIST, {"page_size": 2})
    assert ids(response) == [flights[1].pk, flights[2].pk]
    assert response.json()["next"]
    assert ids(api_client.get(LIST, {"page_size": 2, "page": 2})) == [flights[0].pk]
    FlightFactory.create_batch(110)
    assert len(ids(api_client.get(LIST, {"page_size": 500}))) == 100


def test_search_runs_a_bounded_number_of_queries(api_client, django_assert_max_num_queries):
    for _ in range(30):
        flight_with_cabins(cabins=[("economy", 100), ("business", 10), ("first", 2)])
    # count, page, cabins: independent of how many flights and cabins there are.
    with django_assert_max_num_queries(3):
        response = api_client.get(LIST, {"seats": 1, "page_size": 30})
    assert len(response.json()["results"]) == 30


def test_detail(api_client):
    flight = flight_with_cabins()
    response = api_client.get(detail_url(flight))
    assert response.status_code == 200
    assert response.json()["id"] == flight.pk
    assert response.json()["cabins"][0]["available_seats"] == 100


def test_unknown_flight_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/flights/999999/"), 404, "not_found")
    assert_error(api_client.get("/api/v1/flights/99999999999999999999999/"), 404, "not_found")
    assert_error(api_client.get("/api/v1/flights/abc/"), 404, "not_found")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"origin": "HA"}, "origin"),
        ({"origin": "HANO"}, "origin"),
        ({"origin": "H1N"}, "origin"),
        ({"destination": "S-N"}, "destination"),
        ({"date": "2030-13-01"}, "date"),
        ({"date": "01/06/2030"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"cabin_class": "luxury"}, "cabin_class"),
        ({"cabin_class": "Economy "}, "cabin_class"),
        ({"seats": "abc"}, "seats"),
        ({"seats": "0"}, "seats"),
        ({"seats": "-2"}, "seats"),
        ({"seats": "1.5"}, "seats"),
        ({"seats": "99999999999999999999999"}, "seats"),
    ],
)
def test_bad_search_parameters_are_400(api_client, query, field):
    flight_with_cabins()
    assert_validation_error(api_client.get(LIST, query), field)


# --- Create (staff) -------------------------------------------------------------------


def flight_body(**changes):
    body = {
        "flight_number": "VN123",
        "origin": "HAN",
        "destination": "SGN",
        "departure_at": "2030-06-01T08:00:00Z",
        "arrival_at": "2030-06-01T10:10:00Z",
        "cabins": [
            {"cabin_class": "economy", "total_seats": 180, "price": "79.00", "currency": "USD"},
            {"cabin_class": "business", "total_seats": 12, "price": "249.50", "currency": "USD"},
        ],
    }
    body.update(changes)
    return body


def test_staff_create_a_flight_with_its_cabins(staff_client):
    response = staff_client.post(LIST, flight_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    flight = Flight.objects.get()
    assert body["id"] == flight.pk
    assert body["flight_number"] == "VN123"
    assert body["departure_at"] == "2030-06-01T08:00:00Z"
    assert [c["cabin_class"] for c in body["cabins"]] == ["economy", "business"]
    assert body["cabins"][1] == {
        "cabin_class": "business",
        "total_seats": 12,
        "available_seats": 12,
        "held_seats": 0,
        "booked_seats": 0,
        "blocked_seats": 0,
        "price": "249.50",
        "currency": "USD",
        "has_seat_map": False,
    }
    assert str(flight.departure_date) == "2030-06-01"
    business = flight.cabins.get(cabin_class="business")
    assert (business.total_seats, business.available_seats, business.price) == (
        12,
        12,
        Decimal("249.50"),
    )
    # The new flight is searchable at once.
    assert staff_client.get(LIST, {"date": "2030-06-01"}).json()["count"] == 1


def test_create_accepts_offsets_and_numbers_for_prices(staff_client):
    body = flight_body(
        departure_at="2030-06-02T06:30:00+07:00",
        arrival_at="2030-06-02T08:40:00+07:00",
        cabins=[{"cabin_class": "first", "total_seats": 0, "price": 0, "currency": "EUR"}],
    )
    response = staff_client.post(LIST, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["departure_at"] == "2030-06-01T23:30:00Z"
    assert Flight.objects.get().cabins.get().price == Decimal("0.00")


def test_flight_number_is_unique_per_departure_date(staff_client):
    assert staff_client.post(LIST, flight_body(), format="json").status_code == 201
    before = snapshot()
    later_same_day = flight_body(
        departure_at="2030-06-01T20:00:00Z", arrival_at="2030-06-01T22:00:00Z"
    )
    response = staff_client.post(LIST, later_same_day, format="json")
    errors = assert_validation_error(response, "flight_number")
    assert errors[0]["code"] == "duplicate"
    assert snapshot() == before
    next_day = flight_body(departure_at="2030-06-02T08:00:00Z", arrival_at="2030-06-02T10:00:00Z")
    assert staff_client.post(LIST, next_day, format="json").status_code == 201


def test_creating_a_flight_is_for_staff_only(api_client, customer_client):
    response = api_client.post(LIST, flight_body(), format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(customer_client.post(LIST, flight_body(), format="json"), 403, "permission_denied")
    assert not Flight.objects.exists()


def _cabin(**changes):
    cabin = {"cabin_class": "economy", "total_seats": 100, "price": "10.00", "currency": "EUR"}
    cabin.update(changes)
    return cabin


BAD_FLIGHTS = [
    # (name, changes to the valid body, field path in errors)
    ("number-lowercase", {"flight_number": "vn123"}, "flight_number"),
    ("number-too-many-digits", {"flight_number": "VN12345"}, "flight_number"),
    ("number-no-digits", {"flight_number": "VNA"}, "flight_number"),
    ("number-one-prefix", {"flight_number": "V1"}, "flight_number"),
    ("number-two-letters-suffix", {"flight_number": "VN12AB"}, "flight_number"),
    ("number-not-a-string", {"flight_number": 123}, "flight_number"),
    ("number-missing", {"flight_number": None}, "flight_number"),
    ("origin-lowercase", {"origin": "han"}, "origin"),
    ("origin-two-letters", {"origin": "HA"}, "origin"),
    ("origin-digits", {"origin": "H4N"}, "origin"),
    ("origin-number", {"origin": 123}, "origin"),
    ("destination-four-letters", {"destination": "SGNX"}, "destination"),
    ("same-origin-and-destination", {"destination": "HAN"}, "destination"),
    ("departure-not-a-date", {"departure_at": "next tuesday"}, "departure_at"),
    ("departure-a-number", {"departure_at": 1893456000}, "departure_at"),
    ("departure-a-date-only-year", {"departure_at": "20300-06-01T08:00:00Z"}, "departure_at"),
    ("arrival-before-departure", {"arrival_at": "2030-06-01T07:00:00Z"}, "arrival_at"),
    ("arrival-equals-departure", {"arrival_at": "2030-06-01T08:00:00Z"}, "arrival_at"),
    ("no-cabins", {"cabins": []}, "cabins"),
    ("cabins-not-a-list", {"cabins": {"cabin_class": "economy"}}, "cabins"),
    ("five-cabins", {"cabins": [_cabin(cabin_class=c) for c in ["economy"] * 5]}, "cabins"),
    (
        "duplicate-cabin-class",
        {"cabins": [_cabin(), _cabin(total_seats=5)]},
        "cabins.1.cabin_class",
    ),
    ("unknown-cabin-class", {"cabins": [_cabin(cabin_class="luxury")]}, "cabins.0.cabin_class"),
    ("seats-negative", {"cabins": [_cabin(total_seats=-1)]}, "cabins.0.total_seats"),
    ("seats-too-many", {"cabins": [_cabin(total_seats=100_001)]}, "cabins.0.total_seats"),
    ("seats-huge", {"cabins": [_cabin(total_seats=10**30)]}, "cabins.0.total_seats"),
    ("seats-a-string", {"cabins": [_cabin(total_seats="100")]}, "cabins.0.total_seats"),
    ("seats-a-float", {"cabins": [_cabin(total_seats=10.5)]}, "cabins.0.total_seats"),
    ("seats-a-bool", {"cabins": [_cabin(total_seats=True)]}, "cabins.0.total_seats"),
    ("price-negative", {"cabins": [_cabin(price="-1.00")]}, "cabins.0.price"),
    ("price-three-decimals", {"cabins": [_cabin(price="10.005")]}, "cabins.0.price"),
    ("price-huge", {"cabins": [_cabin(price="1e20")]}, "cabins.0.price"),
    ("price-not-a-number", {"cabins": [_cabin(price="ten")]}, "cabins.0.price"),
    ("price-a-bool", {"cabins": [_cabin(price=False)]}, "cabins.0.price"),
    ("currency-lowercase", {"cabins": [_cabin(currency="eur")]}, "cabins.0.currency"),
    ("currency-too-long", {"cabins": [_cabin(currency="EURO")]}, "cabins.0.currency"),
    (
        "currency-missing",
        {"cabins": [{"cabin_class": "economy", "total_seats": 1, "price": "1"}]},
        "cabins.0.currency",
    ),
    (
        "mixed-currencies",
        {"cabins": [_cabin(), _cabin(cabin_class="business", currency="USD")]},
        "cabins.1.currency",
    ),
    ("cabin-not-an-object", {"cabins": ["economy"]}, "cabins.0"),
]


@pytest.mark.parametrize(
    ("changes", "field"), [(c, f) for _, c, f in BAD_FLIGHTS], ids=[n for n, _, _ in BAD_FLIGHTS]
)
def test_bad_flights_are_400_and_change_nothing(staff_client, changes, field):
    FlightFactory()
    before = snapshot()
    body = flight_body(**copy.deepcopy(changes))
    body = {key: value for key, value in body.items() if value is not None}
    assert_validation_error(staff_client.post(LIST, body, format="json"), field)
    assert snapshot() == before


@pytest.mark.parametrize(
    "raw",
    ["not json", '{"flight_number": "VN1",', "[1, 2]", '"VN123"', "null", "", "{NaN: 1}"],
)
def test_bodies_that_are_not_a_json_object_are_400(staff_client, raw):
    before = snapshot()
    response = staff_client.post(LIST, raw, content_type="application/json")
    assert_validation_error(response)
    assert snapshot() == before


def test_a_body_that_is_not_json_at_all_is_400(staff_client):
    response = staff_client.post(LIST, "flight_number=VN1", content_type="text/plain")
    assert_validation_error(response)
    assert not Flight.objects.exists()


# --- Cabin changes (staff) ---------------------------------------------------------------


@pytest.fixture
def committed_cabin():
    """An economy cabin of 10 seats: 3 held, 2 booked, 5 available."""
    flight = flight_with_cabins(cabins=[("economy", 10), ("business", 4)])
    cabin = flight.cabins.get(cabin_class="economy")
    move(FlightInventory, {cabin.pk: 5}, source="available", target="held")
    move(FlightInventory, {cabin.pk: 2}, source="held", target="booked")
    cabin.refresh_from_db()
    return cabin


def test_staff_grow_a_cabin(staff_client, committed_cabin):
    response = staff_client.patch(cabin_url(committed_cabin.flight), {"total_seats": 30})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "cabin_class": "economy",
        "total_seats": 30,
        "available_seats": 25,
        "held_seats": 3,
        "booked_seats": 2,
        "blocked_seats": 0,
        "price": "129.00",
        "currency": "EUR",
        "has_seat_map": False,
    }
    committed_cabin.refresh_from_db()
    assert (committed_cabin.total_seats, committed_cabin.available_seats) == (30, 25)


def test_staff_shrink_a_cabin_down_to_what_is_committed(staff_client, committed_cabin):
    response = staff_client.patch(cabin_url(committed_cabin.flight), {"total_seats": 5})
    assert response.status_code == 200
    committed_cabin.refresh_from_db()
    assert (committed_cabin.total_seats, committed_cabin.available_seats) == (5, 0)
    assert (committed_cabin.held_seats, committed_cabin.booked_seats) == (3, 2)


def test_shrinking_below_held_and_booked_is_409_and_changes_nothing(staff_client, committed_cabin):
    before = snapshot()
    response = staff_client.patch(
        cabin_url(committed_cabin.flight), {"total_seats": 4, "price": "1.00"}
    )
    body = assert_error(response, 409, "capacity_below_committed")
    assert (body["requested"], body["held"], body["booked"]) == (4, 3, 2)
    assert snapshot() == before


def test_staff_reprice_a_cabin(staff_client, committed_cabin):
    response = staff_client.patch(cabin_url(committed_cabin.flight), {"price": "99.90"})
    assert response.status_code == 200
    assert response.json()["price"] == "99.90"
    committed_cabin.refresh_from_db()
    assert committed_cabin.price == Decimal("99.90")
    assert (committed_cabin.total_seats, committed_cabin.available_seats) == (10, 5)


def test_changing_a_cabin_only_touches_that_cabin(staff_client, committed_cabin):
    business = committed_cabin.flight.cabins.get(cabin_class="business")
    staff_client.patch(cabin_url(committed_cabin.flight), {"total_seats": 50, "price": "1.00"})
    business_after = FlightInventory.objects.get(pk=business.pk)
    assert (business_after.total_seats, business_after.price) == (4, business.price)


def test_changing_a_cabin_is_for_staff_only(api_client, customer_client, committed_cabin):
    before = snapshot()
    url = cabin_url(committed_cabin.flight)
    response = api_client.patch(url, {"total_seats": 50}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(customer_client.patch(url, {"total_seats": 50}), 403, "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/flights/999999/cabins/economy/",
        "{flight}cabins/first/",  # a class the flight does not have
        "{flight}cabins/luxury/",  # not a class at all
    ],
)
def test_unknown_cabins_are_404(staff_client, committed_cabin, path):
    before = snapshot()
    url = path.format(flight=detail_url(committed_cabin.flight))
    assert_error(staff_client.patch(url, {"total_seats": 50}), 404, "not_found")
    assert snapshot() == before


BAD_CABIN_CHANGES = [
    ("empty", {}, "non_field_errors"),
    ("seats-a-string", {"total_seats": "50"}, "total_seats"),
    ("seats-negative", {"total_seats": -1}, "total_seats"),
    ("seats-huge", {"total_seats": 100_001}, "total_seats"),
    ("seats-null", {"total_seats": None}, "total_seats"),
    ("price-negative", {"price": "-0.01"}, "price"),
    ("price-three-decimals", {"price": "1.001"}, "price"),
    ("price-a-list", {"price": [1]}, "price"),
    ("unknown-field", {"available_seats": 50}, "available_seats"),
    ("currency-not-changeable", {"price": "1.00", "currency": "USD"}, "currency"),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [(b, f) for _, b, f in BAD_CABIN_CHANGES],
    ids=[n for n, _, _ in BAD_CABIN_CHANGES],
)
def test_bad_cabin_changes_are_400_and_change_nothing(staff_client, committed_cabin, body, field):
    before = snapshot()
    response = staff_client.patch(cabin_url(committed_cabin.flight), body, format="json")
    assert_validation_error(response, field)
    assert snapshot() == before


def test_a_cabin_change_that_is_not_json_is_400(staff_client, committed_cabin):
    before = snapshot()
    response = staff_client.patch(
        cabin_url(committed_cabin.flight), "total_seats=5", content_type="application/json"
    )
    assert_validation_error(response)
    assert snapshot() == before


# --- Methods and URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", LIST),
        ("delete", LIST),
        ("patch", LIST),
        ("post", "{flight}"),
        ("put", "{flight}"),
        ("delete", "{flight}"),
        ("get", "{flight}cabins/economy/"),
        ("put", "{flight}cabins/economy/"),
        ("delete", "{flight}cabins/economy/"),
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "customer", "staff"])
def test_wrong_methods_are_405_with_a_json_body(request, who, method, path, committed_cabin):
    client = request.getfixturevalue(
        {"anonymous": "api_client", "customer": "customer_client", "staff": "staff_client"}[who]
    )
    before = snapshot()
    url = path.format(flight=detail_url(committed_cabin.flight))
    assert_error(getattr(client, method)(url, {}, format="json"), 405, "method_not_allowed")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/flights",  # no trailing slash: no redirect either
        "/api/v1/flights/1/cabins/",
        "/api/v1/flights/1/cabins/economy/extra/",
        "/api/v1/flights/-1/",
        "/api/v1/flights/%00/",
    ],
)
def test_unknown_urls_are_a_json_404(api_client, path):
    assert_error(api_client.get(path), 404, "not_found")


def test_schema_documents_the_search_filters_and_the_bodies(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"] for p in schema["paths"]["/api/v1/flights/"]["get"]["parameters"]}
    assert {"origin", "destination", "date", "cabin_class", "seats", "page", "page_size"} <= (
        parameters
    )
    assert "requestBody" in schema["paths"]["/api/v1/flights/"]["post"]
    cabin = schema["paths"]["/api/v1/flights/{flight_id}/cabins/{cabin_class}/"]["patch"]
    assert "409" in cabin["responses"]
