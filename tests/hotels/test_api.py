"""The hotels API (docs/api.md, Hotels): search with a stay, detail, staff create
and availability ranges."""

import copy
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bookings.services.inventory import move
from hotels.models import Hotel, RoomNight, RoomType
from tests.api_errors import assert_error, assert_validation_error
from tests.factories import HotelFactory, RoomNightFactory, RoomTypeFactory, put_nights_on_sale

pytestmark = pytest.mark.django_db

LIST = "/api/v1/hotels/"
D = date(2030, 6, 1)
STAY = {"check_in": "2030-06-01", "check_out": "2030-06-04"}  # three nights


def detail_url(hotel) -> str:
    return f"/api/v1/hotels/{hotel.pk}/"


def availability_url(room_type, hotel=None) -> str:
    hotel_id = (hotel or room_type.hotel).pk
    return f"/api/v1/hotels/{hotel_id}/room-types/{room_type.pk}/availability/"


def snapshot():
    return (
        list(Hotel.objects.order_by("pk").values()),
        list(RoomType.objects.order_by("pk").values()),
        list(RoomNight.objects.order_by("pk").values()),
    )


def hotel_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [hotel["id"] for hotel in response.json()["results"]]


def room_types_of(body) -> dict[str, dict]:
    return {room_type["code"]: room_type for room_type in body["room_types"]}


def hold(night, rooms):
    move(RoomNight, {night.pk: rooms}, source="available", target="held")


# --- Search ----------------------------------------------------------------------------


def test_list_shape_without_a_stay(api_client):
    room_type = RoomTypeFactory(code="DBL", name="Double room", max_guests=2)
    hotel = room_type.hotel
    response = api_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["results"] == [
        {
            "id": hotel.pk,
            "name": hotel.name,
            "city": "Hanoi",
            "address": hotel.address,
            "room_types": [
                {"id": room_type.pk, "code": "DBL", "name": "Double room", "max_guests": 2}
            ],
        }
    ]


def test_filter_by_city_ignores_case(api_client):
    hanoi = HotelFactory(city="Hanoi")
    HotelFactory(city="Da Nang")
    assert hotel_ids(api_client.get(LIST, {"city": "Hanoi"})) == [hanoi.pk]
    assert hotel_ids(api_client.get(LIST, {"city": "hanoi"})) == [hanoi.pk]
    assert hotel_ids(api_client.get(LIST, {"city": "Paris"})) == []


def test_a_stay_keeps_hotels_with_a_room_type_free_on_every_night(api_client):
    free = RoomTypeFactory(code="FREE")
    put_nights_on_sale(free, D, 3, rooms=2)
    gap = RoomTypeFactory(code="GAP")  # the middle night was never put on sale
    RoomNightFactory(room_type=gap, date=D)
    RoomNightFactory(room_type=gap, date=D + timedelta(days=2))
    sold_out = RoomTypeFactory(code="SOLD")  # one night has no room left
    nights = put_nights_on_sale(sold_out, D, 3, rooms=2)
    hold(nights[2], 2)
    short = RoomTypeFactory(code="SHORT")  # on sale, but ends a night early
    put_nights_on_sale(short, D, 2)
    assert hotel_ids(api_client.get(LIST, STAY)) == [free.hotel.pk]


def test_rooms_must_be_free_on_every_night(api_client):
    room_type = RoomTypeFactory()
    nights = put_nights_on_sale(room_type, D, 3, rooms=5)
    hold(nights[1], 3)  # 2 left on the second night
    assert hotel_ids(api_client.get(LIST, {**STAY, "rooms": 2})) == [room_type.hotel.pk]
    assert hotel_ids(api_client.get(LIST, {**STAY, "rooms": 3})) == []
    # Outside the stay the held night does not count.
    later = {"check_in": "2030-06-03", "check_out": "2030-06-04", "rooms": 5}
    assert hotel_ids(api_client.get(LIST, later)) == [room_type.hotel.pk]


