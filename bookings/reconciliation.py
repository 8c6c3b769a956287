"""Reconciliation: every seat and room counter against the bookings' items
(docs/design.md, Invariants). `held` must be the units of `held` bookings (overdue
ones the sweep has not reached yet still hold theirs), `booked` those of
`confirmed` ones, and `available` the rest of the total.

The sums are computed by PostgreSQL, one statement per inventory table, so each
comparison is one consistent snapshot: a hold or confirm commits its booking
and its counter moves together, and is seen whole or not at all.

Repairs take the same row locks as the services, in the global order
(FlightInventory, then RoomNight, each by primary key), recompute the sums
under them (nothing can move those counters meanwhile) and write only a row
that still drifts and that the constraints accept.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bookings import metrics
from bookings.models import BookingStatus, ReconciliationRun, RunOutcome
from bookings.seat_reconciliation import SeatDrift, find_seat_drift, repair_seats
from bookings.services.inventory import lock_rows
from config import search_cache
from flights.models import FlightInventory
from hotels.models import RoomNight

logger = logging.getLogger(__name__)

CABIN, ROOM_NIGHT = "cabin", "room night"
REPAIR_CHUNK = 200  # rows locked per repair transaction
DRIFT_KEPT = 100  # drifting rows stored with a ReconciliationRun

_CABIN_DRIFT_SQL = """
SELECT f.id, fl.flight_number || ' ' || fl.departure_date || ' ' || f.cabin_class,
       f.total_seats - f.blocked_seats, f.available_seats, f.held_seats, f.booked_seats,
       COALESCE(s.held, 0), COALESCE(s.booked, 0)
FROM flights_flightinventory AS f
JOIN flights_flight AS fl ON fl.id = f.flight_id
LEFT JOIN (
    SELECT i.inventory_id,
           SUM(i.seats) FILTER (WHERE b.status = %(held)s) AS held,
           SUM(i.seats) FILTER (WHERE b.status = %(confirmed)s) AS booked
    FROM bookings_flightitem AS i
    JOIN bookings_booking AS b ON b.id = i.booking_id
    WHERE b.status IN (%(held)s, %(confirmed)s) {item_filter}
    GROUP BY i.inventory_id
) AS s ON s.inventory_id = f.id
WHERE (f.held_seats, f.booked_seats, f.available_seats) IS DISTINCT FROM
      (COALESCE(s.held, 0), COALESCE(s.booked, 0),
       f.total_seats - f.blocked_seats - COALESCE(s.held, 0) - COALESCE(s.booked, 0))
      {row_filter}
ORDER BY f.id
"""

# Each stay is spread over its nights [check_in, check_out) before summing.
_NIGHT_DRIFT_SQL = """
SELECT rn.id, h.name || ' ' || rt.code || ' ' || rn.date,
       rn.total_rooms, rn.available_rooms, rn.held_rooms, rn.booked_rooms,
       COALESCE(s.held, 0), COALESCE(s.booked, 0)
FROM hotels_roomnight AS rn
JOIN hotels_roomtype AS rt ON rt.id = rn.room_type_id
JOIN hotels_hotel AS h ON h.id = rt.hotel_id
LEFT JOIN (
    SELECT hi.room_type_id, night::date AS date,
           SUM(hi.rooms) FILTER (WHERE b.status = %(held)s) AS held,
           SUM(hi.rooms) FILTER (WHERE b.status = %(confirmed)s) AS booked
    FROM bookings_hotelitem AS hi
    JOIN bookings_booking AS b ON b.id = hi.booking_id
    CROSS JOIN LATERAL generate_series(
        hi.check_in::timestamp, (hi.check_out - 1)::timestamp, interval '1 day'
    ) AS night
    WHERE b.status IN (%(held)s, %(confirmed)s) {item_filter}
    GROUP BY hi.room_type_id, night::date
) AS s ON s.room_type_id = rn.room_type_id AND s.date = rn.date
WHERE (rn.held_rooms, rn.booked_rooms, rn.available_rooms) IS DISTINCT FROM
      (COALESCE(s.held, 0), COALESCE(s.booked, 0),
       rn.total_rooms - COALESCE(s.held, 0) - COALESCE(s.booked, 0))
      {row_filter}
