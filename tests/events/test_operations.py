"""Staff see and fix delivery: the admin (endpoints with the secret shown
once, deliveries with their attempts, "redeliver"), the dashboard's figures,
/metrics; and a dead receiver leaves /readyz and the sweep's queue alone."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config.celery_app import app
from events import deliveries
from events.models import Event, WebhookDelivery, WebhookEndpoint
from events.services import relay_pending
from tests.events.conftest import relay_and_deliver, subscribe
from tests.holds import hold_through_services

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_an_endpoint_made_in_the_admin_shows_its_secret_once(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    add = "/admin/events/webhookendpoint/add/"
    refused = admin_client.post(
        add, {"url": "https://192.168.1.5/hooks", "event_types": ["booking.held"]}
    )
    assert refused.status_code == 200 and b"private" in refused.content
    assert not WebhookEndpoint.objects.exists()

    response = admin_client.post(
        add,
        {"url": "https://example.com/hooks", "event_types": ["booking.held"], "description": ""},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.encode() in response.content
    changelist = admin_client.get("/admin/events/webhookendpoint/")
    assert endpoint.secret.encode() not in changelist.content
    assert (
        endpoint.secret.encode()
        not in admin_client.get(f"/admin/events/webhookendpoint/{endpoint.pk}/change/").content
    )


def test_staff_redeliver_a_failed_delivery_from_the_admin(
    admin_client, customer, cabin, endpoint, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.expect_ordered_request("/hooks").respond_with_data("no", status=500)
    receiver.expect_ordered_request("/hooks").respond_with_data("ok")
    hold_through_services(customer, cabin)
    relay_and_deliver()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"

    page = admin_client.get(f"/admin/events/webhookdelivery/?endpoint__id__exact={endpoint.pk}")
    assert delivery.event_id.encode() in page.content and b"HTTP 500" in page.content
    detail = admin_client.get(f"/admin/events/webhookdelivery/{delivery.pk}/change/")
    assert b"500" in detail.content  # the attempt inline

    response = admin_client.post(
        "/admin/events/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert b"1 deliveries scheduled again" in response.content
    relay_and_deliver()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_the_dashboard_counts_failing_endpoints_and_the_oldest_undelivered_event(
    admin_client, customer, cabin, db
):
    failing = subscribe("http://127.0.0.1:1/hooks")
    hold_through_services(customer, cabin)
    relay_and_deliver()
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        failing_since=timezone.now() - timedelta(hours=2)
    )
    Event.objects.update(created_at=timezone.now() - timedelta(hours=3))
    page = admin_client.get("/admin/dashboard/").content.decode()
    figure = re.search(r'data-figure="webhooks">(.*?)</td>', page, re.S).group(1)
    assert "1 failing endpoint" in figure and "0 turned off" in figure
    assert "oldest undelivered event 3\xa0hours old" in figure


def test_metrics_show_the_outbox_and_the_deliveries(
    api_client, customer, cabin, endpoint, receiver
):
    receiver.expect_request("/hooks").respond_with_data("ok")
    delivered_before = REGISTRY.get_sample_value(
        "travel_webhook_attempts_total", {"outcome": "delivered"}
    )
    hold_through_services(customer, cabin)
    hold_through_services(customer, cabin)
    relay_pending(limit=1)  # one relayed, one left in the outbox
    Event.objects.filter(relayed_at=None).update(created_at=timezone.now() - timedelta(seconds=90))
    (delivery,) = WebhookDelivery.objects.all()
    deliveries.attempt(delivery.pk)

    text = api_client.get("/metrics").content.decode()
    samples = {
        s.name + str(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples["travel_events_written_total[]"] == 2
    assert samples["travel_outbox_pending_events[]"] == 1
    assert samples["travel_outbox_lag_seconds[]"] >= 90
    assert samples["travel_webhook_oldest_undelivered_seconds[]"] == 0
    assert samples["travel_events_relayed_total[('type', 'booking.held')]"] >= 1
    assert (
        samples["travel_webhook_attempts_total[('outcome', 'delivered')]"] == delivered_before + 1
    )
    assert samples["travel_webhook_delivery_latency_seconds_count[]"] >= 1


def test_a_dead_receiver_leaves_readyz_alone(api_client, customer, cabin, db):
    subscribe("http://127.0.0.1:1/hooks")
    hold_through_services(customer, cabin)
    relay_and_deliver()
    assert WebhookDelivery.objects.get().last_error
    assert api_client.get("/readyz").status_code == 200


def test_deliveries_and_emails_run_on_their_own_queues_and_their_own_worker():
    """The sweep and the relay stay on the default queue; `make run` and
    compose run a worker for each, so a slow receiver takes no sweep's slot."""

    def queue_of(task: str) -> str:
        return (app.amqp.router.route({}, task) or {}).get("queue").name

    assert queue_of("events.tasks.deliver_webhook") == "webhooks"
    assert queue_of("events.tasks.deliver_endpoint") == "webhooks"
    assert queue_of("events.tasks.send_customer_email") == "emails"
    assert queue_of("events.tasks.relay_events") == "celery"
    assert queue_of("bookings.tasks.expire_holds") == "celery"

    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert "--queues celery " in procfile["worker"]
    assert "--queues webhooks,emails " in procfile["webhooks"]


def test_beat_catches_up_on_due_deliveries_every_30_seconds(customer, cabin, endpoint, monkeypatch):
    """A delivery whose message was lost is enqueued again once it is past
    the catch-up's grace; a fresh one is left to the message on its way."""
    from django_celery_beat.models import PeriodicTask

    from events import queueing
    from events.tasks import catch_up_deliveries

    task = PeriodicTask.objects.get(task="events.tasks.catch_up_deliveries")
    assert task.enabled and (task.interval.every, task.interval.period) == (10, "seconds")

    published = []
    monkeypatch.setattr(queueing, "enqueue_each", lambda name, ids, **kw: published.extend(ids))
    hold_through_services(customer, cabin)
    relay_pending()
    assert catch_up_deliveries() == {"deliveries": 0, "emails": 0}
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert catch_up_deliveries() == {"deliveries": 1, "emails": 0}
    assert published == [delivery.endpoint_id]  # the endpoint's task sends what is due
