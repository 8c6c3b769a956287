"""Shared fixtures. Every test runs on the real PostgreSQL and Redis that
`make test` provisions; Redis keys of the test run are flushed around each test."""

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from accounts.tokens import issue_token
from locking import breaker
from tests.factories import FlightInventoryFactory, StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    """Locks, throttles and counters of one test never leak into the next,
    nor does an outage another test left in Redis's circuit breaker."""
    breaker.close_all()
    connection = get_redis_connection("default")
    connection.flushdb()
    yield
    breaker.close_all()
    connection.flushdb()


@pytest.fixture
def api_client():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def other_customer(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    """Staff with every permission (the demo's `staff`); tests/security and
    tests/admin have the staff groups and bare staff."""
    return StaffFactory(is_superuser=True)


@pytest.fixture
def cabin(db):
    """10 economy seats at 129.00 EUR, departing in 10 days. Folders whose
    tests need another size override it."""
    return FlightInventoryFactory(total_seats=10)


@pytest.fixture
def customer_client(customer):
    return client_for(customer)


@pytest.fixture
def other_client(other_customer):
    return client_for(other_customer)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


REFUSED_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """The cache (and so the locks) pointed at a loopback port where nothing
    listens: every Redis call gets a real refused connection, no mock."""
    from django_redis.pool import ConnectionFactory

    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["LOCATION"] = REFUSED_REDIS_URL
    settings.CACHES = caches  # setting_changed makes Django build new cache clients
    ConnectionFactory._pools.pop(REFUSED_REDIS_URL, None)
    yield
    ConnectionFactory._pools.pop(REFUSED_REDIS_URL, None)
