"""Writing events into the outbox, and relaying them once committed."""

from django.db import transaction
from django.utils import timezone

from events.models import Event


def record_events(events: list[Event]) -> None:
    """Write events in the caller's transaction and have them relayed once it
    commits. The caller runs inside transaction.atomic()."""
    Event.objects.bulk_create(events)
    relay_after_commit()


def relay_after_commit() -> None:
    """Enqueue the relay once the current transaction commits; never for one
    that rolls back. `robust`: a broker that cannot be reached after the
    commit costs only the wait for the catch-up, never the request."""
    from events.tasks import relay_events

    transaction.on_commit(relay_events.delay, robust=True)


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
