"""Webhook deliveries: one per (event, endpoint), made by the relay, each
attempt a POST signed as Standard Webhooks says, retried with backoff until
a 2xx answer or WEBHOOK_MAX_ATTEMPTS, and in event order per booking.

An endpoint's deliveries go out together: the relay (and a finished
delivery, and the catch-up) enqueue one `deliver_endpoint` message per
endpoint, not per delivery, and that task sends whatever is ready in rounds
over the process's kept-alive connection to the receiver (events/receivers.py):
each round is leased in one locking read, sent in event order, and recorded
in one INSERT and one UPDATE.

How a delivery is kept in order without a lock held across a POST: a worker
leases only deliveries that are due, that nobody holds the lease of, and
that no earlier event of the same booking is still pending before for that
endpoint, so a round never holds two of one booking's line. Once a round is
recorded, the next of each line is ready for the next round. The catch-up
(every 10 s) enqueues the endpoints of what is overdue, for whatever a lost
message or a killed worker left."""

import json
import logging
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events import metrics, queueing, receivers
from events.api.serializers import EventSerializer
from events.models import (
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

PENDING = DeliveryStatus.PENDING
DELIVER_ENDPOINT = "events.tasks.deliver_endpoint"


# The deliveries of some events: one for each active endpoint subscribed to
# the event's type, its booking's reference the line it waits in. Kept in SQL
# like NUMBER_AND_MARK: the ORM's bulk_create prepared every field of every
# row in Python, two thirds of a relay run's CPU once runs carry tens of
# events (profiled). An existing pair is left as it is (a redelivery's).
MAKE_DELIVERIES = """
INSERT INTO events_webhookdelivery
    (event_id, endpoint_id, ordering_key, status, attempts, round_attempts,
     next_attempt_at, last_error, created_at)
SELECT event.id, endpoint.id, coalesce(event.data -> 'booking' ->> 'reference', ''),
       'pending', 0, 0, %(now)s, '', %(now)s
FROM events_event AS event
JOIN events_webhookendpoint AS endpoint
  ON endpoint.is_active AND event.type = ANY(endpoint.event_types)
WHERE event.id = ANY(%(events)s)
ON CONFLICT (event_id, endpoint_id) DO NOTHING
RETURNING endpoint_id
"""


def plan(events: Iterable[Event]) -> set[int]:
    """Make the deliveries of just-relayed events, in the relay's transaction;
    returns the endpoints that got any."""
    with connection.cursor() as cursor:
        cursor.execute(
            MAKE_DELIVERIES, {"events": [event.id for event in events], "now": timezone.now()}
        )
        return {endpoint_id for (endpoint_id,) in cursor.fetchall()}


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


def catch_up(*, limit: int = 5000) -> int:
    """Enqueue the endpoints of the deliveries that are overdue (a retry come
    due, a lost message, a worker killed mid-attempt once its lease lapsed);
    returns how many deliveries were."""
    ready = _ready(timezone.now()).filter(next_attempt_at__lte=timezone.now() - CATCH_UP_GRACE)
    overdue = list(ready.values_list("endpoint_id", flat=True)[:limit])
    enqueue_endpoints(overdue, coalesce=False)
    return len(overdue)


def attempt(delivery_id: int) -> str:
    """One attempt of one delivery, if it is ready; returns what came of it.
    Once it is done with, the endpoint's task sends the next of its line."""
    leased = _lease(delivery_id=delivery_id)
    if not leased:
        return "not ready"
    (outcome,) = _send_and_record(leased)
    if outcome != "failed" or leased[0].status == DeliveryStatus.FAILED:
        enqueue_endpoints_after_commit([leased[0].endpoint_id])
    return outcome


# A round of an endpoint's deliveries: leased together, sent one after the
# other over one connection, recorded together.
BATCH = 50
# How long one task goes on starting POSTs before a new message takes over:
# well within its soft time limit (30 s) with a last POST's timeout on top,
# and within the lease, so no other worker takes a round still being sent.
SENDING_SECONDS = 15.0


def deliver_endpoint(endpoint_id: int, *, queued_at: float | None = None) -> int:
    """Send an endpoint's ready deliveries, a round of BATCH at a time, until
    a round finds none ready or the task's time is up (then one more message
    takes over). A recorded round lets the next of each booking's line go,
    and so does an event relayed while the round was out, whose own message
    may have come too early for it: the round after the last one finds both.
    Returns how many were attempted.

    It first lets WEBHOOK_ROUND_WAIT_MS from `queued_at` pass with its
    message still marked queued (queueing.gather), so the relays of that
    moment add to its first round instead of enqueuing rounds of their own:
    under load a round of one or two cost ~7 ms of worker CPU per delivery,
    a round of 50 about 1 ms. Nothing is leased or locked meanwhile; a worker
    killed mid-wait leaves the mark to expire and the deliveries to the
    catch-up."""
    queueing.gather(queued_at, settings.WEBHOOK_ROUND_WAIT_MS)
    cache.delete(_queued_key(endpoint_id))  # a relay from now on enqueues another
    deadline = time.monotonic() + min(SENDING_SECONDS, settings.WEBHOOK_LEASE_SECONDS / 2)
    attempted = 0
    while time.monotonic() < deadline:
        leased = _lease(endpoint_id=endpoint_id, limit=BATCH)
        if not leased:
            return attempted
        outcomes = _send_and_record(leased, deadline=deadline)
        attempted += len(outcomes) - outcomes.count("not sent")
        if "not sent" in outcomes:
            break
    enqueue_endpoints([endpoint_id])
    return attempted


# Leases a round in one statement, and returns it with what sending it needs:
# each delivery's event and its endpoint. The rows are locked SKIP LOCKED, so two
# workers take different rounds; ready means what `_ready` says (due,
# nobody's lease, first of its line). Kept in SQL like the relay's
# NUMBER_AND_MARK: the ORM spent about 3 ms of CPU building and compiling
# this read, its UPDATE and their transaction, more than the POST itself.
LEASE = """
WITH round AS (
    SELECT delivery.id
    FROM events_webhookdelivery AS delivery
    WHERE delivery.{column} = %(key)s
      AND delivery.status = 'pending'
      AND delivery.next_attempt_at <= %(now)s
      AND (delivery.leased_until IS NULL OR delivery.leased_until < %(now)s)
      AND (delivery.ordering_key = '' OR NOT EXISTS (
          SELECT 1 FROM events_webhookdelivery AS earlier
          WHERE earlier.endpoint_id = delivery.endpoint_id
            AND earlier.ordering_key = delivery.ordering_key
            AND earlier.status = 'pending'
            AND earlier.event_id < delivery.event_id))
    ORDER BY delivery.event_id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE events_webhookdelivery AS delivery
SET leased_until = %(lease)s
FROM round, events_event AS event, events_webhookendpoint AS endpoint
WHERE delivery.id = round.id AND event.id = delivery.event_id
  AND endpoint.id = delivery.endpoint_id
RETURNING delivery.*,
    event.type AS event_type, event.created_at AS event_created_at,
    event.data AS event_data, endpoint.url AS endpoint_url,
    endpoint.secret AS endpoint_secret, endpoint.is_active AS endpoint_is_active,
    endpoint.failing_since AS endpoint_failing_since
"""


def _lease(
    *, endpoint_id: int | None = None, delivery_id: int | None = None, limit: int = 1
) -> list[WebhookDelivery]:
    """Take the ready deliveries of an endpoint (or the one delivery) for
    WEBHOOK_LEASE_SECONDS, in event order. The lease commits before any POST
    (one statement, in autocommit), so no lock is held across one."""
    column, key = ("endpoint_id", endpoint_id) if delivery_id is None else ("id", delivery_id)
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    params = {"key": key, "now": now, "lease": lease, "limit": limit}
    leased = sorted(
        WebhookDelivery.objects.raw(LEASE.format(column=column), params),
        key=lambda delivery: delivery.event_id,
    )
    endpoints = {}
    for delivery in leased:
        data = delivery.event_data
        delivery.event = Event.from_db(
            "default",
            ["id", "type", "created_at", "data"],  # the model's order
            [
                delivery.event_id,
                delivery.event_type,
                delivery.event_created_at,
                json.loads(data) if isinstance(data, str) else data,
            ],
        )
        if delivery.endpoint_id not in endpoints:
            endpoints[delivery.endpoint_id] = WebhookEndpoint.from_db(
                "default",
                ["id", "url", "is_active", "secret", "failing_since"],  # the model's order
                [
                    delivery.endpoint_id,
                    delivery.endpoint_url,
                    delivery.endpoint_is_active,
                    delivery.endpoint_secret,
                    delivery.endpoint_failing_since,
                ],
            )
        delivery.endpoint = endpoints[delivery.endpoint_id]
    return leased


def _send_and_record(leased: list[WebhookDelivery], *, deadline: float | None = None) -> list[str]:
    """POST each leased delivery in order, then record every answer in one
    transaction. Past `deadline` the rest are handed back unsent."""
    endpoint = leased[0].endpoint
    if not endpoint.is_active:
        for delivery in leased:
            _finish(delivery, DeliveryStatus.FAILED, error="endpoint disabled")
        return ["endpoint disabled"] * len(leased)
    answers = []
    for delivery, body in zip(leased, bodies([d.event for d in leased]), strict=True):
        if deadline is not None and time.monotonic() >= deadline:
            break
        answers.append(receivers.post(endpoint.url, *signed(delivery.event_id, body, endpoint)))
    sent, unsent = leased[: len(answers)], leased[len(answers) :]
    with transaction.atomic():
        record_all(list(zip(sent, answers, strict=True)))
        if unsent:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in unsent]).update(leased_until=None)
    return ["delivered" if a.ok else "failed" for a in answers] + ["not sent"] * len(unsent)