def test_check_out_is_exclusive(api_client):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3)  # nights of 1, 2 and 3 June
    assert hotel_ids(api_client.get(LIST, STAY)) == [room_type.hotel.pk]
    longer = {"check_in": "2030-06-01", "check_out": "2030-06-05"}
    assert hotel_ids(api_client.get(LIST, longer)) == []


def test_the_list_shows_only_fitting_room_types_with_the_stay(api_client):
    hotel = HotelFactory()
    fits = RoomTypeFactory(hotel=hotel, code="DBL")
    put_nights_on_sale(fits, D, 3, rooms=4, price="100.00")
    RoomNight.objects.filter(room_type=fits, date=D + timedelta(days=1)).update(
        price=Decimal("150.00")
    )
    RoomTypeFactory(hotel=hotel, code="STE")  # nothing on sale
    (result,) = api_client.get(LIST, {**STAY, "rooms": 2}).json()["results"]
    assert result["room_types"] == [
        {
            "id": fits.pk,
            "code": "DBL",
            "name": fits.name,
            "max_guests": 2,
            "available_rooms": 4,
            "total_price": "700.00",  # (100 + 150 + 100) × 2 rooms
            "currency": "EUR",
        }
    ]


def test_city_and_stay_combine(api_client):
    hanoi = RoomTypeFactory(hotel=HotelFactory(city="Hanoi"))
    paris = RoomTypeFactory(hotel=HotelFactory(city="Paris"))
    put_nights_on_sale(hanoi, D, 3)
    put_nights_on_sale(paris, D, 3)
    assert hotel_ids(api_client.get(LIST, {**STAY, "city": "paris"})) == [paris.hotel.pk]


def test_detail_with_a_stay_lists_every_room_type_with_availability_and_price(api_client):
    hotel = HotelFactory()
    full = RoomTypeFactory(hotel=hotel, code="DBL")
    nights = put_nights_on_sale(full, D, 3, rooms=6, price="80.00")
    hold(nights[0], 4)
    partial = RoomTypeFactory(hotel=hotel, code="TWN")
    put_nights_on_sale(partial, D, 2, rooms=9, price="70.00")
    RoomTypeFactory(hotel=hotel, code="STE")
    response = api_client.get(detail_url(hotel), {**STAY, "rooms": 3})
    assert response.status_code == 200
    room_types = room_types_of(response.json())
    assert room_types["DBL"]["available_rooms"] == 2  # the fewest over the nights
    assert room_types["DBL"]["total_price"] == "720.00"  # 3 × 80 × 3 rooms
    assert room_types["DBL"]["currency"] == "EUR"
    # A night never on sale: no rooms, no price (but the known currency).
    assert room_types["TWN"]["available_rooms"] == 0
    assert room_types["TWN"]["total_price"] is None
    assert room_types["TWN"]["currency"] == "EUR"
    assert room_types["STE"] | {"id": None} == {
        "id": None,
        "code": "STE",
        "name": "Double room",
        "max_guests": 2,
        "available_rooms": 0,
        "total_price": None,
        "currency": None,
    }
    assert "nights" not in room_types["DBL"]


def test_rooms_defaults_to_one(api_client):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3, price="80.00")
    body = api_client.get(detail_url(room_type.hotel), STAY).json()
    assert body["room_types"][0]["total_price"] == "240.00"


def test_detail_without_a_stay_has_no_stay_fields(api_client):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3)
    body = api_client.get(detail_url(room_type.hotel)).json()
    assert set(body["room_types"][0]) == {"id", "code", "name", "max_guests"}


