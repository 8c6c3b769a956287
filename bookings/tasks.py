"""Background work of the bookings app, run by the Celery worker on beat's
schedule (the PeriodicTasks of migration 0005). Thin: each task calls the
service the management command of the same name calls.

A task that follows a write is enqueued with `task.delay_on_commit(...)`, so
the worker never looks for rows that are not committed yet (or never will be).
"""

import logging

from celery import shared_task

from bookings import reconciliation, services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def expire_holds() -> int:
    """One expiry sweep. A crash or a time limit mid-way leaves every booking
    fully expired or untouched; the next minute's sweep does the rest."""
    return services.expire_overdue_holds()


@shared_task(ignore_result=True, soft_time_limit=900, time_limit=960)
def reconcile_inventory(fix: bool = False) -> int:
    """Check every counter against the bookings; drift is logged as errors
    (by the service) and recorded for the dashboard. Returns the drift count."""
    result = reconciliation.reconcile(fix=fix)
    return len(result.drift)
