"""The index each query of the scale benchmark must use, read from
PostgreSQL's EXPLAIN by name.

Plans are taken on tables with tens of thousands of rows and fresh
statistics (tests/plan_rows.py, then ANALYZE), not with `enable_seqscan =
off`: forbidding sequential scans shows an index *can* serve a query, not
that the planner *chooses* it, and on empty tables it chooses by default
guesses (it took the nights' date index over the room type's for hotel
search). At this size a full scan already costs more than the right index,
so a plan that falls back to one, or to another index, fails here.

Reconcile reads every counter, so its full check is a sequential pass by
design (linear in the inventory); what must use indexes is its repair's
re-check of a chunk of rows, which runs once per chunk."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import reconciliation
from bookings.models import Booking
from bookings.selectors import bookings_visible_to
from bookings.services.expire import _overdue
from events.deliveries import LEASE
from flights.models import FlightInventory
from flights.selectors import search_flights
from hotels.models import RoomNight, RoomType
from hotels.selectors import Stay, hotel_listings, search_hotels
from tests.factories import StaffFactory, UserFactory
from tests.plan_rows import BOOKINGS, FLIGHTS, HOTELS, load

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rows")]


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker):
    """The rows, loaded once for the module in a transaction rolled back after
    it (each test runs in a savepoint inside)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            load(FLIGHTS, HOTELS, BOOKINGS)
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def plan(queryset) -> str:
    return queryset.explain()


def assert_uses(plan_text: str, *indexes: str, unscanned: tuple[str, ...] = ()) -> None:
    """The plan reads through each of `indexes`, and scans no table whole
    (or, given `unscanned`, none of those: a small table it joins may be
    hashed whole at this size)."""
    for index in indexes:
        assert f" {index} " in plan_text, plan_text
    if unscanned:
        for table in unscanned:
            assert f"Seq Scan on {table} " not in plan_text, plan_text
    else:
        assert "Seq Scan" not in plan_text, plan_text


def changelist_page(model, **params):
    """The page query of `model`'s admin changelist with these filters, as a
    superuser sees it."""
    request = RequestFactory().get("/admin/", params)
    request.user = StaffFactory(is_superuser=True)
    changelist = site._registry[model].get_changelist_instance(request)
    return changelist.queryset[: changelist.list_per_page]


def today():
    return timezone.now().date()


def test_flight_search_by_route_and_day():
    flights = search_flights(
        origin="BAA", destination="BAB", departure_date=today() + timedelta(days=3), seats=2
    )
    assert_uses(plan(flights[:20]), "flight_route_day", "one_inventory_per_cabin")
    assert_uses(plan(flights.order_by()), "flight_route_day")  # the page's count


def test_hotel_search_by_city_for_a_stay():
    stay = Stay(today() + timedelta(days=3), today() + timedelta(days=6), rooms=2)
    hotels = search_hotels(city="city 7", stay=stay)
    assert_uses(plan(hotels[:20]), "hotel_city_upper", "one_room_night_per_date")


def test_a_customers_booking_list():
    customer = UserFactory(username="plan7")
    page = bookings_visible_to(customer)[:20]
    assert_uses(plan(page), "booking_customer_recent")


def test_the_sweeps_overdue_holds():
    assert_uses(plan(_overdue(timezone.now())[:500]), "booking_held_expiry")


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "booking_created"),
        ({"status": "held"}, "booking_held_expiry"),
        ({"created_at__gte": "yesterday"}, "booking_created"),
    ],
)
def test_the_admin_booking_changelist(params, index):
    if params.get("created_at__gte") == "yesterday":
        params = {"created_at__gte": str(timezone.now() - timedelta(days=1))}
    assert_uses(plan(changelist_page(Booking, **params)), index)


def test_the_admin_cabin_changelist():
    assert_uses(plan(changelist_page(FlightInventory)), "one_inventory_per_cabin")


def test_the_admin_cabin_changelist_of_a_day():
    """The flights of the day by index; their 60 cabins may be read with
    the 9,000 others hashed, as the planner weighs it at this size."""
    day = {
        "flight__departure_date__gte": str(today()),
        "flight__departure_date__lt": str(today() + timedelta(days=1)),
    }
    page = changelist_page(FlightInventory, **day)
    assert_uses(plan(page), "flight_day", unscanned=("flights_flight",))


@pytest.mark.parametrize("filtered_by", [None, "day", "room_type", "hotel"])
def test_the_admin_room_night_changelist(filtered_by):
    params, index, unscanned = {}, "room_night_day", ()
    if filtered_by == "day":
        params = {"date__gte": str(today()), "date__lt": str(today() + timedelta(days=1))}
    elif filtered_by == "room_type":
        params = {"room_type__id__exact": str(RoomType.objects.values_list("pk")[17][0])}
        index = "one_room_night_per_date"
    elif filtered_by == "hotel":
        # The hotel's few room types, then their nights by the unique index.
        params = {"room_type__hotel__id__exact": str(RoomType.objects.values_list("hotel")[17][0])}
        index, unscanned = "one_room_night_per_date", ("hotels_roomnight",)
    assert_uses(plan(changelist_page(RoomNight, **params)), index, unscanned=unscanned)


