"""Reads on a PostgreSQL streaming replica (README, "Scaling out"), against the
real hot standby `scripts/services.sh replica` starts: anonymous search and the
staff dashboard read from it, customers and writes stay on the primary, and a
stopped standby costs a retry on the primary, not a 500.

`make test` starts the standby and passes its URL in TEST_DATABASE_REPLICA_URLS;
the data tests write here is committed on the primary's test database and read
on the standby once the standby has replayed that far."""

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from rest_framework.test import APIClient

from config import replicas
from tests.booking_requests import flight_item, hold_through_api
from tests.conftest import client_for
from tests.factories import (
    FlightInventoryFactory,
    HotelFactory,
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parents[2]
REPLICA = "replica_0"
FLIGHTS, HOTELS, DASHBOARD = "/api/v1/flights/", "/api/v1/hotels/", "/admin/dashboard/"

needs_standby = pytest.mark.skipif(
    REPLICA not in connections,
    reason="no standby: TEST_DATABASE_REPLICA_URLS is unset (`make test` starts one "
    "with scripts/services.sh replica and sets it)",
)


# --- The router, without a standby ------------------------------------------


def test_reads_go_to_the_primary_unless_a_replica_was_chosen():
    router = replicas.ReplicaRouter()
    assert router.db_for_read(None) == DEFAULT_DB_ALIAS
    with replicas.reading_from(REPLICA):
        assert router.db_for_read(None) == REPLICA
        assert router.db_for_write(None) == DEFAULT_DB_ALIAS
    assert router.db_for_read(None) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_reads_inside_a_transaction_stay_on_the_primary():
    """What a transaction wrote is on the primary only, until it commits."""
    with replicas.reading_from(REPLICA), transaction.atomic():
        assert replicas.ReplicaRouter().db_for_read(None) == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated():
    router = replicas.ReplicaRouter()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "bookings")
    assert not router.allow_migrate(REPLICA, "bookings")


def test_without_replicas_configured_nothing_is_chosen(settings):
    settings.READ_REPLICAS = []
    assert replicas.healthy_replica() is None


# --- The real standby ---------------------------------------------------------


def services(command: str) -> None:
    """Stops or starts the standby the way a developer does."""
    subprocess.run(
        [str(ROOT / "scripts" / "services.sh"), command],
        check=True,
        capture_output=True,
        timeout=120,
    )


