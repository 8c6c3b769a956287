"""Expire: a hold whose `expires_at` has passed gives its units back.

The sweep (beat, every minute) expires overdue holds in batches of short
transactions, skipping bookings another transaction has locked (a confirm, a
cancel or another sweep is changing them). A confirm, extend or cancel that
meets an overdue hold expires it on the spot, and a hold refused for want of
units first releases the overdue holds in its way."""

import gc
import logging
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import metrics, selectors
from bookings.models import Booking, BookingStatus, RunOutcome, SweepRun
from bookings.services.requests import FlightRequest, ItemRequest
from bookings.services.transition import change_status
from locking import locks

logger = logging.getLogger(__name__)

HELD, EXPIRED = BookingStatus.HELD, BookingStatus.EXPIRED


def expire_if_overdue(booking: Booking, now: datetime) -> bool:
    """Expire a locked hold now if its time has passed, rather than wait for
    the sweep. Time expired it, not whoever's request noticed: the history
    records the system."""
    if not booking.is_overdue(now):
        return False
    change_status(
        [booking],
        to_status=EXPIRED,
        actor=None,
        now=now,
        note="expired when it was next used",
        expired_at=now,
    )
    return True


def expire_bookings(
    *, booking_ids: Iterable[int], note: str = "", now=None, wait: bool = False
) -> int:
    """Expire those of the given bookings that are still held and overdue, in
    one transaction. Those another transaction has locked are skipped (it is
    changing them), unless `wait`: then each is expired once that transaction
    ends, if it is still held and overdue. Returns how many it expired."""
    ids = list(booking_ids)
    if not ids:
        return 0
    with transaction.atomic():
        now = now or timezone.now()
        overdue = _overdue(now).filter(pk__in=ids)
        return len(_expire(overdue, note=note, now=now, skip_locked=not wait))


def release_overdue_holds_on(items: Sequence[ItemRequest]) -> int:
    """Expire the overdue holds on the inventory rows these items need,
    waiting for any that another transaction has locked: once it ends, the
    booking is either no longer held (another request expired, confirmed or
    released it) or ours to expire. Returns how many were in the way."""
    touching = Q(pk__in=[])
    for item in items:
        if isinstance(item, FlightRequest):
            touching |= Q(
                flight_items__inventory__flight_id=item.flight_id,
                flight_items__inventory__cabin_class=item.cabin_class,
            )
        else:
            touching |= Q(
                hotel_items__room_type_id=item.room_type_id,
                hotel_items__check_in__lt=item.check_out,
                hotel_items__check_out__gt=item.check_in,
            )
    now = timezone.now()
    in_the_way = list(_overdue(now).filter(touching).values_list("pk", flat=True).distinct())
    expire_bookings(booking_ids=in_the_way, note="released for a new hold", now=now, wait=True)
    return len(in_the_way)


def expire_overdue_holds(*, batch_size: int | None = None, now=None) -> int:
    """The sweep: expire every held booking whose `expires_at` has passed.
    Single-flight: while one sweep runs, another returns 0 at once (without
    Redis both run, and SKIP LOCKED keeps them apart). Each run is recorded as
    a `SweepRun`. Returns how many it expired."""
    batch_size = batch_size or settings.EXPIRY_BATCH_SIZE
    now = now or timezone.now()
    with metrics.sweep_run() as observed:
        try:
            with locks.acquire(
                locks.singleton_key("expiry-sweep"),
                wait=0,
                timeout=settings.EXPIRY_SWEEP_LOCK_SECONDS,
            ) as sweep_lock:
                return sweep(sweep_lock, batch_size=batch_size, now=now)
        except locks.LockTimeout:
            observed.skip()
            logger.info("expiry sweep skipped: another sweep is running")
            return 0


def sweep(sweep_lock: locks.Locks, *, batch_size: int, now: datetime) -> int:
    """Expire in batches until none is left. Each batch starts after the last
    key of the one before, so no scan walks again over the bookings it has
    just expired. A booking skipped because another transaction had it locked
    is being changed by that transaction; if it rolls back, the next sweep
    expires it."""
    started = time.monotonic()
    run = SweepRun.objects.create(started_at=timezone.now(), batch_size=batch_size)
    overdue = _overdue(now)
    try:
        while True:
            with _without_cycle_collection(), transaction.atomic():
                _commit_without_waiting_for_the_disk()
                expired = _expire(overdue, note="expired by the sweep", now=now, limit=batch_size)
            if expired:
                run.batches += 1
                run.expired += len(expired)
                overdue = _overdue(now).filter(_after(expired[-1]))
            sweep_lock.refresh()
            if len(expired) < batch_size:
                break  # none left, or the rest are locked by those changing them
    except BaseException as exc:
        _finish_run(run, RunOutcome.FAILED, error=repr(exc))
        logger.exception(
            "expiry sweep failed after expiring %d holds in %d batches", run.expired, run.batches
        )
        raise
    _finish_run(run, RunOutcome.FINISHED)
    logger.info(
        "expiry sweep: expired %d holds in %d batches in %.2f s",
        run.expired,
        run.batches,
        time.monotonic() - started,
    )
    return run.expired


def _overdue(now: datetime):
    return Booking.objects.filter(status=HELD, expires_at__lte=now).order_by("expires_at", "pk")


def _after(last: Booking) -> Q:
    """The bookings after `last` in the sweep's order, (expires_at, pk)."""
    return Q(expires_at__gt=last.expires_at) | Q(expires_at=last.expires_at, pk__gt=last.pk)


def _expire(
    overdue, *, note: str, now: datetime, skip_locked: bool = True, limit: int | None = None
) -> list[Booking]:
    """Lock up to `limit` bookings of `overdue` (skipping those locked
    elsewhere, unless told not to) and expire them through the transition path."""
    locked = overdue.select_for_update(skip_locked=skip_locked, of=("self",))
    # The stored answer of an idempotent hold is no part of a transition.
    bookings = list(locked.defer("idempotent_response")[:limit])
    selectors.read_batch_items(bookings)
    change_status(bookings, to_status=EXPIRED, actor=None, now=now, note=note, expired_at=now)
    return bookings


@contextmanager
def _without_cycle_collection():
    """Run a batch without Python's cyclic garbage collector. A batch builds
    tens of thousands of objects that live until it ends (bookings, items,
    history rows, events and their payloads); while they live, they pass the
    collector's thresholds again and again, and each full collection walks
    the whole process heap: a fifth to two fifths of a sweep's Python, measured.
    Reference counting still frees what the batch drops; the few cycles left
    wait for the next collection, after the batch. The switch is the
    process's: a thread beside the sweep (a gthread worker's request) goes
    without cycle collection for a batch's fraction of a second, no more."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _commit_without_waiting_for_the_disk() -> None:
    """The batch's commit does not wait for its WAL flush, so the inventory rows
    it locks are free sooner. Safe: if PostgreSQL crashed before the flush, the
    whole batch is lost together (bookings held, counters held: consistent) and
    the next sweep redoes it; and any transaction that sells the freed units
    flushes the WAL up to its own commit, the batch's included, first."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _finish_run(run: SweepRun, outcome: str, error: str = "") -> None:
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "error", "finished_at", "expired", "batches"])
    cutoff = run.finished_at - timedelta(days=settings.SWEEP_RUN_RETENTION_DAYS)
    SweepRun.objects.filter(started_at__lt=cutoff).delete()
