"""Reads on PostgreSQL streaming replicas (README, "Scaling out").

A replica lags the primary by a little, so which database answers depends on
who asks, not on the model: a hold reads flights too, and must read them where
it writes. Reads go to a replica only inside `use_replica()` — anonymous
search and the staff dashboard enter it — and everything else, every write
and every read inside a transaction, goes to the primary.

A replica that fails (refused, dropped, timed out) costs one request of one
process a retry on the primary; the process then leaves it alone for
`REPLICA_COOL_DOWN_SECONDS`, like `locking.breaker` does for Redis.
"""

import functools
import logging
import random
import time
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections

log = logging.getLogger(__name__)

# The replica this request's reads go to; None: the primary.
_read_alias: ContextVar[str | None] = ContextVar("replica_read_alias", default=None)
# alias -> time.monotonic() until which this process does not try it.
_down_until: dict[str, float] = {}


class ReplicaRouter:
    """Django's database router: reads go where `use_replica()` said, or to the
    primary; writes, relations and migrations belong to the primary."""

    def db_for_read(self, model, **hints):
        alias = _read_alias.get()
        # Inside a transaction, read what that transaction wrote.
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a replica holds the primary's very rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def healthy_replica() -> str | None:
    """A replica this process may read from now, picked at random to spread
    the load; None when there is none (not configured, or all cooling down)."""
    now = time.monotonic()
    up = [alias for alias in settings.READ_REPLICAS if _down_until.get(alias, 0.0) <= now]
    return random.choice(up) if up else None


def mark_down(alias: str) -> None:
    _down_until[alias] = time.monotonic() + settings.REPLICA_COOL_DOWN_SECONDS
    # A broken connection must not be reused once the replica is back.
    with suppress(DatabaseError):
        connections[alias].close()


def mark_all_up() -> None:
    _down_until.clear()


@contextmanager
def reading_from(alias: str | None):
    token = _read_alias.set(alias)
    try:
        yield
    finally:
        _read_alias.reset(token)


def use_replica(func):
    """Runs `func` with its reads on a healthy replica; if the replica fails
    on the way, marks it down and runs `func` again on the primary. So `func`
    must only read: running it twice must be harmless."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        alias = healthy_replica()
        if alias is None:
            return func(*args, **kwargs)
        try:
            with reading_from(alias):
                return func(*args, **kwargs)
        except OperationalError as error:
            log.warning("replica %s failed (%s): reading from the primary", alias, error)
            mark_down(alias)
        return func(*args, **kwargs)

    return wrapper


def anonymous_reads_on_replica(handler):
    """For a view's read-only handler (search): anonymous requests read from a
    replica. Anyone signed in reads the primary, so a customer sees what they
    just held. DRF authenticated the request before the handler, on the
    primary, so a token issued a moment ago is never looked up on a replica."""
    on_replica = use_replica(handler)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        if request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        return on_replica(view, request, *args, **kwargs)

    return wrapper