def wait_for_replay(timeout: float = 15.0) -> None:
    """Until the standby has replayed everything the primary committed so far."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (lsn,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, f"the standby did not replay up to {lsn}"
        time.sleep(0.05)


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


@contextmanager
def queries_on(alias: str):
    """The SQL `alias` runs meanwhile. Unlike CaptureQueriesContext it does not
    connect first, so it works on a stopped standby too."""
    run: list[str] = []

    def record(execute, sql, params, many, context):
        run.append(sql)
        return execute(sql, params, many, context)

    with connections[alias].execute_wrapper(record):
        yield run


def tables_read(queries: list[str], table: str) -> int:
    return sum(table in sql for sql in queries)


@pytest.fixture
def standby(settings):
    """Reads may go to the standby in this test (the suite keeps READ_REPLICAS
    empty); it answers at the start and again at the end."""
    settings.READ_REPLICAS = [REPLICA]
    # Each search here must reach a database: none is answered from the search cache.
    settings.SEARCH_CACHE_SECONDS = 0
    replicas.mark_all_up()
    assert in_recovery(REPLICA), "replica_0 is not a standby"
    assert not in_recovery(DEFAULT_DB_ALIAS)
    yield REPLICA
    replicas.mark_all_up()
    connections[REPLICA].close()
    services("replica")


def search(client, url: str, query: dict):
    """One search, with the queries each database ran for it."""
    with (
        queries_on(REPLICA) as on_replica,
        queries_on(DEFAULT_DB_ALIAS) as on_primary,
    ):
        response = client.get(url, query)
    assert response.status_code == 200, response.content
    return response.json()["results"], on_replica, on_primary


def flight_query(cabin) -> dict:
    flight = cabin.flight
    return {
        "origin": flight.origin,
        "destination": flight.destination,
        "date": flight.departure_at.date().isoformat(),
    }


@needs_standby
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_anonymous_search_is_served_by_the_standby(standby):
    cabin = FlightInventoryFactory(total_seats=7)
    hotel = RoomTypeFactory(hotel=HotelFactory()).hotel
    wait_for_replay()

    results, on_replica, on_primary = search(APIClient(), FLIGHTS, flight_query(cabin))
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert tables_read(on_replica, "flights_flight") >= 1
    assert tables_read(on_primary, "flights_") == 0

    results, on_replica, on_primary = search(APIClient(), HOTELS, {"city": hotel.city})
    assert [found["id"] for found in results] == [hotel.pk]
    assert tables_read(on_replica, "hotels_hotel") >= 1
    assert tables_read(on_primary, "hotels_") == 0


@needs_standby
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_customers_and_their_holds_stay_on_the_primary(standby):
    cabin = FlightInventoryFactory(total_seats=7)
    customer = client_for(UserFactory())
    wait_for_replay()

    results, on_replica, on_primary = search(customer, FLIGHTS, flight_query(cabin))
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert on_replica == []
    assert tables_read(on_primary, "flights_flight") >= 1

    with queries_on(REPLICA) as on_replica:
        response = hold_through_api(customer, flight_item(cabin, seats=2))
    assert response.status_code == 201, response.content
    assert on_replica == []
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats) == (5, 2)

    # What the primary wrote reaches the standby, and anonymous search sees it there.
    wait_for_replay()
    results, on_replica, _ = search(APIClient(), FLIGHTS, flight_query(cabin))
    assert results[0]["cabins"][0]["available_seats"] == 5
    assert tables_read(on_replica, "flights_") >= 1


@needs_standby
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_staff_dashboard_reads_from_the_standby(standby, client):
    client.force_login(StaffFactory(is_superuser=True))
    FlightInventoryFactory()
    wait_for_replay()
    with (
        queries_on(REPLICA) as on_replica,
        queries_on(DEFAULT_DB_ALIAS) as on_primary,
    ):
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert tables_read(on_replica, "bookings_booking") >= 1
    assert tables_read(on_replica, "flights_flightinventory") >= 1
    assert tables_read(on_primary, "bookings_booking") == 0
    # The session and the staff member's permissions are read on the primary.
    assert tables_read(on_primary, "django_session") >= 1


@needs_standby
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_search_falls_back_to_the_primary_while_the_standby_is_stopped(
    standby, settings, monkeypatch
):
    cabin = FlightInventoryFactory(total_seats=7)
    query = flight_query(cabin)
    wait_for_replay()
    results, on_replica, _ = search(APIClient(), FLIGHTS, query)
    assert tables_read(on_replica, "flights_flight") >= 1  # its connection is open now

    # Longer than any restart of the standby takes, however loaded the machine.
    settings.REPLICA_COOL_DOWN_SECONDS = 600
    services("replica-down")
    # The open connection breaks mid-request: the same request retries on the primary.
    results, on_replica, on_primary = search(APIClient(), FLIGHTS, query)
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert tables_read(on_primary, "flights_flight") >= 1
    assert replicas.healthy_replica() is None

    # Back already, but cooling down: searches go straight to the primary.
    services("replica")
    results, on_replica, on_primary = search(APIClient(), FLIGHTS, query)
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert on_replica == []
    assert tables_read(on_primary, "flights_flight") >= 1

    # Once the cool-down has run out (the router's clock moved past it), the
    # standby serves again.
    later = SimpleNamespace(monotonic=lambda: time.monotonic() + 601, sleep=time.sleep)
    monkeypatch.setattr(replicas, "time", later)
    wait_for_replay()
    results, on_replica, on_primary = search(APIClient(), FLIGHTS, query)
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert tables_read(on_replica, "flights_flight") >= 1
    assert tables_read(on_primary, "flights_") == 0


@needs_standby
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_search_on_a_standby_that_refuses_connections_is_not_a_500(standby):
    """Down before the first search: the connection itself is refused."""
    cabin = FlightInventoryFactory(total_seats=7)
    connections[REPLICA].close()
    services("replica-down")
    results, _, on_primary = search(APIClient(), FLIGHTS, flight_query(cabin))
    assert [flight["id"] for flight in results] == [cabin.flight_id]
    assert tables_read(on_primary, "flights_flight") >= 1
    assert replicas.healthy_replica() is None
