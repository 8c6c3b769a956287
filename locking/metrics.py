"""Lock figures, exported on /metrics."""

from prometheus_client import Counter, Histogram

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
