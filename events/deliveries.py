"""Webhook deliveries: one per (event, endpoint), made by the relay, each
attempt a POST signed as Standard Webhooks says, retried with backoff until
a 2xx answer or WEBHOOK_MAX_ATTEMPTS, and in event order per booking.

How a delivery is kept in order without a lock held across a POST: a worker
takes a delivery with one UPDATE that succeeds only if it is due, nobody
holds its lease, and no earlier event of the same booking is still pending
for that endpoint. A delivery that finishes (delivered or given up) enqueues
the next pending one of its booking once its own status has committed, so
the one that was told to wait is tried again after its predecessor is done.
The catch-up (every 10 s) enqueues every due delivery at the head of its
booking's line, for whatever a lost message or a killed worker left."""

import json
import logging
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events import metrics, queueing, receivers
from events.api.serializers import EventSerializer
from events.models import (
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

PENDING = DeliveryStatus.PENDING
DELIVER = "events.tasks.deliver_webhook"


def plan(events: Iterable[Event]) -> list[WebhookDelivery]:
    """The deliveries of just-relayed events: one for each active endpoint
    that subscribes to the event's type. In the relay's transaction."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    deliveries = [
        WebhookDelivery(event=event, endpoint=endpoint, ordering_key=ordering_key(event))
        for event in events
        for endpoint in endpoints
        if event.type in endpoint.event_types
    ]
    return WebhookDelivery.objects.bulk_create(deliveries)


def ordering_key(event: Event) -> str:
    booking = event.data.get("booking") if isinstance(event.data, dict) else None
    return (booking or {}).get("reference", "") if isinstance(booking, dict) else ""


def heads(deliveries: Iterable[WebhookDelivery]) -> list[int]:
    """The first delivery of each (endpoint, booking) among `deliveries`: the
    others wait for it and are enqueued as it finishes."""
    first: dict[tuple, WebhookDelivery] = {}
    for delivery in deliveries:
        key = (delivery.endpoint_id, delivery.ordering_key or delivery.pk)
        if key not in first or delivery.event_id < first[key].event_id:
            first[key] = delivery
    return [delivery.pk for delivery in first.values()]


def _earlier_pending():
    return WebhookDelivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        ordering_key=OuterRef("ordering_key"),
        status=PENDING,
        event_id__lt=OuterRef("event_id"),
    )


def _ready(now: datetime):
    """Pending, due, nobody's lease, and first in its booking's line."""
    return (
        WebhookDelivery.objects.filter(status=PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .filter(Q(ordering_key="") | ~Exists(_earlier_pending()))
    )


# The catch-up leaves a delivery this long past due to the message already on
# its way (a backlog in the queue), so it does not pile a second one on top.
CATCH_UP_GRACE = timedelta(seconds=30)


def due(*, limit: int = 5000) -> list[int]:
    """The deliveries the catch-up enqueues."""
    ready = _ready(timezone.now()).filter(next_attempt_at__lte=timezone.now() - CATCH_UP_GRACE)
    return list(ready.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def attempt(delivery_id: int) -> str:
    """One attempt of a delivery, if it is ready; returns what came of it."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    if not _ready(now).filter(pk=delivery_id).update(leased_until=lease):
        return "not ready"
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    if not delivery.endpoint.is_active:
        _finish(delivery, DeliveryStatus.FAILED, error="endpoint disabled")
        return "endpoint disabled"
    answer = receivers.post(delivery.endpoint.url, *signed(delivery.event, delivery.endpoint))
    record(delivery, answer)
    return "delivered" if answer.ok else "failed"


def signed(event: Event, endpoint: WebhookEndpoint) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers: `webhook-id` is the event
    id, so a receiver drops what it already has."""
    body = json.dumps(EventSerializer(event).data, separators=(",", ":"))
    at = datetime.now(UTC)
    return body.encode(), {
        "Content-Type": "application/json",
        "User-Agent": "travel-inventory-webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(event.id, at, body),
    }


def record(delivery: WebhookDelivery, answer: receivers.Answer) -> None:
    """The attempt's row, and what it means for the delivery and its endpoint."""
    now = timezone.now()
    number = delivery.attempts + 1
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            attempted_at=now,
            status_code=answer.status_code,
            error=answer.error[:500],
            duration_ms=answer.duration_ms,
        )
        delivery.attempts = number
        delivery.round_attempts += 1
        metrics.delivery_attempts.labels(outcome="delivered" if answer.ok else "failed").inc()
        if answer.ok:
            WebhookEndpoint.objects.filter(
                pk=delivery.endpoint_id, failing_since__isnull=False
            ).update(failing_since=None)
            metrics.delivery_latency.observe((now - delivery.event.created_at).total_seconds())
            _finish(delivery, DeliveryStatus.DELIVERED, delivered_at=now)
            return
        _note_failure(delivery.endpoint_id, now)
        if delivery.round_attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            metrics.deliveries_given_up.inc()
            _finish(delivery, DeliveryStatus.FAILED, error=answer.error)
            return
        delay = backoff(delivery.round_attempts)
        delivery.next_attempt_at = now + delay
        delivery.leased_until = None
        delivery.last_error = answer.error[:500]
        delivery.save(
            update_fields=[
                "attempts",
                "round_attempts",
                "next_attempt_at",
                "leased_until",
                "last_error",
            ]
        )
        # The retry waits in the table until it is due; the catch-up (beat,
        # every 10 s) enqueues it then (events/queueing.py: no countdowns).


