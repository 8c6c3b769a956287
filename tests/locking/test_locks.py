"""locking.locks against the real Redis of the test run (no fakes): what is
taken, in which order, what happens when a lock is busy, lost or unreachable."""

import time

import pytest
from django_redis import get_redis_connection
from prometheus_client import REGISTRY

from config.exceptions import ServiceUnavailable
from locking import locks


def metric(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def redis():
    return get_redis_connection("default")


def other_client_lock(redis, key, timeout=30):
    """The same lock as another process would take it, with its own token."""
    return redis.lock(locks.KEY_PREFIX + key, timeout=timeout, thread_local=False)


def test_acquire_takes_the_lock_with_a_timeout_and_release_frees_it(redis):
    with locks.acquire(locks.customer_key(7), timeout=30) as taken:
        assert not taken.degraded
        assert redis.exists("lock:customer:7")
        assert 0 < redis.pttl("lock:customer:7") <= 30_000
        assert taken.still_owned()
        # Another owner cannot have it meanwhile.
        assert not other_client_lock(redis, "customer:7").acquire(blocking=False)
    assert not redis.exists("lock:customer:7")
    assert taken.held == []


def test_acquire_counts_what_it_took():
    before = metric("travel_lock_acquisitions_total", kind="cabin")
    with locks.acquire(locks.cabin_key(1, "economy"), locks.cabin_key(2, "economy")):
        pass
    assert metric("travel_lock_acquisitions_total", kind="cabin") == before + 2


def test_several_keys_are_taken_once_each_in_sorted_order(redis):
    keys = ["room-type:9", "cabin:3:economy", "customer:5", "cabin:3:economy"]
    with locks.acquire(*keys) as taken:
        names = [lock.name for lock in taken.held]
        assert names == ["lock:cabin:3:economy", "lock:customer:5", "lock:room-type:9"]
        assert all(redis.exists(name) for name in names)
    assert not any(redis.exists(name) for name in names)


def test_key_names():
    assert locks.customer_key(42) == "customer:42"
    assert locks.cabin_key(7, "business") == "cabin:7:business"
    assert locks.room_type_key(3) == "room-type:3"
    assert locks.singleton_key("expiry-sweep") == "singleton:expiry-sweep"


def test_a_busy_lock_raises_lock_timeout_within_the_wait(redis):
    busy = other_client_lock(redis, "customer:1")
    assert busy.acquire(blocking=False)
    before = metric("travel_lock_timeouts_total", kind="customer")
    started = time.monotonic()
    with pytest.raises(locks.LockTimeout) as raised, locks.acquire("customer:1", wait=0.3):
        pytest.fail("the block must not run without its lock")
    waited = time.monotonic() - started
    # It kept trying for a while (redis-py stops one retry interval, 0.1 s,
    # before the deadline rather than overshoot it) and it did not hang.
    assert 0.15 <= waited < 1.0, waited
    assert raised.value.key == "customer:1"
    # A clear domain error the API renders as 503 with Retry-After.
    assert isinstance(raised.value, ServiceUnavailable)
    assert raised.value.status_code == 503
    assert raised.value.retry_after
    assert metric("travel_lock_timeouts_total", kind="customer") == before + 1
    assert busy.owned()


def test_wait_zero_gives_up_at_once(redis):
    assert other_client_lock(redis, "singleton:sweep").acquire(blocking=False)
    started = time.monotonic()
    with pytest.raises(locks.LockTimeout), locks.acquire("singleton:sweep", wait=0):
        pass
    assert time.monotonic() - started < 0.5


def test_when_one_key_is_busy_only_what_was_taken_is_released(redis):
    busy = other_client_lock(redis, "b")
    assert busy.acquire(blocking=False)
    with pytest.raises(locks.LockTimeout), locks.acquire("a", "b", "c", wait=0):
        pass
    assert not redis.exists("lock:a")  # taken, then released on the way out
    assert busy.owned()  # someone else's: left alone
    assert not redis.exists("lock:c")  # never taken


def test_the_lock_is_released_when_the_block_raises(redis):
    with pytest.raises(ZeroDivisionError), locks.acquire("customer:3"):
        1 / 0  # noqa: B018
    assert not redis.exists("lock:customer:3")


def test_a_lock_that_expires_mid_section_is_noticed_not_raised(redis):
    before = metric("travel_locks_lost_total", kind="customer")
    with locks.acquire("customer:9", timeout=0.2) as taken:
        # Another client takes the lock as soon as Redis lets ours expire
        # (a blocking acquire waits for exactly that; no sleep).
        thief = other_client_lock(redis, "customer:9")
        assert thief.acquire(blocking=True, blocking_timeout=5)
        assert not taken.still_owned()
    assert metric("travel_locks_lost_total", kind="customer") == before + 1
    # Our release did not free the new owner's lock.
    assert thief.owned()
    assert redis.exists("lock:customer:9")


def test_refresh_extends_the_locks_timeout(redis):
    with locks.acquire("singleton:expiry-sweep", timeout=30) as taken:
        redis.pexpire("lock:singleton:expiry-sweep", 100)
        assert redis.pttl("lock:singleton:expiry-sweep") <= 100
        taken.refresh()
        assert redis.pttl("lock:singleton:expiry-sweep") > 10_000
        assert taken.still_owned()


def test_refresh_of_a_lost_lock_does_not_raise(redis):
    with locks.acquire("customer:4", timeout=30) as taken:
        redis.delete("lock:customer:4")
        assert other_client_lock(redis, "customer:4").acquire(blocking=False)
        taken.refresh()
        assert not taken.still_owned()


def test_unreachable_redis_degrades_instead_of_failing(redis_down):
    before = metric("travel_lock_redis_unavailable_total")
    ran = False
    with locks.acquire("customer:1", "cabin:2:economy") as taken:
        ran = True
        assert taken.degraded
        assert taken.held == []
        assert taken.still_owned()  # nothing held, nothing lost
        taken.refresh()  # a no-op, not an error
    assert ran
    assert metric("travel_lock_redis_unavailable_total") == before + 1


def test_redis_down_fixture_really_refuses_connections(redis_down):
    from redis.exceptions import ConnectionError

    with pytest.raises(ConnectionError):
        get_redis_connection("default").ping()
