"""Redis locks in front of the database (docs/design.md, Locks).

The database is the safety net: row locks and constraints alone keep every
invariant. These locks only serialize work before it reaches the database, so
contending requests wait in Redis rather than on row locks, a customer's
double click is handled once, and overlapping sweeps do not both run.

    with acquire(customer_key(42), wait=2.0):
        ...

Several keys are taken in sorted order (two callers never wait on each
other crosswise), each with an owner token (redis-py `Lock`) and a timeout
after which Redis frees it even if this process died. A lock that cannot be
had within `wait` seconds raises `LockTimeout`. Every lock taken is released on
the way out; one found expired by then is logged and counted, since the work
it guarded may have overlapped another's (the database kept it right).

When Redis cannot be reached, `acquire` does not fail the caller: it yields a
`Locks` whose `degraded` is true and the work goes on under the database's
locks alone. See README, "When Redis is down".
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import LockNotOwnedError, RedisError
from redis.lock import Lock

from config.exceptions import ServiceUnavailable
from locking import metrics

logger = logging.getLogger(__name__)

KEY_PREFIX = "lock:"


class LockTimeout(ServiceUnavailable):
    """The lock was busy for longer than the caller was willing to wait."""

    default_detail = "The resource is busy; try again shortly."
    retry_after = 1

    def __init__(self, key: str):
        super().__init__()
        self.key = key


@dataclass
class Locks:
    """What `acquire` took. `degraded` means Redis was unreachable and nothing
    was locked in Redis."""

    held: list[Lock] = field(default_factory=list)
    degraded: bool = False

    def refresh(self) -> None:
        """Reset every lock's timeout, for long work done in steps."""
        for lock in self.held:
            try:
                lock.reacquire()
            except RedisError as exc:
                logger.warning("could not refresh lock %s: %r", lock.name, exc)

    def still_owned(self) -> bool:
        """True while every lock is still ours (none expired mid-section)."""
        try:
            return all(lock.owned() for lock in self.held)
        except RedisError:
            return False


def customer_key(customer_id: int) -> str:
    return f"customer:{customer_id}"


def cabin_key(flight_id: int, cabin_class: str) -> str:
    return f"cabin:{flight_id}:{cabin_class}"


def room_type_key(room_type_id: int) -> str:
    return f"room-type:{room_type_id}"


def singleton_key(name: str) -> str:
    return f"singleton:{name}"


@contextmanager
def acquire(
    *keys: str,
    timeout: float | None = None,
    wait: float | None = None,
) -> Iterator[Locks]:
    """Take every lock in `keys` (sorted, duplicates once), run the block,
    release them. `timeout`: seconds after which Redis frees a lock by itself;
    `wait`: seconds to wait for all of them together (0: do not wait)."""
    timeout = settings.LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    wait = settings.LOCK_WAIT_SECONDS if wait is None else wait
    locks = Locks()
    try:
        _take(locks, sorted(set(keys)), timeout=timeout, wait=wait)
    except RedisError as exc:
        _release(locks)
        metrics.redis_unavailable.inc()
        logger.warning("Redis unreachable, going on under database locks alone: %r", exc)
        locks = Locks(degraded=True)
    except BaseException:
        _release(locks)
        raise
    try:
        yield locks
    finally:
        _release(locks)


def _take(locks: Locks, keys: list[str], *, timeout: float, wait: float) -> None:
    connection = get_redis_connection("default")
    deadline = time.monotonic() + wait
    for key in keys:
        lock = connection.lock(KEY_PREFIX + key, timeout=timeout, thread_local=False)
        started = time.monotonic()
        remaining = max(0.0, deadline - started)
        if not lock.acquire(blocking=remaining > 0, blocking_timeout=remaining or None):
            if wait > 0:  # a caller that would not wait (wait=0) only tried: no timeout
                metrics.count_lock_timeout(_kind(key))
            raise LockTimeout(key)
        metrics.lock_wait_seconds.labels(kind=_kind(key)).observe(time.monotonic() - started)
        metrics.lock_acquisitions.labels(kind=_kind(key)).inc()
        locks.held.append(lock)


def _release(locks: Locks) -> None:
    for lock in reversed(locks.held):
        try:
            lock.release()
        except LockNotOwnedError:
            metrics.locks_lost.labels(kind=_kind(lock.name.removeprefix(KEY_PREFIX))).inc()
            logger.warning("lock %s expired before it was released", lock.name)
        except RedisError as exc:
            logger.warning("could not release lock %s: %r", lock.name, exc)
    locks.held.clear()


def _kind(key: str) -> str:
    return key.split(":", 1)[0]