def bodies(events: list[Event]) -> list[str]:
    """A round's events as the feed shows them, serialized together: one
    serializer per event cost ~2 ms of CPU each (DRF builds a ModelSerializer's
    fields per instance), a list builds them once."""
    return [
        json.dumps(data, separators=(",", ":")) for data in EventSerializer(events, many=True).data
    ]


def signed(event_id: str, body: str, endpoint: WebhookEndpoint) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers: `webhook-id` is the event
    id, so a receiver drops what it already has."""
    at = datetime.now(UTC)
    return body.encode(), {
        "Content-Type": "application/json",
        "User-Agent": "travel-inventory-webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(event_id, at, body),
    }


# A round's attempts in one statement, each column sent as one array:
# bulk_create prepared every field of every row in Python, about a third of
# what recording a round cost (profiled).
RECORD_ATTEMPTS = """
INSERT INTO events_deliveryattempt
    (delivery_id, number, attempted_at, status_code, error, duration_ms)
SELECT * FROM unnest(
    %s::bigint[], %s::integer[], %s::timestamptz[], %s::integer[], %s::text[], %s::integer[])
"""


def record_all(answered: list[tuple[WebhookDelivery, receivers.Answer]]) -> None:
    """The attempts' rows, and what they mean for the deliveries and their
    endpoint (one endpoint's, in the order they were sent): every attempt row
    in one INSERT, the delivered ones in one UPDATE (only while pending: a
    delivery is never recorded delivered twice), a failure on its own."""
    if not answered:
        return
    now = timezone.now()
    rows = [
        (
            delivery.pk,
            delivery.attempts + 1,
            now - timedelta(milliseconds=answer.duration_ms),
            answer.status_code,
            answer.error[:500],
            answer.duration_ms,
        )
        for delivery, answer in answered
    ]
    with connection.cursor() as cursor:
        cursor.execute(RECORD_ATTEMPTS, [list(column) for column in zip(*rows, strict=True)])
    delivered = [delivery for delivery, answer in answered if answer.ok]
    metrics.delivery_attempts.labels(outcome="delivered").inc(len(delivered))
    metrics.delivery_attempts.labels(outcome="failed").inc(len(answered) - len(delivered))
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in delivered], status=PENDING).update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
        leased_until=None,
        attempts=F("attempts") + 1,
        round_attempts=F("round_attempts") + 1,
    )
    for delivery in delivered:
        metrics.delivery_latency.observe((now - delivery.event.created_at).total_seconds())
    failed = [(delivery, answer) for delivery, answer in answered if not answer.ok]
    for delivery, answer in failed:
        _record_failure(delivery, answer, now)
    # The endpoint's failing streak ends with a success and starts with a
    # failure, in the order they were sent.
    endpoint = answered[0][0].endpoint
    if delivered and (failed or endpoint.failing_since is not None):
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
            failing_since=None
        )
    if failed and not answered[-1][1].ok:
        _note_failure(endpoint.pk, now)


def _record_failure(delivery: WebhookDelivery, answer: receivers.Answer, now: datetime) -> None:
    """Retried after its backoff, or given up once its retries are spent."""
    delivery.attempts += 1
    delivery.round_attempts += 1
    if delivery.round_attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        metrics.deliveries_given_up.inc()
        _finish(delivery, DeliveryStatus.FAILED, error=answer.error)
        return
    delivery.next_attempt_at = now + backoff(delivery.round_attempts)
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


def _finish(delivery: WebhookDelivery, status: str, *, error: str = "") -> None:
    """Given up (retries spent, endpoint off): the next of its booking's line
    is then ready, and goes in the endpoint's next round."""
    delivery.status = status
    delivery.leased_until = None
    if error:
        delivery.last_error = error[:500]
    delivery.save()


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
    ids, endpoint_ids = [], set()
    for pk, endpoint_id in deliveries.values_list("pk", "endpoint_id"):
        ids.append(pk)
        endpoint_ids.add(endpoint_id)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=PENDING,
            round_attempts=0,
            next_attempt_at=timezone.now(),
            leased_until=None,
            delivered_at=None,
        )
        enqueue_endpoints_after_commit(endpoint_ids)
    return len(ids)


