"""The relay: enqueued after each commit that wrote events, and run by beat
every minute to catch up on events whose enqueue was lost (a process that
died between its commit and the enqueue, a broker that was away)."""

from celery import shared_task

from events import services

BATCH = 1000


@shared_task(ignore_result=True)
def relay_events() -> int:
    """Relay batches until a batch comes back short: nothing was left."""
    total = 0
    while True:
        relayed = services.relay_pending(limit=BATCH)
        total += relayed
        if relayed < BATCH:
            return total