def test_staff_see_each_night_of_the_stay(staff_client, customer_client):
    room_type = RoomTypeFactory()
    nights = put_nights_on_sale(room_type, D, 2, rooms=5, price="80.00")
    hold(nights[0], 2)
    move(RoomNight, {nights[0].pk: 1}, source="held", target="booked")
    body = staff_client.get(detail_url(room_type.hotel), STAY).json()
    assert body["room_types"][0]["nights"] == [
        {
            "date": "2030-06-01",
            "total_rooms": 5,
            "available_rooms": 3,
            "held_rooms": 1,
            "booked_rooms": 1,
            "price": "80.00",
            "currency": "EUR",
        },
        {
            "date": "2030-06-02",
            "total_rooms": 5,
            "available_rooms": 5,
            "held_rooms": 0,
            "booked_rooms": 0,
            "price": "80.00",
            "currency": "EUR",
        },
        {
            "date": "2030-06-03",
            "total_rooms": 0,
            "available_rooms": 0,
            "held_rooms": 0,
            "booked_rooms": 0,
            "price": None,
            "currency": None,
        },
    ]
    customer_view = customer_client.get(detail_url(room_type.hotel), STAY).json()
    assert "nights" not in customer_view["room_types"][0]


def test_search_runs_a_bounded_number_of_queries(
    api_client, staff_client, django_assert_max_num_queries
):
    for _ in range(10):
        hotel = HotelFactory()
        for code in ("DBL", "TWN", "STE"):
            put_nights_on_sale(RoomTypeFactory(hotel=hotel, code=code), D, 3)
    # count, page, room types (with their aggregates)
    with django_assert_max_num_queries(3):
        assert len(hotel_ids(api_client.get(LIST, STAY))) == 10
    # + the token, the user and the nights of the stay for staff
    with django_assert_max_num_queries(6):
        assert len(hotel_ids(staff_client.get(LIST, STAY))) == 10
    with django_assert_max_num_queries(2):
        api_client.get(detail_url(hotel), STAY)


def test_unknown_hotel_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/hotels/999999/"), 404, "not_found")
    assert_error(api_client.get("/api/v1/hotels/999999/", STAY), 404, "not_found")
    assert_error(api_client.get("/api/v1/hotels/nope/"), 404, "not_found")


BAD_STAYS = [
    ({"check_in": "2030-06-01"}, "check_out"),
    ({"check_out": "2030-06-04"}, "check_in"),
    ({"rooms": "2"}, "check_in"),
    ({"check_in": "2030-06-04", "check_out": "2030-06-04"}, "check_out"),
    ({"check_in": "2030-06-04", "check_out": "2030-06-01"}, "check_out"),
    ({"check_in": "2030-06-01", "check_out": "2031-06-03"}, "check_out"),
    ({"check_in": "2030-02-30", "check_out": "2030-03-02"}, "check_in"),
    ({"check_in": "June 1st", "check_out": "2030-06-04"}, "check_in"),
    ({**STAY, "rooms": "0"}, "rooms"),
    ({**STAY, "rooms": "-1"}, "rooms"),
    ({**STAY, "rooms": "two"}, "rooms"),
    ({**STAY, "rooms": "100001"}, "rooms"),
]


@pytest.mark.parametrize("url", ["list", "detail"])
@pytest.mark.parametrize(("query", "field"), BAD_STAYS)
def test_bad_stays_are_400(api_client, url, query, field):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3)
    path = LIST if url == "list" else detail_url(room_type.hotel)
    assert_validation_error(api_client.get(path, query), field)


# --- Create (staff) ---------------------------------------------------------------------


def hotel_body(**changes):
    body = {
        "name": "Sofitel Legend Metropole",
        "city": "Hanoi",
        "address": "15 Ngo Quyen",
        "room_types": [
            {"code": "DLX", "name": "Deluxe King", "max_guests": 2},
            {"code": "STE", "name": "Legendary Suite", "max_guests": 4},
        ],
    }
    body.update(changes)
    return body


def test_staff_create_a_hotel_with_its_room_types(staff_client):
    response = staff_client.post(LIST, hotel_body(), format="json")
    assert response.status_code == 201, response.content
    hotel = Hotel.objects.get()
    dlx, ste = hotel.room_types.order_by("pk")
    assert response.json() == {
        "id": hotel.pk,
        "name": "Sofitel Legend Metropole",
        "city": "Hanoi",
        "address": "15 Ngo Quyen",
        "room_types": [
            {"id": dlx.pk, "code": "DLX", "name": "Deluxe King", "max_guests": 2},
            {"id": ste.pk, "code": "STE", "name": "Legendary Suite", "max_guests": 4},
        ],
    }
    assert not RoomNight.objects.exists()  # nothing on sale yet


