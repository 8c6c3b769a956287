"""Fixtures for the outbox's consumers: a real local HTTP receiver
(pytest-httpserver) and endpoints subscribed to it."""

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.models import EventType, WebhookDelivery, WebhookEndpoint
from events.services import relay_pending


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    """Receivers on this machine are allowed (the receiver is on loopback);
    a retry is never due by itself within a test (`make_due` brings it)."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER = 1000
    return settings


@pytest.fixture
def receiver(httpserver):
    """The local receiver, emptied of the previous test's expectations and log."""
    httpserver.clear()
    yield httpserver
    httpserver.clear()


def subscribe(url: str, types=None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, event_types=types or list(EventType.values))


@pytest.fixture
def endpoint(db, receiver):
    return subscribe(receiver.url_for("/hooks"))


def received(receiver, endpoint: WebhookEndpoint) -> list[dict]:
    """The bodies the receiver got, each checked against its signature."""
    bodies = []
    for request, _ in receiver.log:
        verified = Webhook(endpoint.secret).verify(request.get_data(), dict(request.headers))
        assert request.headers["webhook-id"] == verified["id"]
        bodies.append(verified)
    return bodies


def relay_and_deliver() -> None:
    """What the relay and the webhooks worker do, in this process: relay,
    then attempt every ready delivery until none is left ready now."""
    from events import deliveries

    relay_pending()
    while True:
        ready = [
            pk
            for pk in WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True)
            if deliveries.attempt(pk) != "not ready"
        ]
        if not ready:
            return


def make_due(delivery: WebhookDelivery) -> None:
    """Its backoff over, without waiting it out."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
