"""Enqueuing one task per email (and per endpoint with deliveries to send:
events/deliveries.py), after the commit that made them.

A relay batch of the catch-up makes up to a thousand emails at once: past
DIRECT_LIMIT they are handed to one `dispatch` task on the webhooks queue,
which publishes them over one broker connection, so the relay goes on to its
next batch instead of publishing a thousand messages first (measured when
deliveries went one message each: the relay went from ~600 to ~5,000
events/s with one subscribed endpoint)."""

import time
from time import sleep

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


def enqueue_each(task_name: str, ids: list[int], **kwargs) -> None:
    """One message per id, over one broker connection. Never with a
    countdown: a worker holds a delayed message unacknowledged until it is
    due, and dies restoring it when Redis goes away (kombu's Redis transport);
    what is due later waits in its table for the catch-up."""
    task = current_app.tasks[task_name]
    with task.app.producer_or_acquire() as producer:
        for pk in ids:
            task.apply_async((pk,), kwargs=kwargs or None, producer=producer)


def gather(queued_at: float | None, wait_ms: int) -> None:
    """Let work gather for what is left of `wait_ms` since the message was
    queued (`queued_at`, time.time() then), so one run carries what the
    commits of that moment add. A message that already waited that long in
    the queue (a busy worker, many endpoints) starts at once, so a prefork
    process sleeps only when it had nothing else to do; a catch-up's message
    (no `queued_at`) has nothing to gather. The caller holds no transaction
    and no lock."""
    if queued_at is None or wait_ms <= 0:
        return
    left = min(queued_at + wait_ms / 1000 - time.time(), wait_ms / 1000)
    if left > 0:
        sleep(left)