def redeliver_events(events) -> int:
    """Every active endpoint subscribed to these events gets them again,
    deliveries made for endpoints added since included."""
    with transaction.atomic():
        plan(events)
        return redeliver(
            WebhookDelivery.objects.filter(
                event__in=events, endpoint__in=WebhookEndpoint.objects.filter(is_active=True)
            )
        )


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


def _queued_key(endpoint_id: int) -> str:
    return f"events:deliveries-queued:{endpoint_id}"


def enqueue_endpoints(endpoint_ids: Iterable[int], *, coalesce: bool = True) -> None:
    """One `deliver_endpoint` message per endpoint, unless one is queued and
    has not started (it will see these deliveries): one Redis SET NX instead
    of a message per delivery. The catch-up does not coalesce, in case the
    queued one was lost; its key expires for the same reason."""
    queued = [
        pk
        for pk in sorted(set(endpoint_ids))
        if not coalesce or cache.add(_queued_key(pk), True, timeout=60)
    ]
    # What the catch-up sends is overdue: it gathers nothing.
    queueing.enqueue_each(
        DELIVER_ENDPOINT, queued, **({"queued_at": time.time()} if coalesce else {})
    )


def enqueue_endpoints_after_commit(endpoint_ids: Iterable[int]) -> None:
    endpoint_ids = set(endpoint_ids)
    if endpoint_ids:
        transaction.on_commit(lambda: enqueue_endpoints(endpoint_ids), robust=True)


def enqueue_after_commit(endpoint_ids: Iterable[int]) -> None:
    """Have these endpoints send their new or rescheduled deliveries."""
    enqueue_endpoints_after_commit(endpoint_ids)
