"""What browsers are told: CORS for the API's configured origins only, and a
Content-Security-Policy without inline scripts on the admin and the docs."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


def preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_cors_is_off_by_default(settings, api_client):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = api_client.get("/api/v1/flights/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response


def test_the_configured_origins_may_call_the_api_and_only_the_api(settings, api_client):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    allowed = preflight(api_client, "/api/v1/bookings/", APP)
    assert allowed["Access-Control-Allow-Origin"] == APP
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in preflight(
        api_client, "/api/v1/bookings/", "https://evil.example.net"
    )
    assert "Access-Control-Allow-Origin" not in preflight(Client(), "/admin/login/", APP)


def script_sources(policy: str) -> list[str]:
    directive = re.search(r"script-src ([^;]*)", policy).group(1)
    return directive.split()


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_pages_forbid_inline_scripts(path):
    response = Client().get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in script_sources(policy)
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    html = response.content.decode()
    # So every script the page has must be a file of ours.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_the_docs_start_up_script_is_served_as_a_file():
    html = Client().get("/api/docs/").content.decode()
    (start_up,) = re.findall(r'<script src="(/api/docs/\?[^"]+)"', html)
    script = Client().get(start_up.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_json_answers_carry_no_policy(customer_client):
    response = customer_client.get("/api/v1/bookings/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert "Content-Security-Policy" in Client().get("/admin/login/")
