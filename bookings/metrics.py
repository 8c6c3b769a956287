"""The bookings' figures, exported on /metrics.

Each figure is counted in one place:

- holds: around the create view (`hold_outcome`), which sees every outcome,
  the request's own validation errors included;
- confirms, cancellations and expiries: in `services.transition.change_status`,
  the one place a booking's status changes (`count_transition`), once the transaction
  commits, so a rolled-back transition is never counted and a transition that
  two racing requests ask for is counted once;
- extensions: in `services.extend_booking` (`count_extension`), on commit too;
- the sweep: around the sweep service (`sweep_run`), which also marks the
  expiries it makes as `trigger="sweep"`;
- reconcile: `record_reconcile` at the end of a reconcile run.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, Celery),
every process writes its figures there and /metrics adds them up; gauges say
how (`multiprocess_mode`).
"""

import contextvars
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.db import transaction
from prometheus_client import Counter, Gauge, Histogram

from config.exceptions import DomainError

holds = Counter(
    "travel_holds_total",
    "Hold requests by outcome: held, replayed (an Idempotency-Key repeat), or the error code.",
    ["result"],
)
confirms = Counter("travel_confirms_total", "Bookings confirmed (held to confirmed).")
cancellations = Counter(
    "travel_cancellations_total",
    "Bookings cancelled by a customer or staff: released (from held) or cancelled "
    "(from confirmed).",
    ["result"],
)
expiries = Counter(
    "travel_expiries_total",
    "Holds expired: by the sweep, or on use (a confirm, extend, cancel or new hold "
    "found them overdue).",
    ["trigger"],
)
extensions = Counter("travel_extensions_total", "Holds extended.")
sweep_duration = Histogram(
    "travel_expiry_sweep_duration_seconds",
    "Time one expiry sweep took.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
sweeps = Counter(
    "travel_expiry_sweeps_total",
    "Expiry sweeps by outcome: completed, skipped (another sweep was running) or failed.",
    ["result"],
)
reconcile_drift = Gauge(
    "travel_reconcile_drift_rows",
    "Inventory rows whose counters disagreed with the bookings at the last reconcile run.",
    ["inventory"],
    multiprocess_mode="mostrecent",
)
reconcile_last_run = Gauge(
    "travel_reconcile_last_run_timestamp_seconds",
    "When reconcile last ran (Unix time).",
    multiprocess_mode="mostrecent",
)

# Series that exist from the start, so a rate over them is 0 rather than absent.
holds.labels(result="held")
holds.labels(result="replayed")
holds.labels(result="insufficient_inventory")
for _result in ("released", "cancelled"):
    cancellations.labels(result=_result)
for _trigger_name in ("sweep", "on_use"):
    expiries.labels(trigger=_trigger_name)
for _result in ("completed", "skipped", "failed"):
    sweeps.labels(result=_result)

_trigger: contextvars.ContextVar[str] = contextvars.ContextVar("expiry_trigger", default="on_use")

_TRANSITIONS = {
    "confirmed": lambda: confirms,
    "released": lambda: cancellations.labels(result="released"),
    "cancelled": lambda: cancellations.labels(result="cancelled"),
    "expired": lambda: expiries.labels(trigger=_trigger.get()),
}


def count_transition(to_status: str, count: int) -> None:
    """Count `count` bookings moved to `to_status` once the current
    transaction commits."""
    metric = _TRANSITIONS.get(str(to_status))
    if metric is not None and count:
        child = metric()  # the trigger is read now, not at commit
        transaction.on_commit(lambda: child.inc(count))


def count_extension() -> None:
    transaction.on_commit(extensions.inc)


class HoldOutcome:
    result = "held"

    def replayed(self, replayed: bool) -> None:
        self.result = "replayed" if replayed else "held"


@contextmanager
def hold_outcome() -> Iterator[HoldOutcome]:
    """Count one hold request by how it ended: `held`, `replayed`, the
    contract's error code of what it raised, or `error` for anything else."""
    outcome = HoldOutcome()
    try:
        yield outcome
    except DomainError as exc:
        holds.labels(result=exc.code).inc()
        raise
    except Exception as exc:
        holds.labels(result=_api_code(exc)).inc()
        raise
    holds.labels(result=outcome.result).inc()


def _api_code(exc: Exception) -> str:
    from config.api.errors import code_for_exception

    return code_for_exception(exc)


class SweepRun:
    skipped = False

    def skip(self) -> None:
        """Another sweep was running: this one did nothing."""
        self.skipped = True


@contextmanager
def sweep_run() -> Iterator[SweepRun]:
    """Time one sweep, count it by outcome, and count the expiries made inside
    as `trigger="sweep"`."""
    run = SweepRun()
    token = _trigger.set("sweep")
    started = time.perf_counter()
    try:
        yield run
    except BaseException:
        sweeps.labels(result="failed").inc()
        raise
    else:
        sweeps.labels(result="skipped" if run.skipped else "completed").inc()
    finally:
        _trigger.reset(token)
        if not run.skipped:
            sweep_duration.observe(time.perf_counter() - started)


def record_reconcile(drift_rows: Mapping[str, int]) -> None:
    """Set the drift gauge from one reconcile run: inventory kind (for example
    `flight_cabin`, `room_night`) to the number of rows that disagreed."""
    for inventory, rows in drift_rows.items():
        reconcile_drift.labels(inventory=inventory).set(rows)
    reconcile_last_run.set_to_current_time()