def backoff(attempts_made: int) -> timedelta:
    """Exponential (base × 4^(n-1)) with ±20 % jitter, so the retries of many
    deliveries that failed together spread out."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempts_made - 1)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _finish(delivery: WebhookDelivery, status: str, *, error: str = "", delivered_at=None) -> None:
    """Delivered or given up: the line of its booking moves on."""
    with transaction.atomic():
        delivery.status = status
        delivery.leased_until = None
        delivery.delivered_at = delivered_at
        if error:
            delivery.last_error = error[:500]
        delivery.save()
        following = (
            WebhookDelivery.objects.filter(
                endpoint=delivery.endpoint_id,
                ordering_key=delivery.ordering_key,
                status=PENDING,
                event_id__gt=delivery.event_id,
            )
            .exclude(ordering_key="")
            .order_by("event_id")
            .values_list("pk", flat=True)[:1]
        )
        enqueue_after_commit(list(following))


def _note_failure(endpoint_id: int, now: datetime) -> None:
    """Start the endpoint's failing streak, and turn it off once the streak
    is WEBHOOK_DISABLE_AFTER_HOURS old."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=now
    )
    cutoff = now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    hours = f"{settings.WEBHOOK_DISABLE_AFTER_HOURS:g}"
    if WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, failing_since__lte=cutoff
    ).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=f"every delivery failed for {hours} hours",
    ):
        metrics.endpoints_disabled.inc()
        logger.warning("webhook endpoint %s turned off: failing for %s hours", endpoint_id, hours)


def redeliver(deliveries) -> int:
    """Try these deliveries again from the start of their retry budget
    (staff's "redeliver"). Returns how many."""
    ids = list(deliveries.values_list("pk", flat=True))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=PENDING,
            round_attempts=0,
            next_attempt_at=timezone.now(),
            leased_until=None,
            delivered_at=None,
        )
        enqueue_after_commit(ids)
    return len(ids)


def redeliver_events(events) -> int:
    """Every active endpoint subscribed to these events gets them again,
    deliveries made for endpoints added since included."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    with transaction.atomic():
        for event in events:
            for endpoint in endpoints:
                if event.type in endpoint.event_types:
                    WebhookDelivery.objects.get_or_create(
                        event=event,
                        endpoint=endpoint,
                        defaults={"ordering_key": ordering_key(event)},
                    )
        return redeliver(WebhookDelivery.objects.filter(event__in=events, endpoint__in=endpoints))


def set_endpoint_active(endpoint: WebhookEndpoint, active: bool) -> None:
    """Staff turn an endpoint on or off; on again starts a new streak."""
    endpoint.is_active = active
    if active:
        endpoint.failing_since = endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    else:
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = "turned off by staff"
    endpoint.save(update_fields=["is_active", "failing_since", "disabled_at", "disabled_reason"])


def enqueue_after_commit(ids: list[int]) -> None:
    queueing.enqueue_each_after_commit(DELIVER, ids)


def enqueue(ids: list[int]) -> None:
    queueing.enqueue_each(DELIVER, ids)
