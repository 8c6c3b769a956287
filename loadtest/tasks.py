"""A stand-in for the expiry sweep's Celery task, for the fault tests while
`bookings.tasks.expire_holds` does not exist yet: the same service the real
task calls, run by a real worker (started with `--include loadtest.tasks`).
Once the real task exists, the fault tests use it and this is unused."""

from celery import shared_task


@shared_task(name="loadtest.tasks.expire_overdue_holds")
def expire_overdue_holds() -> int:
    from bookings.services import expire_overdue_holds as sweep

    return sweep()
