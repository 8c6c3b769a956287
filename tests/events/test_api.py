"""The events feed and the webhook endpoints through the API (docs/api.md,
Events and webhooks): staff only, the contract's fields, bad input a 4xx
that changes nothing."""

import pytest
from standardwebhooks.webhooks import Webhook

from events.models import Event, WebhookEndpoint
from events.services import relay_pending
from tests.api_errors import assert_error, assert_validation_error
from tests.events.conftest import relay_and_deliver
from tests.holds import hold_through_services

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"
ENDPOINTS = "/api/v1/webhook-endpoints/"


def new_events(n: int, type: str = "booking.held") -> list[Event]:
    return [
        Event.objects.create(type=type, data={"booking": {"reference": f"R{i}"}}) for i in range(n)
    ]


def test_the_feed_lists_relayed_events_oldest_first_with_a_cursor(staff_client):
    events = new_events(5)
    Event.objects.create(type="booking.confirmed", data={"booking": {"reference": "C"}})
    relay_pending()
    new_events(1)  # not relayed yet: not in the feed

    page = staff_client.get(FEED, {"limit": 2}).json()
    assert [e["id"] for e in page["results"]] == [e.id for e in events[:2]]
    assert set(page["results"][0]) == {"id", "type", "created_at", "data"}
    assert page["results"][0]["data"] == {"booking": {"reference": "R0"}}
    assert f"after={events[1].id}" in page["next"]

    page = staff_client.get(page["next"]).json()
    assert [e["id"] for e in page["results"]] == [e.id for e in events[2:4]]
    rest = staff_client.get(FEED, {"after": events[3].id}).json()
    assert [e["type"] for e in rest["results"]] == ["booking.held", "booking.confirmed"]
    assert rest["next"] is None

    confirmed = staff_client.get(FEED, {"type": "booking.confirmed"}).json()["results"]
    assert [e["type"] for e in confirmed] == ["booking.confirmed"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"after": "evt_nope"}, "after"),
        ({"after": "evt_\x00" + "0" * 19}, "after"),
        ({"after": "evt_00000000000000000000"}, "after"),  # well formed, no such event
        ({"type": "booking.teleported"}, "type"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_a_bad_feed_query_is_a_400_naming_the_parameter(staff_client, query, field):
    assert_validation_error(staff_client.get(FEED, query), field)


def test_the_feed_and_the_endpoints_are_for_staff_only(api_client, customer_client):
    for url in (FEED, ENDPOINTS):
        assert_error(api_client.get(url), 401, "not_authenticated")
        assert_error(customer_client.get(url), 403, "permission_denied")
    body = {"url": "https://example.com/hooks", "event_types": ["booking.held"]}
    assert_error(customer_client.post(ENDPOINTS, body), 403, "permission_denied")
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_created_with_its_secret_shown_once(staff_client):
    response = staff_client.post(
        ENDPOINTS,
        {
            "url": "https://example.com/hooks",
            "event_types": ["booking.held", "booking.confirmed"],
            "description": "partner",
        },
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {"id", "url", "event_types", "description", "is_active", "secret", "created_at"} <= set(
        created
    )
    assert created["secret"].startswith("whsec_")
    assert created["is_active"] is True
    Webhook(created["secret"])  # a secret the Standard Webhooks library signs with
    assert WebhookEndpoint.objects.get().secret == created["secret"]

    listed = staff_client.get(ENDPOINTS).json()["results"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in staff_client.get(f"{ENDPOINTS}{created['id']}/").json()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://10.0.0.8/hooks", "event_types": ["booking.held"]}, "url"),
        ({"url": "https://127.0.0.1/hooks", "event_types": ["booking.held"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "event_types": ["booking.held"]}, "url"),
        ({"url": "https://[::1]/hooks", "event_types": ["booking.held"]}, "url"),
        ({"url": "https://localhost/hooks", "event_types": ["booking.held"]}, "url"),
        ({"url": "ftp://example.com/hooks", "event_types": ["booking.held"]}, "url"),
        ({"url": "not a url", "event_types": ["booking.held"]}, "url"),
        ({"url": 7, "event_types": ["booking.held"]}, "url"),
        ({"url": "https://example.com/hooks", "event_types": []}, "event_types"),
        ({"url": "https://example.com/hooks", "event_types": ["booking.eaten"]}, "event_types.0"),
        ({"url": "https://example.com/hooks", "event_types": "booking.held"}, "event_types"),
        ({"url": "https://example.com/hooks"}, "event_types"),
    ],
)
def test_a_bad_endpoint_is_a_400_and_nothing_is_saved(staff_client, settings, body, field):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert_validation_error(staff_client.post(ENDPOINTS, body, format="json"), field)
    assert not WebhookEndpoint.objects.exists()


def test_production_takes_https_receivers_only(staff_client, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    body = {"url": "http://example.com/hooks", "event_types": ["booking.held"]}
    errors = assert_validation_error(staff_client.post(ENDPOINTS, body), "url")
    assert "https" in errors[0]["detail"]
    body["url"] = "https://example.com/hooks"
    assert staff_client.post(ENDPOINTS, body).status_code == 201


def test_private_receivers_are_allowed_when_the_setting_says_so(staff_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    body = {"url": "http://127.0.0.1:9/hooks", "event_types": ["booking.held"]}
    assert staff_client.post(ENDPOINTS, body).status_code == 201


def test_an_endpoint_is_turned_off_and_on_and_deleted(staff_client):
    endpoint = WebhookEndpoint.objects.create(
        url="https://example.com/hooks", event_types=["booking.held"]
    )
    url = f"{ENDPOINTS}{endpoint.pk}/"
    off = staff_client.patch(url, {"is_active": False}).json()
    assert off["is_active"] is False and off["disabled_reason"] == "turned off by staff"
    on = staff_client.patch(url, {"is_active": True}).json()
    assert on["is_active"] is True and on["disabled_at"] is None
    assert staff_client.delete(url).status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert_error(staff_client.delete(url), 404, "not_found")
    assert_error(staff_client.get(f"{ENDPOINTS}99999999999999999999/"), 404, "not_found")
    assert_error(staff_client.put(url, {}), 405, "method_not_allowed")


def test_the_deliveries_of_an_endpoint_list_every_attempt_newest_first(
    staff_client, customer, cabin, receiver
):
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url_for("/hooks"), event_types=["booking.held"]
    )
    receiver.expect_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_and_deliver()
    (attempt,) = staff_client.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/").json()["results"]
    assert attempt["event"] == Event.objects.get().id
    assert attempt["attempt"] == 1 and attempt["status_code"] == 200
    assert attempt["error"] == "" and attempt["delivered_at"] is not None
    assert isinstance(attempt["duration_ms"], int)
