"""The outbox's tasks, each thin over its service. The relay runs on the
default queue (enqueued after each commit that wrote events, and by beat
every minute as a catch-up); deliveries and emails run on their own queues
(`webhooks`, `emails`: CELERY_TASK_ROUTES), consumed by their own worker, so
a slow receiver never holds up the sweep."""

from celery import shared_task

from events import deliveries, emails, queueing, services

BATCH = 1000


@shared_task(ignore_result=True)
def relay_events(queued_at: float | None = None) -> int:
    """Relay what the commits of a short wait add up to, in batches of BATCH
    (events.services.relay_queued); beat's catch-up sends no `queued_at`."""
    return services.relay_queued(batch=BATCH, queued_at=queued_at)


# The hard limits back up the POST's own timeout (a receiver that trickles
# its answer); the lease (WEBHOOK_LEASE_SECONDS) outlasts them.
@shared_task(ignore_result=True, soft_time_limit=30, time_limit=40)
def deliver_endpoint(endpoint_id: int, queued_at: float | None = None) -> int:
    """An endpoint's ready deliveries, in rounds over one connection: the
    relay, a finished delivery and the catch-up enqueue one per endpoint."""
    return deliveries.deliver_endpoint(endpoint_id, queued_at=queued_at)


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=40)
def deliver_webhook(delivery_id: int) -> str:
    """One delivery: what messages enqueued before `deliver_endpoint` ask."""
    return deliveries.attempt(delivery_id)


@shared_task(ignore_result=True)
def dispatch(task_name: str, ids: list[int]) -> int:
    """A relay batch's deliveries or emails, enqueued one message each."""
    queueing.enqueue_each(task_name, ids)
    return len(ids)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=70)
def send_customer_email(email_id: int) -> str:
    return emails.send(email_id)


@shared_task(ignore_result=True)
def catch_up_deliveries() -> dict[str, int]:
    """Beat, every 10 s: enqueue the deliveries and emails that are due and
    that no message is on its way for (a retry past the countdown limit, a
    lost message, a worker killed mid-attempt once its lease lapsed).
    Enqueuing one twice is harmless: a task finds it taken and stops."""
    due_deliveries = deliveries.catch_up()
    due_emails = emails.due()
    emails.enqueue(due_emails)
    return {"deliveries": due_deliveries, "emails": len(due_emails)}
