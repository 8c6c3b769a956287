"""The audit of refusals (config/refusals.py): each 401, 403, 429 and 404 on
a booking reference is one structured log record, a count on /metrics by
status and code, and a count per client address that the staff dashboard
shows for the last hour."""

import logging
import re

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.booking_requests import flight_item
from tests.factories import FlightInventoryFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_multiprocess")]

PROBER = "203.0.113.66"


@pytest.fixture
def _no_multiprocess(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def refusal_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "refusal"]


def refusals_on_metrics(client, status: str, code: str) -> float:
    text = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        if family.name == "travel_refusals":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels == {
                    "status": status,
                    "code": code,
                }:
                    return sample.value
    return 0.0


def test_a_bad_token_is_logged_with_who_what_and_from_where(api_client, caplog):
    caplog.set_level(logging.INFO, logger="config.refusals")
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    api_client.get("/api/v1/bookings/", REMOTE_ADDR=PROBER)
    (record,) = refusal_records(caplog)
    assert (record.user, record.method, record.path, record.client) == (
        "anonymous",
        "GET",
        "/api/v1/bookings/",
        PROBER,
    )
    assert (record.status, record.code) == (401, "not_authenticated")
    assert "not-a-real-token" not in record.getMessage()


def test_someone_elses_booking_is_logged_under_the_prober(
    customer_client, other_client, customer, caplog
):
    cabin = FlightInventoryFactory(total_seats=5)
    reference = other_client.post("/api/v1/bookings/", {"items": [flight_item(cabin)]}).json()[
        "reference"
    ]
    caplog.set_level(logging.INFO, logger="config.refusals")
    assert customer_client.get(f"/api/v1/bookings/{reference}/").status_code == 404
    customer_client.get("/api/v1/flights/999999/")  # a 404 that is no probe of bookings
    (record,) = refusal_records(caplog)
    assert (record.user, record.status, record.code) == (str(customer.pk), 404, "not_found")


def test_refusals_are_counted_on_metrics_by_status_and_code(customer_client, api_client):
    before_401 = refusals_on_metrics(api_client, "401", "not_authenticated")
    before_403 = refusals_on_metrics(api_client, "403", "permission_denied")
    api_client.post("/api/v1/bookings/", {})
    api_client.post("/api/v1/bookings/", {})
    customer_client.post("/api/v1/flights/", {})
    assert refusals_on_metrics(api_client, "401", "not_authenticated") == before_401 + 2
    assert refusals_on_metrics(api_client, "403", "permission_denied") == before_403 + 1


def test_a_burst_from_one_address_shows_on_the_dashboard(api_client, settings):
    for _ in range(7):
        api_client.get("/api/v1/bookings/", REMOTE_ADDR=PROBER)
    for _ in range(2):
        api_client.get("/api/v1/bookings/", REMOTE_ADDR="198.51.100.3")
    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))
    html = staff.get("/admin/dashboard/").content.decode()
    section = html.split('id="ops-refusals"', 1)[1].split("</div>", 1)[0]
    rows = [
        (client, int(count))
        for client, count in re.findall(r'<tr><td>([^<]+)</td><td class="num">(\d+)</td>', section)
    ]
    assert rows == [(PROBER, 7), ("198.51.100.3", 2)]
