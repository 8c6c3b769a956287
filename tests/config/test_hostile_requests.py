"""Requests a client should not send still get the contract's JSON answer
(docs/api.md, Errors): unknown URLs whatever the method, error pages asked for as
HTML, bodies nested or sized to exhaust the server, and odd characters in
path segments. None is a 500, none is HTML, none changes anything."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings

from bookings.models import Booking
from flights.models import Flight
from tests.api_errors import assert_error, assert_validation_error
from tests.factories import FlightInventoryFactory

pytestmark = pytest.mark.django_db

DEEP = 100_000


@pytest.fixture
def browser(customer):
    """A logged-in browser session, with Django's CSRF checks enforced as
    they are outside tests."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    return client


# --- Unknown URLs: a JSON 404 whatever the method -----------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path", ["/api/v1/bookings", "/api/v1/nothing/", "/api/v2/flights/", "/api/"]
)
def test_an_unknown_api_url_is_a_json_404_whatever_the_method(browser, method, path):
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    assert_error(getattr(browser, method)(path, **body), 404, "not_found")


def test_a_post_without_the_slash_is_a_404_and_holds_nothing(customer_client, cabin):
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    response = customer_client.post("/api/v1/bookings", {"items": [item]}, format="json")
    assert_error(response, 404, "not_found")
    assert not Booking.objects.exists()


# --- JSON, never the browsable API's HTML ----------------------------------------------


def test_production_renders_json_only_as_the_tests_do():
    """The tests below run with the renderers production has; only `local`
    adds the browsable API."""
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    production = json.loads(result.stdout.strip().splitlines()[-1])
    assert production == ["rest_framework.renderers.JSONRenderer"]
    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == production


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml;q=0.9"])
def test_an_error_asked_for_as_html_is_json_with_its_own_status(customer_client, accept):
    response = customer_client.post("/api/v1/hotels/", {}, format="json", HTTP_ACCEPT=accept)
    assert_error(response, 403, "permission_denied")
    response = customer_client.get("/api/v1/bookings/ZZZZZZ/", HTTP_ACCEPT=accept)
    assert_error(response, 404, "not_found")
    response = customer_client.get("/api/v1/flights/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


# --- Bodies nested or sized to exhaust the server ------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/api/v1/bookings/", "/api/v1/flights/", "/api/v1/hotels/"])
def test_a_deeply_nested_body_is_a_validation_error(staff_client, path):
    response = staff_client.post(path, nested(DEEP), content_type="application/json")
    errors = assert_validation_error(response)
    assert errors[0]["code"] == "too_deep"
    assert not Booking.objects.exists() and not Flight.objects.exists()


def test_a_body_nested_within_the_limit_reaches_validation(staff_client):
    depth = settings.API_MAX_JSON_DEPTH
    response = staff_client.post("/api/v1/flights/", nested(depth), content_type="application/json")
    errors = assert_validation_error(response)
    assert errors[0]["code"] != "too_deep"
    response = staff_client.post(
        "/api/v1/flights/", nested(depth + 1), content_type="application/json"
    )
    assert assert_validation_error(response)[0]["code"] == "too_deep"


def test_deep_nesting_inside_an_object_is_refused_too(customer_client):
    body = '{"items": [' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "]}"
    response = customer_client.post("/api/v1/bookings/", body, content_type="application/json")
    assert assert_validation_error(response)[0]["code"] == "too_deep"


@pytest.mark.parametrize("path", ["/api/v1/bookings/", "/api/v1/flights/"])
def test_a_body_over_the_size_limit_is_a_413(staff_client, path):
    padding = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = staff_client.post(
        path, '{"items": [], "pad": "' + padding + '"}', content_type="application/json"
    )
    assert_error(response, 413, "request_too_large")
    assert not Booking.objects.exists() and not Flight.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=200)
def test_the_size_limit_is_the_setting(customer_client, cabin):
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    assert customer_client.post("/api/v1/bookings/", {"items": [item]}).status_code == 201
    response = customer_client.post("/api/v1/bookings/", {"items": [item] * 3})
    assert_error(response, 413, "request_too_large")


# --- Odd characters in path segments: 404, never 500 ---------------------------------

ODD = ["%00", "%0A", "%FF", "%C3%A9", "..%2F", "%20", "%25", "a%00b", "%EF%BF%BF", "%F0%9F%92%A5"]


@pytest.mark.parametrize("segment", ODD)
def test_an_odd_cabin_class_is_a_404_and_changes_nothing(staff_client, segment):
    cabin = FlightInventoryFactory()
    url = f"/api/v1/flights/{cabin.flight_id}/cabins/{segment}/"
    assert_error(staff_client.patch(url, {"price": "1.00"}, format="json"), 404, "not_found")
    cabin.refresh_from_db()
    assert str(cabin.price) != "1.00"


@pytest.mark.parametrize("segment", ODD)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("get", "/api/v1/bookings/{}/"),
        ("post", "/api/v1/bookings/{}/cancel/"),
        ("post", "/api/v1/bookings/{}/extend/"),
        ("post", "/api/v1/bookings/{}/confirm/"),
        ("get", "/api/v1/flights/{}/"),
        ("get", "/api/v1/hotels/{}/"),
        ("put", "/api/v1/hotels/1/room-types/{}/availability/"),
    ],
)
def test_odd_characters_in_path_segments_are_a_json_404(staff_client, method, template, segment):
    response = getattr(staff_client, method)(template.format(segment), {}, format="json")
    assert_error(response, 404, "not_found")