def test_reconciles_recheck_of_a_chunk():
    cabins = list(FlightInventory.objects.order_by("pk").values_list("pk", flat=True)[100:300])
    nights = list(RoomNight.objects.order_by("pk").values_list("pk", flat=True)[100:300])
    with plans_of_statements() as plans:
        reconciliation._cabin_drift(cabins)
        reconciliation._night_drift(nights)
    cabin_plan, night_plan = plans
    assert_uses(
        cabin_plan,
        "flights_flightinventory_pkey",
        unscanned=("flights_flightinventory", "bookings_flightitem"),
    )
    assert_uses(night_plan, "hotels_roomnight_pkey", unscanned=("hotels_roomnight",))


@contextmanager
def plans_of_statements():
    """The EXPLAIN of every statement run meanwhile, exactly as the code runs
    it (the statement then runs as well)."""
    plans = []

    def explain_first(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):  # not SAVEPOINT, SET, ...
            with context["connection"].connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_first):
        yield plans


def test_hotel_search_page_offers_for_a_stay():
    """The page's room types with the stay's figures (`hotel_listings`):
    their nights by the unique index, never a scan of the nights. At this
    size (1,600 room types) the planner reads the room types whole, at the
    full size (8,000) through `hotels_roomtype_hotel_id_04482498` (README,
    "Scale"): either way a few pages."""
    stay = Stay(today() + timedelta(days=3), today() + timedelta(days=6), rooms=2)
    page = list(search_hotels(city="city 7", stay=stay)[:20])
    assert page
    with CaptureQueriesContext(connection) as captured:
        hotel_listings(page, stay=stay, only_fitting=True)
    (offers,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + offers["sql"])
        plan_text = "\n".join(row[0] for row in cursor.fetchall())
    assert_uses(plan_text, "one_room_night_per_date", unscanned=("hotels_roomnight",))


DELIVERIES = """
INSERT INTO events_webhookendpoint
    (url, secret, description, event_types, is_active, created_at, disabled_reason)
VALUES ('https://plan.example/hook', 'whsec_plan', 'plan', '{}', true, now(), '');
INSERT INTO events_event (id, type, created_at, data, relayed_at)
SELECT 'evt_plan' || lpad(i::text, 12, '0'), 'booking.held', now(), '{}', now()
FROM generate_series(1, 30000) AS i;
INSERT INTO events_webhookdelivery (
    ordering_key, status, attempts, round_attempts, next_attempt_at, last_error, created_at,
    event_id, endpoint_id
)
SELECT 'PL' || (i % 9000), CASE WHEN i <= 20000 THEN 'delivered' ELSE 'pending' END, 1, 0,
       now(), '', now(), 'evt_plan' || lpad(i::text, 12, '0'),
       (SELECT max(id) FROM events_webhookendpoint)
FROM generate_series(1, 30000) AS i;
ANALYZE events_event, events_webhookdelivery;
"""


def round_plan(*, forget_statistics: bool = False) -> str:
    """The plan of an endpoint's round over DELIVERIES; with
    `forget_statistics`, as the table is before autovacuum's first ANALYZE
    (rolled back with the test)."""
    load(DELIVERIES)
    with connection.cursor() as cursor:
        if forget_statistics:
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = 'events_webhookdelivery'::regclass"
            )
            cursor.execute(
                "UPDATE pg_class SET reltuples = -1 WHERE oid = 'events_webhookdelivery'::regclass"
            )
        cursor.execute("SELECT max(id) FROM events_webhookendpoint")
        (endpoint_id,) = cursor.fetchone()
        now = timezone.now()
        cursor.execute(
            "EXPLAIN " + LEASE.format(column="endpoint_id"),
            {"key": endpoint_id, "now": now, "lease": now, "limit": 50},
        )
        return "\n".join(line for (line,) in cursor.fetchall())


def test_an_endpoints_round_reads_only_its_pending_deliveries():
    """Most of a busy endpoint's deliveries are delivered: its round reads
    the pending ones in event order, never walking past the delivered."""
    plan_text = round_plan()
    assert_uses(plan_text, "delivery_pending_by_event", unscanned=("events_webhookdelivery",))


def test_a_rounds_line_check_reads_the_bookings_line_even_without_statistics():
    """The round's check that no earlier delivery of the same booking is
    pending looks up that booking's line (endpoint, ordering key, event),
    not every earlier pending delivery of the endpoint, also on a table the
    planner knows nothing about (just filled, not yet analyzed), where both
    indexes would cost it the same."""
    outer, _, line_check = round_plan(forget_statistics=True).partition("SubPlan")
    assert_uses(outer, "delivery_pending_by_event", unscanned=("events_webhookdelivery",))
    assert_uses(line_check, "delivery_pending_in_order", unscanned=("events_webhookdelivery",))
