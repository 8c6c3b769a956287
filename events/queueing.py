"""Enqueuing one task per email (and per endpoint with deliveries to send:
events/deliveries.py), after the commit that made them.

A relay batch of the catch-up makes up to a thousand emails at once: past
DIRECT_LIMIT they are handed to one `dispatch` task on the webhooks queue,
which publishes them over one broker connection, so the relay goes on to its
next batch instead of publishing a thousand messages first (measured when
deliveries went one message each: the relay went from ~600 to ~5,000
events/s with one subscribed endpoint)."""

from celery import current_app
from django.db import transaction

DIRECT_LIMIT = 20


def enqueue_each_after_commit(task_name: str, ids: list[int]) -> None:
    def enqueue():
        if len(ids) > DIRECT_LIMIT:
            current_app.tasks["events.tasks.dispatch"].delay(task_name, ids)
        else:
            enqueue_each(task_name, ids)

    if ids:
        transaction.on_commit(enqueue, robust=True)


def enqueue_each(task_name: str, ids: list[int]) -> None:
    """One message per id, over one broker connection. Never with a
    countdown: a worker holds a delayed message unacknowledged until it is
    due, and dies restoring it when Redis goes away (kombu's Redis transport);
    what is due later waits in its table for the catch-up."""
    task = current_app.tasks[task_name]
    with task.app.producer_or_acquire() as producer:
        for pk in ids:
            task.apply_async((pk,), producer=producer)