def test_creating_a_hotel_is_for_staff_only(api_client, customer_client):
    response = api_client.post(LIST, hotel_body(), format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(customer_client.post(LIST, hotel_body(), format="json"), 403, "permission_denied")
    assert not Hotel.objects.exists()


def _room_type(**changes):
    room_type = {"code": "DBL", "name": "Double", "max_guests": 2}
    room_type.update(changes)
    return room_type


BAD_HOTELS = [
    ("name-missing", {"name": None}, "name"),
    ("name-blank", {"name": "  "}, "name"),
    ("name-a-number", {"name": 7}, "name"),
    ("name-too-long", {"name": "x" * 201}, "name"),
    ("city-a-list", {"city": ["Hanoi"]}, "city"),
    ("address-missing", {"address": None}, "address"),
    ("no-room-types", {"room_types": []}, "room_types"),
    ("room-types-not-a-list", {"room_types": "DBL"}, "room_types"),
    ("room-type-not-an-object", {"room_types": [3]}, "room_types.0"),
    ("code-missing", {"room_types": [{"name": "Double", "max_guests": 2}]}, "room_types.0.code"),
    ("code-with-spaces", {"room_types": [_room_type(code="D B L")]}, "room_types.0.code"),
    ("code-too-long", {"room_types": [_room_type(code="D" * 21)]}, "room_types.0.code"),
    ("duplicate-code", {"room_types": [_room_type(), _room_type()]}, "room_types.1.code"),
    ("guests-zero", {"room_types": [_room_type(max_guests=0)]}, "room_types.0.max_guests"),
    ("guests-a-string", {"room_types": [_room_type(max_guests="2")]}, "room_types.0.max_guests"),
    ("guests-huge", {"room_types": [_room_type(max_guests=10**9)]}, "room_types.0.max_guests"),
    ("guests-a-float", {"room_types": [_room_type(max_guests=2.5)]}, "room_types.0.max_guests"),
]


@pytest.mark.parametrize(
    ("changes", "field"), [(c, f) for _, c, f in BAD_HOTELS], ids=[n for n, _, _ in BAD_HOTELS]
)
def test_bad_hotels_are_400_and_change_nothing(staff_client, changes, field):
    RoomTypeFactory()
    before = snapshot()
    body = hotel_body(**copy.deepcopy(changes))
    body = {key: value for key, value in body.items() if value is not None}
    assert_validation_error(staff_client.post(LIST, body, format="json"), field)
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["not json", "[]", '{"name": ', "42"])
def test_hotel_bodies_that_are_not_a_json_object_are_400(staff_client, raw):
    response = staff_client.post(LIST, raw, content_type="application/json")
    assert_validation_error(response)
    assert not Hotel.objects.exists()


# --- Availability (staff) ------------------------------------------------------------------


def availability(**changes):
    body = {
        "start": "2030-06-01",
        "end": "2030-06-08",
        "total_rooms": 10,
        "price": "120.00",
        "currency": "EUR",
    }
    body.update(changes)
    return body


def nights_of(room_type) -> dict[str, tuple]:
    return {
        str(night.date): (
            night.total_rooms,
            night.available_rooms,
            night.held_rooms,
            night.booked_rooms,
            night.price,
        )
        for night in RoomNight.objects.filter(room_type=room_type)
    }


def test_staff_put_a_range_of_nights_on_sale(staff_client):
    room_type = RoomTypeFactory()
    response = staff_client.put(availability_url(room_type), availability(), format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"nights": 7}
    nights = nights_of(room_type)
    assert sorted(nights) == [f"2030-06-0{day}" for day in range(1, 8)]  # end is exclusive
    assert set(nights.values()) == {(10, 10, 0, 0, Decimal("120.00"))}