ORDER BY rn.id
"""


@dataclass(frozen=True)
class Drift:
    """One inventory row whose counters disagree with its bookings."""

    kind: str  # CABIN or ROOM_NIGHT
    pk: int
    label: str
    total: int  # on sale: a cabin's seats staff blocked are not counted
    available: int
    held: int
    booked: int
    expected_held: int
    expected_booked: int

    @property
    def expected_available(self) -> int:
        return self.total - self.expected_held - self.expected_booked

    @property
    def fixable(self) -> bool:
        """The bookings fit in the total: the repaired row satisfies the constraints."""
        return self.expected_available >= 0

    def describe(self) -> str:
        parts = [
            f"{name} {actual} (expected {expected})"
            for name, actual, expected in (
                ("held", self.held, self.expected_held),
                ("booked", self.booked, self.expected_booked),
                ("available", self.available, self.expected_available),
            )
            if actual != expected
        ]
        return f"{self.kind} #{self.pk} {self.label} (total {self.total}): " + ", ".join(parts)

    def as_dict(self) -> dict:
        return {**asdict(self), "expected_available": self.expected_available}


@dataclass
class Reconciliation:
    cabins_checked: int = 0
    nights_checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    fixed: list[Drift] = field(default_factory=list)
    unfixable: list[Drift] = field(default_factory=list)
    # Drifted when checked, consistent again under the lock (a race, not drift).
    settled: list[Drift] = field(default_factory=list)
    # Cabins whose seat maps disagree (bookings.seat_reconciliation), and
    # those still disagreeing after the repair (all of them without --fix).
    seat_drift: list[SeatDrift] = field(default_factory=list)
    seat_drift_left: list[SeatDrift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing left drifting: no drift, or all of it repaired."""
        if self.seat_drift_left:
            return False
        if not self.drift:
            return True
        return not self.unfixable and len(self.fixed) + len(self.settled) == len(self.drift)


def find_drift() -> list[Drift]:
    """Every cabin and room night whose counters disagree with the bookings."""
    return _cabin_drift() + _night_drift()


def reconcile(*, fix: bool = False) -> Reconciliation:
    """Check every counter, repair the drift if `fix`, log it and record the
    run as a `ReconciliationRun` (for the dashboard)."""
    run = ReconciliationRun.objects.create(started_at=timezone.now(), fix=fix)
    result = Reconciliation()
    try:
        result.cabins_checked = FlightInventory.objects.count()
        result.nights_checked = RoomNight.objects.count()
        result.drift = find_drift()
        if fix and result.drift:
            repair(result)
        result.seat_drift = result.seat_drift_left = find_seat_drift()
        if fix and result.seat_drift:
            result.seat_drift_left = repair_seats(result.seat_drift)
    except BaseException as exc:
        _finish_run(run, result, RunOutcome.FAILED, error=repr(exc))
        raise
    _log(result, fix)
    _finish_run(run, result, RunOutcome.FINISHED)
    metrics.record_reconcile(
        {
            "flight_cabin": sum(1 for d in result.drift if d.kind == CABIN),
            "room_night": sum(1 for d in result.drift if d.kind == ROOM_NIGHT),
        }
    )
    return result


def repair(result: Reconciliation) -> None:
    """Set each drifting row's counters to the bookings' sums, under the row
    locks, cabins before room nights, each in primary-key order."""
    for kind, model, find in (
        (CABIN, FlightInventory, _cabin_drift),
        (ROOM_NIGHT, RoomNight, _night_drift),
    ):
        ids = sorted(d.pk for d in result.drift if d.kind == kind)
        for start in range(0, len(ids), REPAIR_CHUNK):
            chunk = ids[start : start + REPAIR_CHUNK]
            with transaction.atomic():
                lock_rows(model, chunk)  # the services' own lock, so the order is theirs
                still = {d.pk: d for d in find(ids=chunk)}
                for drift in (d for d in result.drift if d.pk in chunk and d.kind == kind):
                    now = still.get(drift.pk)
                    if now is None:
                        result.settled.append(drift)
                    elif not now.fixable:
                        result.unfixable.append(now)
                    else:
                        _write(model, now)
                        result.fixed.append(now)


