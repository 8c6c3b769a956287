"""The Redis circuit breaker (locking.breaker) against a real Redis server that
hangs: stopped with SIGSTOP, so it accepts connections and never answers, and
each call would wait out its socket timeout."""

import os
import signal
import subprocess
import time

import pytest
from django_redis.pool import ConnectionFactory
from prometheus_client import REGISTRY
from rest_framework.views import APIView

from config.api import throttles
from flights.models import FlightInventory
from locking import breaker, locks
from tests.booking_requests import flight_item, hold_through_api
from tests.conftest import client_for
from tests.factories import FlightInventoryFactory, UserFactory
from tests.faults.stack import free_ports, wait_until
from tests.invariants import assert_inventory_consistent

COOL_DOWN = 1.0
FAST = 0.5  # a request that waited out one Redis timeout is not fast


def opens() -> float:
    return REGISTRY.get_sample_value("travel_redis_breaker_opens_total") or 0.0


@pytest.fixture
def hung_redis(settings, monkeypatch):
    """A private redis-server the cache, the throttles and the locks point
    at; `hang()` stops it with SIGSTOP, `resume()` continues it. The
    production throttles are on, so every API request calls Redis too."""
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    for alias in ("default", "throttle"):
        caches[alias]["LOCATION"] = url
    settings.CACHES = caches
    settings.REDIS_COOL_DOWN_SECONDS = COOL_DOWN
    monkeypatch.setattr(
        APIView,
        "throttle_classes",
        [throttles.AnonRateThrottle, throttles.UserRateThrottle, throttles.ScopedRateThrottle],
    )
    address = f"127.0.0.1:{port}"

    class Control:
        breaker = breaker.breaker_for(address)

        @staticmethod
        def hang():
            os.kill(server.pid, signal.SIGSTOP)

        @staticmethod
        def resume():
            os.kill(server.pid, signal.SIGCONT)

    try:
        wait_until(lambda: _answers(port), timeout=10, interval=0.05, what="the test's Redis")
        yield Control
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)
        ConnectionFactory._pools.pop(url, None)


def _answers(port: int) -> bool:
    return (
        subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
        ).stdout.strip()
        == "PONG"
    )


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_hung_redis_is_skipped_after_its_first_timeout_and_nothing_oversells(
    hung_redis, api_client
):
    cabin = FlightInventoryFactory(total_seats=5)
    clients = [client_for(UserFactory()) for _ in range(20)]
    opened_before = opens()
    hung_redis.hang()

    answers = [_timed(lambda c=c: hold_through_api(c, flight_item(cabin))) for c in clients]
    flights, flights_took = _timed(lambda: api_client.get("/api/v1/flights/"))

    first_took = answers[0][1]
    slow = [round(took, 3) for _, took in answers[1:] if took >= FAST]
    assert not slow, f"holds after the first Redis timeout ({first_took:.3f}s) still waited: {slow}"
    assert flights.status_code == 200 and flights_took < FAST, flights_took
    statuses = sorted(response.status_code for response, _ in answers)
    assert statuses == [201] * 5 + [409] * 15
    refused = {response.json()["code"] for response, _ in answers if response.status_code == 409}
    assert refused == {"insufficient_inventory"}
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats, cabin.booked_seats) == (0, 5, 0)
    assert_inventory_consistent()
    assert hung_redis.breaker.is_open
    assert opens() == opened_before + 1
    assert "travel_redis_breaker_opens_total" in api_client.get("/metrics").content.decode()

    hung_redis.resume()
    wait_until(
        lambda: not _degraded_lock(), timeout=10 * COOL_DOWN, interval=0.1, what="Redis used again"
    )
    assert not hung_redis.breaker.is_open
    assert opens() == opened_before + 1


@pytest.mark.django_db(transaction=True)
def test_a_cached_search_reads_postgresql_while_redis_hangs(hung_redis, api_client):
    """The search cache goes through the same breaker: once Redis has timed
    out, dated searches skip it and answer from PostgreSQL at once."""
    cabin = FlightInventoryFactory(total_seats=5)
    flight = cabin.flight
    query = {"origin": flight.origin, "destination": flight.destination}
    query["date"] = flight.departure_date.isoformat()
    assert api_client.get("/api/v1/flights/", query).status_code == 200  # now cached
    hung_redis.hang()
    FlightInventory.objects.filter(pk=cabin.pk).update(available_seats=4, blocked_seats=1)
    answers = [_timed(lambda: api_client.get("/api/v1/flights/", query)) for _ in range(5)]
    for response, _ in answers:
        assert response.status_code == 200
        assert response.json()["results"][0]["cabins"][0]["available_seats"] == 4
    assert all(took < FAST for _, took in answers[1:]), [took for _, took in answers]
    assert hung_redis.breaker.is_open


def _degraded_lock() -> bool:
    with locks.acquire(locks.customer_key(0), wait=0) as taken:
        return taken.degraded


def test_a_refused_connection_opens_the_breaker_and_the_next_calls_skip_redis(redis_down):
    from django_redis import get_redis_connection
    from redis.exceptions import ConnectionError

    with pytest.raises(ConnectionError) as first:
        get_redis_connection("default").ping()
    assert not isinstance(first.value, breaker.RedisUnavailable)
    with pytest.raises(breaker.RedisUnavailable):
        get_redis_connection("default").ping()
