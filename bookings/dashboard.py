"""Reads for the staff operations dashboard.

Each figure is one aggregate query (Sum/Count with filters, grouped by day or
hour in the database), so the page costs the same number of queries with a
day of data or a year of it. Times are UTC; "today" is the UTC date.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone
from redis.exceptions import RedisError

from bookings.models import (
    Booking,
    BookingStatus,
    ReconciliationRun,
    SweepRun,
)
from config import refusals as refusal_audit
from events.selectors import DeliveryHealth, delivery_health
from flights.models import FlightInventory
from hotels.models import RoomNight
from locking import metrics

HORIZON_DAYS = 30
EXPIRING_SOON = timedelta(minutes=5)
CONVERSION_WINDOW = timedelta(hours=24)
HOURS_OF_HOLDS = 24

HELD, CONFIRMED = BookingStatus.HELD, BookingStatus.CONFIRMED


@dataclass(frozen=True)
class Units:
    """Seats or rooms: the capacity and where it is."""

    total: int = 0
    available: int = 0
    held: int = 0
    booked: int = 0


@dataclass(frozen=True)
class InventoryFigures:
    today: Units
    horizon: Units  # today and the next HORIZON_DAYS - 1 days
    by_day: list[tuple[date, Units]]  # every day of the horizon, empty days as zeros


@dataclass(frozen=True)
class HoldFigures:
    active: int
    expiring_soon: int  # active, and expiring within EXPIRING_SOON
    overdue: int  # past expires_at, still `held` until the sweep or next use


@dataclass(frozen=True)
class Conversion:
    """Bookings created in the window, by what became of them."""

    created: int
    confirmed: int  # ever confirmed, including those cancelled since
    cancelled: int
    released: int
    expired: int
    still_held: int

    @property
    def decided(self) -> int:
        return self.created - self.still_held

    @property
    def rate_decided(self) -> float | None:
        """Confirmed among the holds that have left `held`."""
        return self.confirmed / self.decided if self.decided else None

    @property
    def rate_overall(self) -> float | None:
        """Confirmed among every hold created in the window."""
        return self.confirmed / self.created if self.created else None


@dataclass(frozen=True)
class SweepReport:
    at: datetime
    expired: int
    outcome: str
    error: str


@dataclass(frozen=True)
class ReconcileReport:
    at: datetime
    drift: int
    outcome: str


@dataclass(frozen=True)
class LockTimeouts:
    recent: dict[str, int] | None  # every process, last 24 hours (None: Redis unreachable)
    this_process: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    seats: InventoryFigures
    rooms: InventoryFigures
    holds: HoldFigures
    conversion: Conversion
    holds_per_hour: list[tuple[datetime, int]]
    sweep: SweepReport | None
    lock_timeouts: LockTimeouts
    reconcile: ReconcileReport | None
    # client addresses refused most in the last hour (None: Redis unreachable)
    refused_clients: list[tuple[str, int]] | None = None
    webhooks: DeliveryHealth | None = None


def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = now.date()
    return Dashboard(
        now=now,
        seats=seat_figures(today),
        rooms=room_figures(today),
        holds=hold_figures(now),
        conversion=conversion(now),
        holds_per_hour=holds_per_hour(now),
        sweep=last_sweep(),
        lock_timeouts=lock_timeouts(now),
        reconcile=last_reconcile(),
        refused_clients=refused_clients(now),
        webhooks=delivery_health(),
    )


# --- Inventory ------------------------------------------------------------------------


def seat_figures(today: date, days: int = HORIZON_DAYS) -> InventoryFigures:
    """Seats of the flights departing (UTC date) today and in the next days."""
    return _inventory_figures(
        FlightInventory.objects.all(), "flight__departure_date", "seats", today, days
    )


def room_figures(today: date, days: int = HORIZON_DAYS) -> InventoryFigures:
    """Room-nights of tonight and the next nights."""
    return _inventory_figures(RoomNight.objects.all(), "date", "rooms", today, days)


def _inventory_figures(rows, day_field: str, unit: str, today: date, days: int):
    end = today + timedelta(days=days)
    window = rows.filter(**{f"{day_field}__gte": today, f"{day_field}__lt": end})
    states = ("total", "available", "held", "booked")

    on_today = Q(**{day_field: today})
    totals = window.aggregate(
        **{f"today_{s}": Coalesce(Sum(f"{s}_{unit}", filter=on_today), 0) for s in states},
        **{f"horizon_{s}": Coalesce(Sum(f"{s}_{unit}"), 0) for s in states},
    )
    per_day = {
        row["day"]: Units(**{s: row[s] for s in states})
        for row in window.values(day=F(day_field))
        .annotate(**{s: Sum(f"{s}_{unit}") for s in states})
        .order_by("day")
    }
    return InventoryFigures(
        today=Units(**{s: totals[f"today_{s}"] for s in states}),
        horizon=Units(**{s: totals[f"horizon_{s}"] for s in states}),
        by_day=[
            (day, per_day.get(day, Units()))
            for day in (today + timedelta(days=i) for i in range(days))
        ],
    )


# --- Holds ----------------------------------------------------------------------------


def hold_figures(now: datetime) -> HoldFigures:
    soon = now + EXPIRING_SOON
    figures = Booking.objects.filter(status=HELD).aggregate(
        active=Count("pk", filter=Q(expires_at__gt=now)),
        expiring_soon=Count("pk", filter=Q(expires_at__gt=now, expires_at__lte=soon)),
        overdue=Count("pk", filter=Q(expires_at__lte=now)),
    )
    return HoldFigures(**figures)


def conversion(now: datetime, window: timedelta = CONVERSION_WINDOW) -> Conversion:
    """What became of the bookings created in `(now - window, now]`."""
    overdue = Q(status=HELD, expires_at__lte=now)
    figures = Booking.objects.filter(created_at__gt=now - window, created_at__lte=now).aggregate(
        created=Count("pk"),
        confirmed=Count("pk", filter=Q(status=CONFIRMED) | Q(confirmed_at__isnull=False)),
        cancelled=Count("pk", filter=Q(status=BookingStatus.CANCELLED)),
        released=Count("pk", filter=Q(status=BookingStatus.RELEASED)),
        expired=Count("pk", filter=Q(status=BookingStatus.EXPIRED) | overdue),
        still_held=Count("pk", filter=Q(status=HELD, expires_at__gt=now)),
    )
    return Conversion(**figures)


def holds_per_hour(now: datetime, hours: int = HOURS_OF_HOLDS) -> list[tuple[datetime, int]]:
    """Bookings created in each UTC hour of the last `hours`, the current one
    last (so far), hours without any as zeros."""
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    counts = dict(
        Booking.objects.filter(created_at__gte=first, created_at__lte=now)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by("hour")
        .values_list("hour", "n")
    )
    return [
        (hour, counts.get(hour, 0)) for hour in (first + timedelta(hours=h) for h in range(hours))
    ]


# --- Background work ------------------------------------------------------------------


def last_sweep() -> SweepReport | None:
    """When the expiry sweep last ran, how it ended and how many holds it
    expired (its `SweepRun`); None before the first run."""
    latest = SweepRun.objects.order_by("-started_at", "-pk").first()
    if latest is None:
        return None
    return SweepReport(
        at=latest.finished_at or latest.started_at,
        expired=latest.expired,
        outcome=latest.get_outcome_display(),
        error=latest.error,
    )


def last_reconcile() -> ReconcileReport | None:
    """The last `reconcile_inventory` run (its `ReconciliationRun`); None
    means it has not run yet."""
    latest = ReconciliationRun.objects.order_by("-started_at", "-pk").first()
    if latest is None:
        return None
    return ReconcileReport(
        at=latest.finished_at or latest.started_at,
        drift=latest.drift_count,
        outcome=latest.get_outcome_display(),
    )


def lock_timeouts(now: datetime) -> LockTimeouts:
    try:
        recent = metrics.recent_lock_timeouts(hours=24, now=now)
    except RedisError:
        recent = None
    return LockTimeouts(recent=recent, this_process=metrics.process_lock_timeouts())


def refused_clients(now: datetime, limit: int = 5) -> list[tuple[str, int]] | None:
    """The addresses refused most (401, 403, 429, probed bookings) in the
    last hour, from the refusal audit's counters in Redis (config/refusals.py)."""
    try:
        return refusal_audit.top_refused_clients(now, limit=limit)
    except RedisError:
        return None