def _write(model, drift: Drift) -> None:
    unit = "seats" if model is FlightInventory else "rooms"
    search_cache.inventory_changed(model, [drift.pk])
    model.objects.filter(pk=drift.pk).update(
        **{
            f"held_{unit}": drift.expected_held,
            f"booked_{unit}": drift.expected_booked,
            f"available_{unit}": drift.expected_available,
        }
    )


def _cabin_drift(ids: list[int] | None = None) -> list[Drift]:
    return _query(
        CABIN,
        _CABIN_DRIFT_SQL,
        ids,
        item_filter="AND i.inventory_id = ANY(%(ids)s)",
        row_filter="AND f.id = ANY(%(ids)s)",
    )


def _night_drift(ids: list[int] | None = None) -> list[Drift]:
    return _query(
        ROOM_NIGHT,
        _NIGHT_DRIFT_SQL,
        ids,
        item_filter=(
            "AND hi.room_type_id IN (SELECT room_type_id FROM hotels_roomnight"
            " WHERE id = ANY(%(ids)s))"
        ),
        row_filter="AND rn.id = ANY(%(ids)s)",
    )


def _query(kind: str, sql: str, ids, *, item_filter: str, row_filter: str) -> list[Drift]:
    if ids is None:
        item_filter = row_filter = ""
    params = {"held": BookingStatus.HELD, "confirmed": BookingStatus.CONFIRMED, "ids": ids}
    with transaction.atomic(), connection.cursor() as cursor:
        _without_jit(cursor)
        cursor.execute(sql.format(item_filter=item_filter, row_filter=row_filter), params)
        return [Drift(kind, *row) for row in cursor.fetchall()]


def _without_jit(cursor) -> None:
    """PostgreSQL estimates a thousand rows for each stay's generate_series,
    so the drift query's cost passes the JIT thresholds and it compiles it
    with full optimization: about 1 s of compiling for a query that runs in
    0.5 s without it at a tenth of `seed_scale` (measured with EXPLAIN
    ANALYZE, the same every run). Off for this transaction only."""
    cursor.execute("SET LOCAL jit = off")


def _log(result: Reconciliation, fix: bool) -> None:
    if not result.drift:
        logger.info(
            "reconciliation: %d cabins and %d room nights match their bookings",
            result.cabins_checked,
            result.nights_checked,
        )
        return
    logger.error(
        "reconciliation: %d inventory rows drift from their bookings%s",
        len(result.drift),
        "" if fix else " (run `manage.py reconcile_inventory --fix` to repair)",
    )
    for drift in result.drift[:DRIFT_KEPT]:
        logger.error("drift: %s", drift.describe())
    for drift in result.fixed:
        logger.warning("repaired: %s", drift.describe())
    for drift in result.unfixable:
        logger.error("NOT repaired, the bookings need more than the total: %s", drift.describe())
    for drift in result.seat_drift:
        logger.error("seat drift: %s", drift.describe())
    for drift in result.seat_drift_left if fix else ():
        logger.error("NOT repaired: %s", drift.describe())


def _finish_run(run: ReconciliationRun, result: Reconciliation, outcome: str, error: str = ""):
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    run.cabins_checked = result.cabins_checked
    run.nights_checked = result.nights_checked
    run.drift_count = len(result.drift)
    run.fixed_count = len(result.fixed)
    run.unfixable_count = len(result.unfixable)
    run.drift = [d.as_dict() for d in result.drift[:DRIFT_KEPT]]
    run.save()
    cutoff = run.finished_at - timedelta(days=settings.RECONCILIATION_RUN_RETENTION_DAYS)
    ReconciliationRun.objects.filter(started_at__lt=cutoff).delete()