def test_setting_a_range_updates_existing_nights_and_keeps_their_commitments(staff_client):
    room_type = RoomTypeFactory()
    existing = put_nights_on_sale(room_type, D, 3, rooms=5, price="80.00")
    hold(existing[1], 4)
    move(RoomNight, {existing[1].pk: 1}, source="held", target="booked")
    body = availability(start="2030-06-02", end="2030-06-05", total_rooms=8, price="90.00")
    response = staff_client.put(availability_url(room_type), body, format="json")
    assert response.status_code == 200
    assert response.json() == {"nights": 3}
    assert nights_of(room_type) == {
        "2030-06-01": (5, 5, 0, 0, Decimal("80.00")),  # outside the range: untouched
        "2030-06-02": (8, 4, 3, 1, Decimal("90.00")),  # held and booked stay
        "2030-06-03": (8, 8, 0, 0, Decimal("90.00")),
        "2030-06-04": (8, 8, 0, 0, Decimal("90.00")),  # created
    }
    assert RoomNight.objects.filter(pk=existing[1].pk).exists()  # updated, not replaced


def test_a_range_can_drop_to_exactly_what_is_committed(staff_client):
    room_type = RoomTypeFactory()
    (night,) = put_nights_on_sale(room_type, D, 1, rooms=5)
    hold(night, 3)
    body = availability(start="2030-06-01", end="2030-06-02", total_rooms=3)
    assert staff_client.put(availability_url(room_type), body, format="json").status_code == 200
    assert nights_of(room_type)["2030-06-01"][:3] == (3, 0, 3)


def test_a_range_below_what_is_committed_is_409_and_changes_no_night(staff_client):
    room_type = RoomTypeFactory()
    nights = put_nights_on_sale(room_type, D, 5, rooms=5, price="80.00")
    hold(nights[3], 4)
    before = snapshot()
    body = availability(start="2030-06-01", end="2030-06-10", total_rooms=3, price="1.00")
    response = staff_client.put(availability_url(room_type), body, format="json")
    body = assert_error(response, 409, "capacity_below_committed")
    assert body["nights"] == [{"date": "2030-06-04", "committed": 4}]
    # Neither the other existing nights nor the missing ones were touched.
    assert snapshot() == before


def test_nights_of_a_room_type_share_one_currency(staff_client):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 2)  # EUR
    other = RoomTypeFactory()
    before = snapshot()
    body = availability(start="2030-07-01", end="2030-07-03", currency="USD")
    response = staff_client.put(availability_url(room_type), body, format="json")
    errors = assert_validation_error(response, "currency")
    assert errors[0]["code"] == "currency_mismatch"
    assert snapshot() == before
    # Another room type may sell in its own currency.
    assert staff_client.put(availability_url(other), body, format="json").status_code == 200


def test_setting_availability_makes_a_room_type_searchable(staff_client, api_client):
    room_type = RoomTypeFactory()
    assert hotel_ids(api_client.get(LIST, STAY)) == []
    staff_client.put(availability_url(room_type), availability(), format="json")
    assert hotel_ids(api_client.get(LIST, {**STAY, "rooms": 10})) == [room_type.hotel.pk]


