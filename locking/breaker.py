"""A circuit breaker in front of Redis, for every django-redis connection
(the cache, the throttles' cache and the locks all go through it).

A Redis that is stopped but not gone (a paused VM, a full network buffer)
does not refuse connections: every call waits out its socket timeout. A
request makes several Redis calls (lock, throttles), so each would wait
seconds and a few workers would stop serving. After one connection error or
timeout the breaker opens: for `REDIS_COOL_DOWN_SECONDS` every call fails at
once with `RedisUnavailable` (a redis-py `ConnectionError`, so every caller's
existing "Redis is down" path runs: locks degrade, throttles fail open; see
README, "When Redis is down"). Once the cool-down is over one call probes
Redis while the others keep skipping it; the first answer closes the breaker.

State is per process and per server address: each gunicorn worker learns of
an outage from its own first timeout.

Used through the cache settings: `"CONNECTION_POOL_CLASS":
"locking.breaker.ConnectionPool"`.
"""

import logging
import threading
import time
from functools import cache

import redis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from locking import metrics

logger = logging.getLogger(__name__)


class RedisUnavailable(RedisConnectionError):
    """Redis was skipped: it failed moments ago and its cool-down is not over."""


class Breaker:
    """Closed (calls go to Redis) or open until a monotonic time."""

    def __init__(self, address: str):
        self.address = address
        self._lock = threading.Lock()
        self._open_until = 0.0  # 0: closed

    @property
    def is_open(self) -> bool:
        return bool(self._open_until)

    def allows(self) -> bool:
        """Whether a call may go to Redis. After the cool-down the first
        caller probes and the cool-down starts again for the others, so a
        still hung Redis costs one timeout per cool-down, not one per call."""
        if not self._open_until:  # closed: the hot path takes no lock
            return True
        with self._lock:
            now = time.monotonic()
            if not self._open_until:
                return True
            if now < self._open_until:
                return False
            self._open_until = now + settings.REDIS_COOL_DOWN_SECONDS
            return True

    def failed(self, error: Exception) -> None:
        with self._lock:
            opened = not self._open_until
            self._open_until = time.monotonic() + settings.REDIS_COOL_DOWN_SECONDS
        if opened:
            metrics.redis_breaker_opens.inc()
            logger.warning(
                "Redis at %s failed (%r): skipping it for %s s",
                self.address,
                error,
                settings.REDIS_COOL_DOWN_SECONDS,
            )

    def succeeded(self) -> None:
        if not self._open_until:
            return
        with self._lock:
            closed, self._open_until = bool(self._open_until), 0.0
        if closed:
            logger.warning("Redis at %s answers again", self.address)


_breakers: dict[str, Breaker] = {}
_registry_lock = threading.Lock()


def breaker_for(address: str) -> Breaker:
    breaker = _breakers.get(address)
    if breaker is None:
        with _registry_lock:
            breaker = _breakers.setdefault(address, Breaker(address))
    return breaker


def close_all() -> None:
    """Close every breaker (each test starts with Redis trusted again)."""
    for breaker in list(_breakers.values()):
        breaker.succeeded()


def _address(options: dict) -> str:
    return options.get("path") or f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"


_FAILURES = (RedisConnectionError, RedisTimeoutError)


class _Guarded:
    """Reports what the server did to its pool's breaker. Mixed into redis-py's
    connection class (plain, TLS or Unix socket: whichever the URL chose)."""

    breaker: Breaker

    def connect(self, *args, **kwargs):
        try:
            return super().connect(*args, **kwargs)
        except _FAILURES as exc:
            self.breaker.failed(exc)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except _FAILURES as exc:
            self.breaker.failed(exc)
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except _FAILURES as exc:
            self.breaker.failed(exc)
            raise
        self.breaker.succeeded()
        return response


@cache
def _guarded(connection_class: type) -> type:
    return type(f"Guarded{connection_class.__name__}", (_Guarded, connection_class), {})


class ConnectionPool(redis.ConnectionPool):
    """redis-py's pool, whose connections report to the breaker and which
    hands out none while the breaker is open."""

    def __init__(self, connection_class=redis.Connection, **kwargs):
        super().__init__(connection_class=_guarded(connection_class), **kwargs)
        self.breaker = breaker_for(_address(self.connection_kwargs))

    def get_connection(self, *args, **kwargs):
        if not self.breaker.allows():
            raise RedisUnavailable(f"Redis at {self.breaker.address} is in its cool-down")
        return super().get_connection(*args, **kwargs)

    def make_connection(self):
        connection = super().make_connection()
        connection.breaker = self.breaker
        return connection
