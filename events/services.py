"""Writing events into the outbox, and relaying them once committed."""

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.models import Event


def record_events(events: list[Event]) -> None:
    """Write events in the caller's transaction and have them relayed once it
    commits. The caller runs inside transaction.atomic()."""
    Event.objects.bulk_create(events)
    relay_after_commit()


def relay_after_commit() -> None:
    """Have the relay run once the current transaction commits; never for one
    that rolls back. `robust`: a broker that cannot be reached after the
    commit costs only the wait for the catch-up, never the request."""
    transaction.on_commit(_relay.soon, robust=True)


class _Coalescer:
    """One relay for every commit of a short window, per process: the first
    commit of a window enqueues a relay that runs when the window closes, and
    so sees every event committed in it; later commits of the window enqueue
    nothing. Enqueuing a Celery message per hold and cancel cost a tenth of
    their CPU (profiled); an event waits at most the window."""

    def __init__(self):
        self.window_ends = 0.0

    def soon(self) -> None:
        from events.tasks import relay_events

        now = time.monotonic()
        if now < self.window_ends:
            return
        window = settings.EVENT_RELAY_WINDOW_SECONDS
        self.window_ends = now + window
        relay_events.apply_async(countdown=window)


_relay = _Coalescer()


def relay_pending(*, limit: int = 1000) -> int:
    """Hand the oldest events not yet relayed to their consumers and mark
    them relayed. Rows another relay has locked are skipped, so two relays
    never hand over the same event. For now the outbox has no consumers:
    relaying only marks. Returns how many it relayed."""
    with transaction.atomic():
        pending = list(
            Event.objects.filter(relayed_at__isnull=True)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Event.objects.filter(id__in=pending).update(relayed_at=timezone.now())
    return len(pending)
