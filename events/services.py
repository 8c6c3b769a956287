"""Writing events into the outbox, and relaying them once committed."""

import time
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from events import deliveries, emails, metrics, queueing
from events.models import Event

# The relay's advisory lock key (any constant no other code uses).
RELAY_LOCK = 7_114_201


# Consumers of apps above this one (payments' refunds): each is handed every
# relayed batch in the relay's transaction, as deliveries and emails are, and
# makes its own idempotent rows and tasks; they register in their
# AppConfig.ready, so nothing here imports them.
_consumers: list[Callable[[list[Event]], None]] = []


def register_consumer(consumer: Callable[[list[Event]], None]) -> None:
    if consumer not in _consumers:
        _consumers.append(consumer)


def record_events(events: list[Event]) -> None:
    """Write events in the caller's transaction and have them relayed once it
    commits. The caller runs inside transaction.atomic()."""
    Event.objects.bulk_create(events)
    relay_after_commit()


def relay_after_commit() -> None:
    """Have the relay run once the current transaction commits; never for one
    that rolls back. `robust`: a broker that cannot be reached after the
    commit costs only the wait for the catch-up, never the request. Asked
    once per transaction: one that writes several events (a payment's webhook
    writes the payment's and the booking's) needs one relay, not one Redis
    round trip each."""
    if not _relay_on_commit():
        transaction.on_commit(enqueue_relay, robust=True)


def _relay_on_commit() -> bool:
    """Whether the relay is asked for already, at this savepoint or one that
    encloses it: such a callback runs whenever this one would (Django drops a
    callback with the savepoint it was asked for in, if that rolls back)."""
    savepoints = set(connection.savepoint_ids)
    return any(
        callback is enqueue_relay and asked_in <= savepoints
        for asked_in, callback, _ in connection.run_on_commit
    )


# Set while a relay is queued and has not started taking events yet
# (`relay_queued` clears it once its wait is over); expires in case its message
# is lost, or its worker killed mid-wait: beat's catch-up relays meanwhile.
RELAY_QUEUED = "events:relay-queued"


def enqueue_relay() -> None:
    """Enqueue the relay, unless one is queued and has not started: that one
    will see this commit. One Redis SET NX instead of a Celery message per
    hold and cancel (the message cost a tenth of their CPU, profiled)."""
    from events.tasks import relay_events

    if cache.add(RELAY_QUEUED, True, timeout=60):
        relay_events.delay(queued_at=time.time())


# Numbers the oldest unrelayed events in id order after the feed's last
# number and marks them relayed, in one statement. Kept in SQL (like the hold
# path's statements in bookings/services/statements.py) for the catch-up's
# sake: `bulk_update` built a 1,000-branch CASE per batch in Python, and the
# relay ran at ~600 events/s; see README, "Events, webhooks and emails".
NUMBER_AND_MARK = """
WITH batch AS (
    SELECT id, (SELECT coalesce(max(sequence), 0) FROM events_event)
               + row_number() OVER (ORDER BY id) AS number
    FROM events_event
    WHERE relayed_at IS NULL
    ORDER BY id
    LIMIT %(limit)s
)
UPDATE events_event AS event
SET sequence = batch.number, relayed_at = %(now)s
FROM batch
WHERE event.id = batch.id
RETURNING event.id, event.type, event.created_at, event.data, event.sequence
"""


def relay_pending(*, limit: int = 1000) -> int:
    """Hand the oldest committed events not yet relayed to their consumers:
    give each the feed's next sequence number, make its webhook deliveries
    and customer emails, mark it relayed, all in one transaction, and enqueue
    their tasks once it commits. Returns how many it relayed.

    One relay at a time (a transaction-level advisory lock, waited for): the
    sequence numbers are then handed out in commit order, so a reader of the
    feed who has seen number n never later finds a new event below n."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK])
        events = sorted(
            Event.objects.raw(NUMBER_AND_MARK, {"limit": limit, "now": timezone.now()}),
            key=lambda event: event.sequence,
        )
        if not events:
            return 0
        deliveries.enqueue_after_commit(deliveries.plan(events))
        emails.enqueue_after_commit([email.pk for email in emails.plan(events)])
        for consumer in _consumers:
            consumer(events)
    for kind, relayed in Counter(event.type for event in events).items():
        metrics.events_relayed.labels(type=kind).inc(relayed)
    return len(events)


def relay_queued(*, batch: int = 1000, queued_at: float | None = None) -> int:
    """What the relay task does: let the commits of EVENTS_RELAY_BATCH_WAIT_MS
    from `queued_at` gather first (queueing.gather), then relay batches until
    one comes back short. Returns how many it relayed.

    Why wait: a relay run's fixed cost (the task, its transaction and lock,
    the planning, the enqueues) came to ~6 ms of worker CPU per event under
    load, where every run found one or two. The flag stays set during the
    wait, so those commits enqueue no other relay and this run takes them
    all in one batch. Nothing is held meanwhile (no transaction, row or Redis
    lock); a worker killed mid-wait leaves only the flag, which expires, and
    beat's catch-up relays the events."""
    queueing.gather(queued_at, settings.EVENTS_RELAY_BATCH_WAIT_MS)
    cache.delete(RELAY_QUEUED)  # a commit from now on enqueues another relay
    total = 0
    while True:
        relayed = relay_pending(limit=batch)
        total += relayed
        if relayed < batch:
            return total
