"""/metrics and the figures behind it, read from the same in-process registry
the endpoint serves (the test run has no PROMETHEUS_MULTIPROC_DIR)."""

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bookings import metrics, services
from tests.booking_requests import flight_item, hold_through_api
from tests.factories import FlightInventoryFactory
from tests.holds import make_overdue

pytestmark = pytest.mark.usefixtures("_no_multiprocess")


@pytest.fixture
def _no_multiprocess(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much a sample moved across a block."""

    def __init__(self, name: str, **labels):
        self.name, self.labels = name, labels

    def __enter__(self):
        self.before = value(self.name, **self.labels)
        return self

    def __exit__(self, *exc):
        self.moved = value(self.name, **self.labels) - self.before


@pytest.mark.django_db
def test_metrics_endpoint_serves_prometheus_text_at_the_exact_path(api_client):
    response = api_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    for expected in (
        "travel_holds",
        "travel_confirms",
        "travel_cancellations",
        "travel_expiries",
        "travel_extensions",
        "travel_expiry_sweeps",
        "travel_expiry_sweep_duration_seconds",
        "travel_reconcile_drift_rows",
        "travel_lock_wait_seconds",
        "travel_lock_timeouts",
        "travel_http_requests",
        "travel_http_request_duration_seconds",
    ):
        assert expected in names
    assert api_client.get("/metrics/").status_code == 404
    assert api_client.post("/metrics").status_code == 405


@pytest.mark.django_db
def test_holds_are_counted_by_result_and_error_code(customer_client):
    cabin = FlightInventoryFactory(total_seats=2)
    with Delta("travel_holds_total", result="held") as held:
        assert hold_through_api(customer_client, flight_item(cabin)).status_code == 201
    with Delta("travel_holds_total", result="insufficient_inventory") as short:
        assert hold_through_api(customer_client, flight_item(cabin, seats=5)).status_code == 409
    with Delta("travel_holds_total", result="validation_error") as invalid:
        response = customer_client.post("/api/v1/bookings/", {"items": []})
        assert response.status_code == 400
    with Delta("travel_holds_total", result="replayed") as replayed:
        first = hold_through_api(customer_client, flight_item(cabin), key="k-1")
        again = hold_through_api(customer_client, flight_item(cabin), key="k-1")
        assert (first.status_code, again.status_code) == (201, 201)
        assert again["Idempotent-Replayed"] == "true"
    assert (held.moved, short.moved, invalid.moved, replayed.moved) == (1, 1, 1, 1)
    # The replay's original counted as held, once.
    assert value("travel_holds_total", result="held") == held.before + 2


@pytest.mark.django_db(transaction=True)
def test_transitions_are_counted_once_each_on_commit(customer_client, staff_client):
    """Counted where the status changes, after the commit: repeating a
    confirm or a cancel (a double click) does not count twice."""
    cabin = FlightInventoryFactory(total_seats=10)
    first = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    second = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    base = f"/api/v1/bookings/{first}"

    with Delta("travel_confirms_total") as confirms:
        for _ in range(2):
            response = staff_client.post(f"{base}/confirm/", {"payment_reference": "pay-1"})
            assert response.status_code == 200
    with Delta("travel_cancellations_total", result="cancelled") as cancelled:
        for _ in range(2):
            assert customer_client.post(f"{base}/cancel/").status_code == 200
    with Delta("travel_cancellations_total", result="released") as released:
        for _ in range(2):
            assert customer_client.post(f"/api/v1/bookings/{second}/cancel/").status_code == 200
    assert (confirms.moved, cancelled.moved, released.moved) == (1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_extensions_are_counted_and_refused_ones_are_not(customer_client, settings):
    settings.HOLD_MAX_EXTENSIONS = 1
    cabin = FlightInventoryFactory(total_seats=10)
    reference = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    with Delta("travel_extensions_total") as extensions:
        assert customer_client.post(f"/api/v1/bookings/{reference}/extend/").status_code == 200
        refused = customer_client.post(f"/api/v1/bookings/{reference}/extend/")
        assert refused.json()["code"] == "extension_limit"
    assert extensions.moved == 1


@pytest.mark.django_db(transaction=True)
def test_expiries_are_counted_by_trigger(customer_client, customer, staff_client):
    cabin = FlightInventoryFactory(total_seats=10)
    on_use = hold_through_api(customer_client, flight_item(cabin)).json()["reference"]
    swept = [
        hold_through_api(customer_client, flight_item(cabin)).json()["reference"] for _ in range(2)
    ]
    make_overdue(on_use, *swept)

    with Delta("travel_expiries_total", trigger="on_use") as by_use:
        response = staff_client.post(
            f"/api/v1/bookings/{on_use}/confirm/", {"payment_reference": "p"}
        )
        assert response.json()["code"] == "hold_expired"
    with (
        Delta("travel_expiries_total", trigger="sweep") as by_sweep,
        Delta("travel_expiry_sweeps_total", result="completed") as sweeps,
        Delta("travel_expiry_sweep_duration_seconds_count") as timed,
    ):
        assert services.expire_overdue_holds() == len(swept)
    assert (by_use.moved, by_sweep.moved, sweeps.moved, timed.moved) == (1, 2, 1, 1)
    assert value("travel_expiries_total", trigger="sweep") == by_sweep.before + 2


def test_a_sweep_that_fails_or_is_skipped_is_counted_so():
    with (
        Delta("travel_expiry_sweeps_total", result="failed") as failed,
        pytest.raises(RuntimeError),
        metrics.sweep_run(),
    ):
        raise RuntimeError("database gone")
    with (
        Delta("travel_expiry_sweeps_total", result="skipped") as skipped,
        Delta("travel_expiry_sweep_duration_seconds_count") as timed,
        metrics.sweep_run() as run,
    ):
        run.skip()
    assert (failed.moved, skipped.moved, timed.moved) == (1, 1, 0)


def test_reconcile_sets_the_drift_gauge():
    metrics.record_reconcile({"flight_cabin": 3, "room_night": 0})
    assert value("travel_reconcile_drift_rows", inventory="flight_cabin") == 3
    metrics.record_reconcile({"flight_cabin": 0, "room_night": 0})
    assert value("travel_reconcile_drift_rows", inventory="flight_cabin") == 0
    assert value("travel_reconcile_last_run_timestamp_seconds") > 0


@pytest.mark.django_db
def test_http_requests_are_counted_by_route_template_not_raw_path(customer_client):
    route = "api/v1/bookings/{reference}/"
    with (
        Delta("travel_http_requests_total", method="GET", route=route, status="404") as by_route,
        Delta("travel_http_request_duration_seconds_count", method="GET", route=route) as timed,
        Delta("travel_http_requests_total", method="GET", route="unmatched", status="404") as none,
    ):
        for reference in ("ABCDEF", "ZZZZZZ", "x" * 40):
            assert customer_client.get(f"/api/v1/bookings/{reference}/").status_code == 404
        assert customer_client.get("/no-such-page").status_code == 404
    assert (by_route.moved, timed.moved, none.moved) == (3, 3, 1)