def test_setting_availability_is_for_staff_only(api_client, customer_client):
    room_type = RoomTypeFactory()
    response = api_client.put(availability_url(room_type), availability(), format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    response = customer_client.put(availability_url(room_type), availability(), format="json")
    assert_error(response, 403, "permission_denied")
    assert not RoomNight.objects.exists()


def test_unknown_hotel_or_room_type_is_404(staff_client):
    room_type = RoomTypeFactory()
    other_hotel = HotelFactory()
    for url in (
        availability_url(room_type, hotel=other_hotel),  # not this hotel's room type
        f"/api/v1/hotels/{room_type.hotel.pk}/room-types/999999/availability/",
        f"/api/v1/hotels/999999/room-types/{room_type.pk}/availability/",
    ):
        assert_error(staff_client.put(url, availability(), format="json"), 404, "not_found")
    assert not RoomNight.objects.exists()


BAD_AVAILABILITY = [
    ("end-equals-start", {"end": "2030-06-01"}, "end"),
    ("end-before-start", {"end": "2030-05-01"}, "end"),
    ("range-too-long", {"end": "2031-06-03"}, "end"),
    ("start-not-a-date", {"start": "2030-06-31"}, "start"),
    ("start-a-datetime", {"start": "2030-06-01T00:00:00Z"}, "start"),
    ("start-a-number", {"start": 20300601}, "start"),
    ("start-missing", {"start": None}, "start"),
    ("rooms-negative", {"total_rooms": -1}, "total_rooms"),
    ("rooms-huge", {"total_rooms": 100_001}, "total_rooms"),
    ("rooms-a-string", {"total_rooms": "10"}, "total_rooms"),
    ("rooms-a-bool", {"total_rooms": True}, "total_rooms"),
    ("price-negative", {"price": "-5.00"}, "price"),
    ("price-three-decimals", {"price": "5.555"}, "price"),
    ("price-huge", {"price": "123456789.00"}, "price"),
    ("price-an-object", {"price": {"amount": 5}}, "price"),
    ("currency-lowercase", {"currency": "eur"}, "currency"),
    ("currency-a-number", {"currency": 978}, "currency"),
    ("currency-missing", {"currency": None}, "currency"),
    ("unknown-field", {"available_rooms": 5}, "available_rooms"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [(c, f) for _, c, f in BAD_AVAILABILITY],
    ids=[n for n, _, _ in BAD_AVAILABILITY],
)
def test_bad_availability_is_400_and_changes_nothing(staff_client, changes, field):
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 3)
    before = snapshot()
    body = {key: value for key, value in availability(**changes).items() if value is not None}
    assert_validation_error(
        staff_client.put(availability_url(room_type), body, format="json"), field
    )
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["not json", "[]", "null", '{"start": "2030-06-01"'])
def test_availability_bodies_that_are_not_a_json_object_are_400(staff_client, raw):
    room_type = RoomTypeFactory()
    response = staff_client.put(availability_url(room_type), raw, content_type="application/json")
    assert_validation_error(response)
    assert not RoomNight.objects.exists()


# --- Methods and URLs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", LIST),
        ("delete", LIST),
        ("post", "{hotel}"),
        ("patch", "{hotel}"),
        ("delete", "{hotel}"),
        ("get", "{availability}"),
        ("post", "{availability}"),
        ("patch", "{availability}"),
        ("delete", "{availability}"),
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "customer", "staff"])
def test_wrong_methods_are_405_with_a_json_body(request, who, method, path):
    client = request.getfixturevalue(
        {"anonymous": "api_client", "customer": "customer_client", "staff": "staff_client"}[who]
    )
    room_type = RoomTypeFactory()
    before = snapshot()
    url = path.format(hotel=detail_url(room_type.hotel), availability=availability_url(room_type))
    assert_error(getattr(client, method)(url, {}, format="json"), 405, "method_not_allowed")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/hotels",
        "/api/v1/hotels/1/room-types/",
        "/api/v1/hotels/1/room-types/1/",
        "/api/v1/hotels/1/room-types/x/availability/",
    ],
)
def test_unknown_urls_are_a_json_404(api_client, path):
    assert_error(api_client.get(path), 404, "not_found")


def test_schema_documents_the_stay_parameters_and_the_bodies(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/hotels/", "/api/v1/hotels/{hotel_id}/"):
        parameters = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"check_in", "check_out", "rooms"} <= parameters
    assert "city" in {p["name"] for p in schema["paths"]["/api/v1/hotels/"]["get"]["parameters"]}
    availability_path = "/api/v1/hotels/{hotel_id}/room-types/{room_type_id}/availability/"
    put = schema["paths"][availability_path]["put"]
    assert "requestBody" in put and "409" in put["responses"]
