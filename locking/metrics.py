"""Lock figures, exported on /metrics."""

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django_redis import get_redis_connection
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

lock_acquisitions = Counter("travel_lock_acquisitions_total", "Redis locks acquired.", ["kind"])
lock_wait_seconds = Histogram(
    "travel_lock_wait_seconds",
    "Time spent waiting for a Redis lock.",
    ["kind"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
lock_timeouts = Counter(
    "travel_lock_timeouts_total", "Redis locks not acquired within their wait time.", ["kind"]
)
locks_lost = Counter(
    "travel_locks_lost_total",
    "Redis locks that expired before their holder released them.",
    ["kind"],
)
redis_unavailable = Counter(
    "travel_lock_redis_unavailable_total",
    "Times Redis could not be reached for a lock and work went on under database locks alone.",
)
redis_breaker_opens = Counter(
    "travel_redis_breaker_opens_total",
    "Times a process stopped calling Redis for its cool-down after a failure (locking.breaker).",
)


# Prometheus counters live in each process; the staff dashboard runs in one web
# process and would see only its own. Timeouts are also counted in Redis, in
# one hash per UTC hour (field: lock kind), kept two days.
SHARED_TIMEOUTS_KEY = "metrics:lock-timeouts:"
SHARED_TIMEOUTS_TTL_SECONDS = 2 * 24 * 3600


def count_lock_timeout(kind: str, now: datetime | None = None) -> None:
    lock_timeouts.labels(kind=kind).inc()
    key = SHARED_TIMEOUTS_KEY + f"{now or timezone.now():%Y%m%d%H}"
    try:
        with get_redis_connection("default").pipeline(transaction=False) as pipe:
            pipe.hincrby(key, kind, 1)
            pipe.expire(key, SHARED_TIMEOUTS_TTL_SECONDS)
            pipe.execute()
    except RedisError as exc:
        logger.warning("could not count a lock timeout in Redis: %r", exc)


def recent_lock_timeouts(hours: int = 24, now: datetime | None = None) -> dict[str, int]:
    """Lock timeouts of every process in the last `hours` UTC hours (the
    current one included), by lock kind, from Redis."""
    now = now or timezone.now()
    keys = [SHARED_TIMEOUTS_KEY + f"{now - timedelta(hours=h):%Y%m%d%H}" for h in range(hours)]
    with get_redis_connection("default").pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        buckets = pipe.execute()
    totals: dict[str, int] = {}
    for bucket in buckets:
        for kind, count in bucket.items():
            totals[kind.decode()] = totals.get(kind.decode(), 0) + int(count)
    return dict(sorted(totals.items()))


def process_lock_timeouts() -> dict[str, int]:
    """This process's Prometheus counter since it started, by lock kind."""
    return {
        sample.labels["kind"]: int(sample.value)
        for metric in lock_timeouts.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
