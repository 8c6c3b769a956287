"""Throttles counted in Redis: the contract's 429 with Retry-After, booking
creation stricter than reads, rates from settings, off with THROTTLING=off,
and failing open when Redis is down."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from rest_framework.views import APIView

from config.api import throttles
from tests.factories import FlightInventoryFactory

ROOT = Path(__file__).resolve().parents[2]
THROTTLES = [throttles.AnonRateThrottle, throttles.UserRateThrottle, throttles.ScopedRateThrottle]


def rates(**changed):
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **changed,
        },
    }


@pytest.fixture
def throttled(monkeypatch):
    """The production throttle classes on every view (the test settings have none)."""
    monkeypatch.setattr(APIView, "throttle_classes", THROTTLES)


def assert_throttled(response):
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["detail"]
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_login_attempts_are_limited_with_429_and_retry_after(api_client):
    with override_settings(REST_FRAMEWORK=rates(auth="3/min")):
        for _ in range(3):
            response = api_client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})
            assert response.status_code == 400
        assert_throttled(api_client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}))


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_booking_creation_is_stricter_than_reads(customer_client):
    cabin = FlightInventoryFactory(total_seats=50)
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    with override_settings(REST_FRAMEWORK=rates(booking_create="2/min", user="50/min")):
        for _ in range(2):
            assert customer_client.post("/api/v1/bookings/", {"items": [item]}).status_code == 201
        assert_throttled(customer_client.post("/api/v1/bookings/", {"items": [item]}))
        for _ in range(5):
            assert customer_client.get("/api/v1/bookings/").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_each_customer_has_their_own_allowance(customer_client, other_client):
    with override_settings(REST_FRAMEWORK=rates(user="2/min")):
        for _ in range(2):
            assert customer_client.get("/api/v1/bookings/").status_code == 200
        assert_throttled(customer_client.get("/api/v1/bookings/"))
        assert other_client.get("/api/v1/bookings/").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_the_counters_live_in_redis(customer_client, customer):
    with override_settings(REST_FRAMEWORK=rates(user="5/min")):
        customer_client.get("/api/v1/bookings/")
    history = caches["throttle"].get(f"throttle_user_{customer.pk}")
    assert isinstance(history, list) and len(history) == 1


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_throttling_fails_open_when_redis_is_down(customer_client, closed_port, caplog):
    down = {
        **settings.CACHES,
        "throttle": {
            **settings.CACHES["throttle"],
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        },
    }
    with override_settings(CACHES=down, REST_FRAMEWORK=rates(user="1/min")):
        for _ in range(3):
            response = customer_client.get("/api/v1/bookings/")
            assert response.status_code == 200, response.content
    assert any(
        record.name == "django_redis.cache" and "ignored" in record.getMessage()
        for record in caplog.records
    ), "the Redis failure was not logged"


def settings_in_subprocess(**env) -> dict:
    script = (
        "import django, json; django.setup();"
        "from rest_framework.views import APIView;"
        "from rest_framework.settings import api_settings;"
        "print(json.dumps({'classes': [c.__name__ for c in APIView.throttle_classes],"
        " 'rates': api_settings.DEFAULT_THROTTLE_RATES}))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", **env}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_rates_come_from_the_environment_and_throttling_off_turns_them_off():
    on = settings_in_subprocess(THROTTLING="on", THROTTLE_RATE_BOOKING_CREATE="7/min")
    assert on["classes"] == ["AnonRateThrottle", "UserRateThrottle", "ScopedRateThrottle"]
    assert on["rates"]["booking_create"] == "7/min"
    assert settings_in_subprocess(THROTTLING="off")["classes"] == []


LOGIN = "/api/v1/auth/token/"
WRONG = {"username": "x", "password": "y"}


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_rotating_x_forwarded_for_does_not_dodge_the_login_limit(api_client):
    """With no trusted proxy (the default), the client's X-Forwarded-For is
    ignored: every attempt comes from the connection's address."""
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    with override_settings(REST_FRAMEWORK=rates(auth="3/min")):
        for n in range(3):
            response = api_client.post(LOGIN, WRONG, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
            assert response.status_code == 400
        assert_throttled(api_client.post(LOGIN, WRONG, HTTP_X_FORWARDED_FOR="198.51.100.99"))


@pytest.mark.django_db
@pytest.mark.usefixtures("throttled")
def test_behind_one_trusted_proxy_the_last_hop_is_the_client(api_client):
    """The load balancer appends the address it saw: that one counts, and
    whatever the client wrote before it does not."""
    behind_one = {**rates(auth="2/min"), "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=behind_one):
        for forged in ("10.0.0.1", "10.0.0.2"):
            xff = f"{forged}, 203.0.113.7"
            assert api_client.post(LOGIN, WRONG, HTTP_X_FORWARDED_FOR=xff).status_code == 400
        assert_throttled(
            api_client.post(LOGIN, WRONG, HTTP_X_FORWARDED_FOR="10.0.0.3, 203.0.113.7")
        )
        # Another client behind the same balancer has its own allowance.
        assert api_client.post(LOGIN, WRONG, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 400


def test_the_proxy_count_comes_from_the_environment():
    script = (
        "import django, json; django.setup();"
        "from django.conf import settings;"
        "print(json.dumps([settings.REST_FRAMEWORK['NUM_PROXIES'], settings.TRUSTED_PROXY_COUNT]))"
    )
    for environment, expected in (({}, [0, 0]), ({"TRUSTED_PROXY_COUNT": "1"}, [1, 1])):
        env = {key: value for key, value in os.environ.items() if key != "TRUSTED_PROXY_COUNT"}
        env.update(DJANGO_SETTINGS_MODULE="config.settings.local", **environment)
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
