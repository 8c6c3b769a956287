"""The inventory admin: flights with their cabins, hotels, room types and room
nights. Who may see and change it; that a capacity edit or a range of nights
is refused exactly when the API refuses it (same input, nothing changed),
through the same services; and that what it accepts moves `total` and
`available` together, leaving held and booked alone."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import services as bookings
from flights.models import Flight, FlightInventory
from hotels.models import Hotel, RoomNight, RoomType
from tests.factories import (
    FlightFactory,
    FlightInventoryFactory,
    HotelFactory,
    RoomNightFactory,
    RoomTypeFactory,
    UserFactory,
    put_nights_on_sale,
)
from tests.invariants import assert_inventory_consistent

D = date(2030, 6, 1)
FLIGHTS = reverse("admin:flights_flight_changelist")
ADD_FLIGHT = reverse("admin:flights_flight_add")
CABINS = reverse("admin:flights_flightinventory_changelist")
HOTELS = reverse("admin:hotels_hotel_changelist")
ROOM_TYPES = reverse("admin:hotels_roomtype_changelist")
NIGHTS = reverse("admin:hotels_roomnight_changelist")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flight_url(flight) -> str:
    return reverse("admin:flights_flight_change", args=[flight.pk])


def availability_url(room_type) -> str:
    return reverse("admin:hotels_roomtype_availability", args=[room_type.pk])


def snapshot():
    """Every inventory row, to prove that a refusal changed nothing."""
    return (
        list(Flight.objects.order_by("pk").values()),
        list(FlightInventory.objects.order_by("pk").values()),
        list(Hotel.objects.order_by("pk").values()),
        list(RoomType.objects.order_by("pk").values()),
        list(RoomNight.objects.order_by("pk").values()),
    )


def counters(cabin) -> tuple[int, int, int, int]:
    cabin.refresh_from_db()
    return cabin.total_seats, cabin.available_seats, cabin.held_seats, cabin.booked_seats


def commit(customer, items, *, confirm: bool):
    booking = bookings.hold_booking(customer=customer, items=items).booking
    if confirm:
        bookings.confirm_booking(booking=booking, payment_reference="pay", actor=customer)
    return booking


@pytest.fixture
def committed_cabin(db):
    """Economy, 10 seats: 3 held and 2 booked by real bookings, 5 available;
    the flight also has a business cabin of 4."""
    cabin = FlightInventoryFactory(total_seats=10)
    FlightInventoryFactory(flight=cabin.flight, cabin_class="business", total_seats=4)
    seats = bookings.FlightRequest
    commit(UserFactory(), [seats(cabin.flight_id, "economy", 3)], confirm=False)
    commit(UserFactory(), [seats(cabin.flight_id, "economy", 2)], confirm=True)
    assert counters(cabin) == (10, 5, 3, 2)
    return cabin


def cabin_post(flight, changes: dict[str, dict] | None = None, new: list[dict] | None = None):
    """The flight page's form as a browser posts it: every cabin with its
    shown total and price, `changes` by cabin class applied on top, and
    `new` cabins added after them."""
    cabins = list(flight.cabins.order_by("pk"))
    new = new or []
    data = {
        "cabins-TOTAL_FORMS": len(cabins) + len(new),
        "cabins-INITIAL_FORMS": len(cabins),
        "cabins-MIN_NUM_FORMS": 0,
        "cabins-MAX_NUM_FORMS": 4,
        "_save": "Save",
    }
    for index, cabin in enumerate(cabins):
        fields = {"total_seats": cabin.total_seats, "price": cabin.price}
        fields.update((changes or {}).get(cabin.cabin_class, {}))
        data.update({f"cabins-{index}-{name}": value for name, value in fields.items()})
        data[f"cabins-{index}-id"] = cabin.pk
        data[f"cabins-{index}-flight"] = flight.pk
    for index, fields in enumerate(new, start=len(cabins)):
        data.update({f"cabins-{index}-{name}": value for name, value in fields.items()})
        data[f"cabins-{index}-flight"] = flight.pk
    return data


def cabin_errors(response) -> list[dict]:
    """The errors of each cabin form on a re-shown flight page."""
    assert response.status_code == 200, response.status_code
    (inline,) = response.context["inline_admin_formsets"]
    return inline.formset.errors


def api_cabin_url(cabin) -> str:
    return f"/api/v1/flights/{cabin.flight_id}/cabins/{cabin.cabin_class}/"


def api_availability_url(room_type) -> str:
    return f"/api/v1/hotels/{room_type.hotel_id}/room-types/{room_type.pk}/availability/"


# --- Who may see it --------------------------------------------------------------------


def inventory_pages(cabin, night) -> list[str]:
    room_type = night.room_type
    return [
        FLIGHTS,
        f"{FLIGHTS}?q=HAN-SGN",
        flight_url(cabin.flight),
        ADD_FLIGHT,
        CABINS,
        HOTELS,
        reverse("admin:hotels_hotel_change", args=[room_type.hotel_id]),
        reverse("admin:hotels_hotel_add"),
        ROOM_TYPES,
        reverse("admin:hotels_roomtype_change", args=[room_type.pk]),
        availability_url(room_type),
        NIGHTS,
        f"{NIGHTS}?room_type__hotel__id__exact={room_type.hotel_id}",
    ]


def test_inventory_pages_render_for_superusers_and_inventory_managers(
    superuser, inventory_manager, committed_cabin
):
    night = RoomNightFactory()
    for user in (superuser, inventory_manager):
        client = client_of(user)
        for url in inventory_pages(committed_cabin, night):
            assert client.get(url).status_code == 200, (user, url)


def test_the_flight_page_shows_counters_but_offers_only_total_and_price(
    inventory_manager, committed_cabin
):
    response = client_of(inventory_manager).get(flight_url(committed_cabin.flight))
    (inline,) = response.context["inline_admin_formsets"]
    economy = next(f for f in inline.formset.forms if f.instance.pk == committed_cabin.pk)
    editable = {name for name, field in economy.fields.items() if not field.disabled}
    assert editable == {"id", "flight", "total_seats", "price"}
    html = response.content.decode()
    for name in ("available_seats", "held_seats", "booked_seats"):
        assert f'name="cabins-0-{name}"' not in html
    row = html[html.index('id="cabins-0"') :].split("</tr>")[0]
    assert ">5<" in row and ">3<" in row and ">2<" in row  # available, held, booked shown


def test_customers_are_sent_to_the_login(shopper, committed_cabin):
    night = RoomNightFactory()
    client = client_of(shopper)
    for url in inventory_pages(committed_cabin, night):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_booking_agents_may_not_see_or_change_inventory(agent, committed_cabin):
    night = RoomNightFactory()
    client = client_of(agent)
    for url in inventory_pages(committed_cabin, night):
        assert client.get(url).status_code == 403, url
    before = snapshot()
    flight = committed_cabin.flight
    response = client.post(flight_url(flight), cabin_post(flight, {"economy": {"total_seats": 50}}))
    assert response.status_code == 403
    response = client.post(
        availability_url(night.room_type),
        {"start": D, "end": D + timedelta(days=2), "total_rooms": 5, "price": "1.00"},
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_viewing_inventory_is_not_changing_it(bare_staff, committed_cabin):
    """Staff who may only view flights and room types see the pages, cannot
    post to them and are not offered the availability form."""
    from django.contrib.auth.models import Permission

    bare_staff.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_flight", "view_flightinventory", "view_hotel", "view_roomtype"]
        )
    )
    night = RoomNightFactory()
    client = client_of(bare_staff)
    flight = committed_cabin.flight
    assert client.get(flight_url(flight)).status_code == 200
    before = snapshot()
    response = client.post(flight_url(flight), cabin_post(flight, {"economy": {"total_seats": 50}}))
    assert response.status_code == 403
    for url in (
        reverse("admin:hotels_roomtype_change", args=[night.room_type_id]),
        reverse("admin:hotels_hotel_change", args=[night.room_type.hotel_id]),
        ROOM_TYPES,
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert availability_url(night.room_type) not in page.content.decode()
    assert client.get(availability_url(night.room_type)).status_code == 403
    assert snapshot() == before


# --- Cabin capacity: the admin refuses what the API refuses ----------------------------

# (name, the change to the economy cabin, the field the API names)
REFUSED_CABIN_CHANGES = [
    ("below-committed", {"total_seats": 4}, None),
    ("below-committed-with-a-price", {"total_seats": 4, "price": "1.00"}, None),
    ("to-zero", {"total_seats": 0}, None),
    ("seats-negative", {"total_seats": -1}, "total_seats"),
    ("seats-huge", {"total_seats": 100_001}, "total_seats"),
    ("price-negative", {"price": "-0.01"}, "price"),
    ("price-three-decimals", {"price": "1.001"}, "price"),
    ("price-huge", {"price": "123456789.00"}, "price"),
]


@pytest.mark.parametrize(
    ("change", "api_field"),
    [(c, f) for _, c, f in REFUSED_CABIN_CHANGES],
    ids=[n for n, _, _ in REFUSED_CABIN_CHANGES],
)
def test_a_cabin_change_the_api_refuses_is_refused_in_the_admin(
    inventory_manager, staff_client, committed_cabin, change, api_field
):
    flight = committed_cabin.flight
    before = snapshot()
    api = staff_client.patch(api_cabin_url(committed_cabin), change, format="json")
    assert api.status_code == (409 if api_field is None else 400), api.content
    assert snapshot() == before

    response = client_of(inventory_manager).post(
        flight_url(flight), cabin_post(flight, {"economy": change})
    )
    errors = cabin_errors(response)
    economy = errors[0]
    if api_field is None:  # the service's refusal, word for word
        assert api.json()["code"] == "capacity_below_committed"
        assert economy == {"__all__": [api.json()["detail"]], "total_seats": ["At least 5."]}
        assert api.json()["detail"] in response.content.decode()
    else:
        assert api_field in {e["field"] for e in api.json()["errors"]}
        assert list(economy) == [api_field]
    assert errors[1] == {}  # the business cabin is fine
    assert snapshot() == before
    assert not LogEntry.objects.exists()


def test_the_refusal_names_what_is_committed(inventory_manager, committed_cabin):
    flight = committed_cabin.flight
    response = client_of(inventory_manager).post(
        flight_url(flight), cabin_post(flight, {"economy": {"total_seats": 4}})
    )
    assert cabin_errors(response)[0] == {
        "__all__": ["5 seats are held or booked; the cabin cannot shrink to 4."],
        "total_seats": ["At least 5."],
    }
    assert "Please correct the errors below." in response.content.decode()


def test_if_one_cabin_is_refused_no_cabin_changes(inventory_manager, committed_cabin):
    """The business cabin's change was applied before economy was refused
    (cabins go in primary key order): it is undone."""
    flight = committed_cabin.flight
    business = flight.cabins.get(cabin_class="business")
    before = snapshot()
    changes = {"economy": {"total_seats": 4}, "business": {"total_seats": 40, "price": "9.00"}}
    # Economy (the lower key) is refused first; business is applied, then undone.
    response = client_of(inventory_manager).post(flight_url(flight), cabin_post(flight, changes))
    assert cabin_errors(response)[0] != {}
    assert snapshot() == before
    assert counters(business) == (4, 4, 0, 0)


def test_a_refused_cabin_after_an_accepted_one_undoes_it(inventory_manager):
    """Economy (lower key) is grown, then business is refused: economy goes back."""
    flight = FlightFactory()
    economy = FlightInventoryFactory(flight=flight, total_seats=10)
    business = FlightInventoryFactory(flight=flight, cabin_class="business", total_seats=4)
    commit(UserFactory(), [bookings.FlightRequest(flight.pk, "business", 3)], confirm=True)
    before = snapshot()
    changes = {"economy": {"total_seats": 50}, "business": {"total_seats": 2}}
    response = client_of(inventory_manager).post(flight_url(flight), cabin_post(flight, changes))
    errors = cabin_errors(response)
    assert errors[0] == {}
    assert errors[1]["__all__"] == ["3 seats are held or booked; the cabin cannot shrink to 2."]
    assert snapshot() == before
    assert counters(economy) == (10, 10, 0, 0) and counters(business) == (4, 1, 0, 3)


# --- Cabin capacity: what is accepted ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "after"),
    [
        ({"total_seats": 30}, (30, 25, 3, 2)),
        ({"total_seats": 5}, (5, 0, 3, 2)),  # down to exactly what is committed
        ({"total_seats": 7, "price": "99.90"}, (7, 2, 3, 2)),
        ({"price": "99.90"}, (10, 5, 3, 2)),
    ],
)
def test_a_capacity_edit_moves_total_and_available_together(
    inventory_manager, committed_cabin, change, after
):
    flight = committed_cabin.flight
    business = flight.cabins.get(cabin_class="business")
    business_before = FlightInventory.objects.filter(pk=business.pk).values().get()
    client = client_of(inventory_manager)

    response = client.post(flight_url(flight), cabin_post(flight, {"economy": change}))

    assert response.status_code == 302, cabin_errors(response)
    assert counters(committed_cabin) == after
    assert committed_cabin.price == Decimal(change.get("price", "129.00"))
    assert FlightInventory.objects.filter(pk=business.pk).values().get() == business_before
    assert_inventory_consistent()
    entry = LogEntry.objects.get()
    assert entry.user == inventory_manager and entry.object_id == str(flight.pk)
    assert "economy" in entry.get_change_message()


def test_a_capacity_edit_matches_the_same_edit_through_the_api(
    inventory_manager, staff_client, committed_cabin
):
    """The same PATCH through the API on a twin flight ends in the same row."""
    twin = FlightInventoryFactory(total_seats=10)
    commit(UserFactory(), [bookings.FlightRequest(twin.flight_id, "economy", 3)], confirm=False)
    commit(UserFactory(), [bookings.FlightRequest(twin.flight_id, "economy", 2)], confirm=True)
    change = {"total_seats": 6, "price": "49.50"}
    assert staff_client.patch(api_cabin_url(twin), change, format="json").status_code == 200
    flight = committed_cabin.flight
    client_of(inventory_manager).post(flight_url(flight), cabin_post(flight, {"economy": change}))

    fields = ["total_seats", "available_seats", "held_seats", "booked_seats", "price", "currency"]
    assert (
        FlightInventory.objects.filter(pk=committed_cabin.pk).values(*fields).get()
        == FlightInventory.objects.filter(pk=twin.pk).values(*fields).get()
    )


def test_counters_posted_by_hand_are_ignored(inventory_manager, committed_cabin):
    flight = committed_cabin.flight
    data = cabin_post(flight, {"economy": {"total_seats": 12}})
    data.update(
        {
            "cabins-0-available_seats": 99,
            "cabins-0-held_seats": 0,
            "cabins-0-booked_seats": 0,
            "cabins-0-currency": "USD",
            "cabins-0-cabin_class": "first",
            "flight_number": "XX1",
            "origin": "CDG",
        }
    )
    response = client_of(inventory_manager).post(flight_url(flight), data)
    assert response.status_code == 302
    assert counters(committed_cabin) == (12, 7, 3, 2)
    assert (committed_cabin.cabin_class, committed_cabin.currency) == ("economy", "EUR")
    flight.refresh_from_db()
    assert (flight.flight_number, flight.origin) != ("XX1", "CDG")


def test_an_unchanged_save_changes_nothing(inventory_manager, committed_cabin):
    flight = committed_cabin.flight
    before = snapshot()
    response = client_of(inventory_manager).post(flight_url(flight), cabin_post(flight))
    assert response.status_code == 302
    assert snapshot() == before


# --- New cabins and new flights ---------------------------------------------------------


def test_a_new_cabin_is_all_on_sale(inventory_manager, committed_cabin):
    flight = committed_cabin.flight
    new = [{"cabin_class": "first", "total_seats": 6, "price": "900.00", "currency": "EUR"}]
    response = client_of(inventory_manager).post(flight_url(flight), cabin_post(flight, new=new))
    assert response.status_code == 302, cabin_errors(response)
    first = flight.cabins.get(cabin_class="first")
    assert counters(first) == (6, 6, 0, 0)
    assert first.price == Decimal("900.00")


@pytest.mark.parametrize(
    ("cabin", "field"),
    [
        ({"cabin_class": "first", "currency": "USD"}, "currency"),  # the flight sells in EUR
        ({"cabin_class": "business"}, None),  # the flight has one already
        ({"cabin_class": "first", "total_seats": -1}, "total_seats"),
        ({"cabin_class": "first", "currency": "eur"}, "currency"),
    ],
)
def test_a_bad_new_cabin_changes_nothing(inventory_manager, committed_cabin, cabin, field):
    flight = committed_cabin.flight
    new = [{"total_seats": 6, "price": "900.00", "currency": "EUR", **cabin}]
    before = snapshot()
    changes = {"economy": {"total_seats": 20}}  # would be fine on its own
    response = client_of(inventory_manager).post(
        flight_url(flight), cabin_post(flight, changes, new=new)
    )
    assert response.status_code == 200
    if field is None:
        formset = response.context["inline_admin_formsets"][0].formset
        assert formset.non_form_errors() == ["Please correct the duplicate data for cabin_class."]
    else:
        assert field in cabin_errors(response)[2]
    assert snapshot() == before


def flight_add_post(cabins: list[dict], **flight) -> dict:
    departure = datetime(2030, 6, 1, 8, 30, tzinfo=UTC)
    data = {
        "flight_number": "VN123",
        "origin": "HAN",
        "destination": "SGN",
        "departure_at_0": departure.date().isoformat(),
        "departure_at_1": "08:30:00",
        "arrival_at_0": departure.date().isoformat(),
        "arrival_at_1": "10:40:00",
        "cabins-TOTAL_FORMS": len(cabins),
        "cabins-INITIAL_FORMS": 0,
        "cabins-MIN_NUM_FORMS": 0,
        "cabins-MAX_NUM_FORMS": 4,
        "_save": "Save",
        **flight,
    }
    for index, cabin in enumerate(cabins):
        data.update({f"cabins-{index}-{name}": value for name, value in cabin.items()})
    return data


ECONOMY = {"cabin_class": "economy", "total_seats": 150, "price": "89.00", "currency": "EUR"}
BUSINESS = {"cabin_class": "business", "total_seats": 12, "price": "420.00", "currency": "EUR"}


def test_staff_add_a_flight_with_its_cabins(inventory_manager):
    response = client_of(inventory_manager).post(ADD_FLIGHT, flight_add_post([ECONOMY, BUSINESS]))
    assert response.status_code == 302, response.context and response.context["errors"]
    flight = Flight.objects.get()
    assert (flight.flight_number, flight.origin, flight.destination) == ("VN123", "HAN", "SGN")
    assert flight.departure_date == date(2030, 6, 1)
    assert response["Location"] == FLIGHTS
    cabins = {c.cabin_class: c for c in flight.cabins.all()}
    assert counters(cabins["economy"]) == (150, 150, 0, 0)
    assert counters(cabins["business"]) == (12, 12, 0, 0)
    assert LogEntry.objects.get().object_id == str(flight.pk)


@pytest.mark.parametrize(
    ("cabins", "flight", "where"),
    [
        ([], {}, "formset"),
        ([ECONOMY, {**BUSINESS, "currency": "USD"}], {}, "cabin"),
        ([ECONOMY, {**ECONOMY, "total_seats": 3}], {}, "formset"),
        ([ECONOMY], {"destination": "HAN"}, "destination"),
        ([ECONOMY], {"arrival_at_1": "08:00:00"}, "arrival_at"),
        ([ECONOMY], {"origin": "han"}, "origin"),
        ([{**ECONOMY, "total_seats": 100_001}], {}, "cabin"),
    ],
    ids=[
        "no-cabin",
        "two-currencies",
        "class-twice",
        "same-airports",
        "arrives-first",
        "lowercase-code",
        "seats-huge",
    ],
)
def test_a_bad_new_flight_is_not_created(inventory_manager, cabins, flight, where):
    response = client_of(inventory_manager).post(ADD_FLIGHT, flight_add_post(cabins, **flight))
    assert response.status_code == 200
    assert not Flight.objects.exists() and not FlightInventory.objects.exists()
    form = response.context["adminform"].form
    formset = response.context["inline_admin_formsets"][0].formset
    if where == "formset":
        assert formset.non_form_errors()
    elif where == "cabin":
        assert any(formset.errors)
    else:
        assert where in form.errors


def test_a_flight_number_departs_once_a_day(inventory_manager):
    FlightFactory(flight_number="VN123", departure_at=datetime(2030, 6, 1, 22, 0, tzinfo=UTC))
    before = snapshot()
    response = client_of(inventory_manager).post(ADD_FLIGHT, flight_add_post([ECONOMY]))
    assert response.context["adminform"].form.errors == {
        "flight_number": ["This flight number already departs on that date."]
    }
    assert snapshot() == before


# --- Search and filters -----------------------------------------------------------------


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_search_by_flight_number_and_route(superuser):
    there = FlightFactory(flight_number="VN201", origin="HAN", destination="SGN")
    back = FlightFactory(flight_number="VN202", origin="SGN", destination="HAN")
    other = FlightFactory(flight_number="QH9", origin="DAD", destination="HAN")
    client = client_of(superuser)
    assert listed(client.get(FLIGHTS, {"q": "vn201"})) == {there.pk}
    assert listed(client.get(FLIGHTS, {"q": "VN20"})) == {there.pk, back.pk}
    for route in ("HAN-SGN", "han sgn", "HAN → SGN", "HAN>SGN"):
        assert listed(client.get(FLIGHTS, {"q": route})) == {there.pk}, route
    assert listed(client.get(FLIGHTS, {"q": "SGN-HAN"})) == {back.pk}
    assert listed(client.get(FLIGHTS, {"q": "dad"})) == {other.pk}


def test_filters_by_departure_date_and_route(superuser):
    today = datetime.now(UTC).replace(hour=23, minute=0, second=0, microsecond=0)
    soon = FlightFactory(origin="HAN", destination="SGN", departure_at=today + timedelta(days=2))
    later = FlightFactory(origin="HAN", destination="DAD", departure_at=today + timedelta(days=20))
    past = FlightFactory(origin="SGN", destination="HAN", departure_at=today - timedelta(days=3))
    client = client_of(superuser)
    day = today.date()

    def flights(**query) -> set[int]:
        return listed(client.get(FLIGHTS, query))

    assert flights(departure_date__gte=day, departure_date__lt=day + timedelta(7)) == {soon.pk}
    assert flights(departure_date__gte=day, departure_date__lt=day + timedelta(30)) == {
        soon.pk,
        later.pk,
    }
    assert flights(departure_date__lt=day) == {past.pk}
    assert flights(route="HAN-SGN") == {soon.pk}
    assert flights(origin="HAN") == {soon.pk, later.pk}
    assert flights(destination="HAN") == {past.pk}
    page = client.get(FLIGHTS).content.decode()
    for label in ("Next 7 days", "Next 30 days", "HAN → DAD", "SGN → HAN"):
        assert label in page


def test_room_nights_are_listed_by_hotel_room_type_and_date(superuser):
    metropole = RoomTypeFactory(hotel__name="Metropole", code="DLX")
    RoomTypeFactory(hotel=metropole.hotel, code="STE")
    other = RoomTypeFactory(hotel__name="Caravelle", code="STD")
    put_nights_on_sale(metropole, D, 3)
    put_nights_on_sale(other, D, 3)
    client = client_of(superuser)

    def nights(**query) -> set[tuple]:
        response = client.get(NIGHTS, query)
        return {(n.room_type_id, n.date) for n in response.context["cl"].result_list}

    assert len(nights()) == 6
    assert nights(room_type__hotel__id__exact=metropole.hotel_id) == {
        (metropole.pk, D + timedelta(i)) for i in range(3)
    }
    assert nights(room_type__id__exact=other.pk, date__gte=D + timedelta(1)) == {
        (other.pk, D + timedelta(1)),
        (other.pk, D + timedelta(2)),
    }
    assert nights(date__gte=D + timedelta(1), date__lt=D + timedelta(2)) == {
        (metropole.pk, D + timedelta(1)),
        (other.pk, D + timedelta(1)),
    }  # a day, as the date filter and the availability page link it
    # With a hotel (or one of its room types) chosen, the room type filter
    # offers only that hotel's; with neither, none.
    for chosen in (
        {"room_type__hotel__id__exact": metropole.hotel_id},
        {"room_type__id__exact": metropole.pk},
    ):
        page = client.get(NIGHTS, chosen).content
        assert b"Metropole DLX" in page and b"Metropole STE" in page
        assert b"Caravelle STD" not in page
    page = client.get(NIGHTS).content
    assert b"Metropole DLX" not in page and b"Caravelle STD" not in page


# --- Availability for a date range: the admin refuses what the API refuses -------------


def availability(**changes) -> dict:
    body = {
        "start": "2030-06-01",
        "end": "2030-06-08",
        "total_rooms": 10,
        "price": "120.00",
        "currency": "EUR",
    }
    body.update(changes)
    return body


@pytest.fixture
def committed_nights(db):
    """A room type with 5 rooms on 5 nights from D; the night of June 4 has
    3 rooms held and 1 booked, June 5 has 2 booked."""
    room_type = RoomTypeFactory()
    put_nights_on_sale(room_type, D, 5, rooms=5, price="80.00")

    def stay(first: int, last: int, rooms: int):
        check_in, check_out = D + timedelta(first), D + timedelta(last)
        return [bookings.HotelRequest(room_type.pk, check_in, check_out, rooms)]

    commit(UserFactory(), stay(3, 4, 3), confirm=False)
    commit(UserFactory(), stay(3, 5, 1), confirm=True)
    commit(UserFactory(), stay(4, 5, 1), confirm=True)
    return room_type


def nights_of(room_type) -> dict[str, tuple]:
    return {
        str(n.date): (n.total_rooms, n.available_rooms, n.held_rooms, n.booked_rooms, n.price)
        for n in RoomNight.objects.filter(room_type=room_type)
    }


REFUSED_AVAILABILITY = [
    ("below-committed", {"total_rooms": 3}, "total_rooms"),
    ("below-committed-one-night", {"start": "2030-06-04", "total_rooms": 3}, "total_rooms"),
    ("end-equals-start", {"end": "2030-06-01"}, "end"),
    ("end-before-start", {"end": "2030-05-01"}, "end"),
    ("range-too-long", {"end": "2031-06-03"}, "end"),
    ("start-not-a-date", {"start": "2030-06-31"}, "start"),
    ("rooms-negative", {"total_rooms": -1}, "total_rooms"),
    ("rooms-huge", {"total_rooms": 100_001}, "total_rooms"),
    ("price-negative", {"price": "-5.00"}, "price"),
    ("price-three-decimals", {"price": "5.555"}, "price"),
    ("price-huge", {"price": "123456789.00"}, "price"),
    ("currency-lowercase", {"currency": "eur"}, "currency"),
    ("currency-mismatch", {"currency": "USD"}, "currency"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [(c, f) for _, c, f in REFUSED_AVAILABILITY],
    ids=[n for n, _, _ in REFUSED_AVAILABILITY],
)
def test_a_range_the_api_refuses_is_refused_by_the_form(
    inventory_manager, staff_client, committed_nights, changes, field
):
    room_type = committed_nights
    before = snapshot()
    body = availability(**changes)
    api = staff_client.put(api_availability_url(room_type), body, format="json")
    assert api.status_code in (400, 409), api.content
    assert snapshot() == before

    response = client_of(inventory_manager).post(availability_url(room_type), body)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if api.status_code == 409:
        assert field in ("total_rooms",)
        assert api.json()["detail"] in errors[field][0]
    else:
        assert field in {e["field"] for e in api.json()["errors"]}
        detail = {e["field"]: e["detail"] for e in api.json()["errors"]}[field]
        if api.json()["errors"][0]["code"] in ("currency_mismatch", "invalid_range"):
            assert errors[field] == [detail]  # the service's words
    assert snapshot() == before


def test_a_capacity_refusal_names_each_night(inventory_manager, committed_nights):
    response = client_of(inventory_manager).post(
        availability_url(committed_nights), availability(total_rooms=1)
    )
    assert response.context["form"].errors["total_rooms"] == [
        "2 night(s) have more rooms held or booked than 1. Nothing was changed. "
        "2030-06-04 (4 held or booked), 2030-06-05 (2 held or booked)."
    ]


def test_a_range_moves_total_and_available_together(inventory_manager, committed_nights):
    room_type = committed_nights
    client = client_of(inventory_manager)
    body = availability(start="2030-06-03", end="2030-06-08", total_rooms=4, price="95.00")

    response = client.post(availability_url(room_type), body)

    assert response.status_code == 302, response.context and response.context["form"].errors
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Set 5 nights of {room_type}, 2030-06-03 to 2030-06-08 (exclusive): 4 rooms at 95.00 EUR."
    ]
    assert nights_of(room_type) == {
        "2030-06-01": (5, 5, 0, 0, Decimal("80.00")),  # outside the range
        "2030-06-02": (5, 5, 0, 0, Decimal("80.00")),
        "2030-06-03": (4, 4, 0, 0, Decimal("95.00")),
        "2030-06-04": (4, 0, 3, 1, Decimal("95.00")),  # held and booked stay
        "2030-06-05": (4, 2, 0, 2, Decimal("95.00")),
        "2030-06-06": (4, 4, 0, 0, Decimal("95.00")),  # created
        "2030-06-07": (4, 4, 0, 0, Decimal("95.00")),
    }
    assert_inventory_consistent()
    listed_nights = client.get(response["Location"]).context["cl"].result_list
    assert sorted(str(n.date) for n in listed_nights) == [f"2030-06-0{d}" for d in range(3, 8)]


def test_the_form_and_the_api_set_the_same_nights(
    inventory_manager, staff_client, committed_nights
):
    twin = RoomTypeFactory()
    body = availability(start="2030-05-30", end="2030-06-03", total_rooms=7, price="70.00")
    assert staff_client.put(api_availability_url(twin), body, format="json").status_code == 200
    client_of(inventory_manager).post(availability_url(committed_nights), body)
    mine, theirs = nights_of(committed_nights), nights_of(twin)
    assert {day: mine[day] for day in theirs} == theirs


def test_the_room_type_page_links_to_the_range_form(inventory_manager):
    room_type = RoomTypeFactory()
    client = client_of(inventory_manager)
    page = client.get(reverse("admin:hotels_roomtype_change", args=[room_type.pk]))
    assert "Set availability for a date range" in page.content.decode()
    assert availability_url(room_type) in page.content.decode()
    hotel_page = client.get(reverse("admin:hotels_hotel_change", args=[room_type.hotel_id]))
    assert availability_url(room_type) in hotel_page.content.decode()
    assert availability_url(room_type) in client.get(ROOM_TYPES).content.decode()
    form = client.get(availability_url(room_type))
    assert form.context["form"]["currency"].initial == "EUR"
    assert "No night of this room type is on sale yet." in form.content.decode()


def test_room_nights_are_never_edited_by_hand(superuser, committed_nights):
    night = RoomNight.objects.filter(room_type=committed_nights).first()
    before = snapshot()
    client = client_of(superuser)
    change = reverse("admin:hotels_roomnight_change", args=[night.pk])
    response = client.post(change, {"total_rooms": 99, "available_rooms": 99})
    assert response.status_code == 403
    assert client.get(reverse("admin:hotels_roomnight_add")).status_code == 403
    assert snapshot() == before


# --- Queries ---------------------------------------------------------------------------


def make_flights(count: int) -> None:
    while Flight.objects.count() < count:
        n = Flight.objects.count()
        flight = FlightFactory(origin=["HAN", "SGN", "DAD"][n % 3], destination="BKK")
        FlightInventoryFactory(flight=flight)
        FlightInventoryFactory(flight=flight, cabin_class="business", total_seats=8)


def make_nights(count: int) -> None:
    while RoomType.objects.count() < count:
        put_nights_on_sale(RoomTypeFactory(hotel=HotelFactory()), D, 2)


@pytest.mark.parametrize(
    ("url", "make", "limit"),
    [
        (FLIGHTS, make_flights, 11),
        (f"{FLIGHTS}?q=HAN-BKK", make_flights, 11),
        (CABINS, make_flights, 9),
        (HOTELS, make_nights, 9),
        (ROOM_TYPES, make_nights, 9),
        (NIGHTS, make_nights, 11),
    ],
)
def test_changelists_cost_the_same_queries_for_3_or_30_rows(superuser, url, make, limit):
    client = client_of(superuser)
    client.get(url)  # session, content types: warm

    def queries_with(count: int) -> int:
        make(count)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries_with(3)
    many = queries_with(30)
    assert few == many
    assert many <= limit
