"""Shared pieces of the fault tests: each test starts its own private stack
(tests/faults/stack.py), runs the load driver while it injects one fault, then checks
the database and the answers. Figures go to artifacts/faults.json."""

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from loadtest.seed import Inventory
from tests.faults import checks
from tests.faults.stack import ROOT, Stack, wait_until
from tests.faults.traffic import Traffic

ARTIFACTS = ROOT / "artifacts"
REPORT = ARTIFACTS / "faults.json"
LOGS = ARTIFACTS / "fault-logs"

HELD_OVERDUE = "SELECT COUNT(*) FROM bookings_booking WHERE status = 'held' AND expires_at <= now()"

# Production settings, with rates high enough that the load is not throttled
# away (throttling stays on: its counters live in Redis, part of the fault).
STACK_SETTINGS = {
    "THROTTLE_RATE_USER": "100000/min",
    "THROTTLE_RATE_BOOKING_CREATE": "100000/min",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """One migrated PostgreSQL data dir for the session: each test's stack
    copies it (its own server, its own data) instead of initdb + migrate."""
    directory = Path(tempfile.mkdtemp(prefix="travel-template-", dir="/tmp"))
    directory.chmod(0o755)
    try:
        yield Stack.make_template(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_stack(pg_template):
    """`make_stack(name, **Stack options)`: a private stack with production
    settings, its logs kept in artifacts/fault-logs/ if the test fails."""

    def make(name: str, **options) -> Stack:
        settings = {**STACK_SETTINGS, **options.pop("settings", {})}
        return Stack(
            name=name, settings=settings, keep_logs_in=LOGS, template=pg_template, **options
        )

    return make


def traffic_for(stack: Stack, *, threads: int = 6, customers: int = 12, **options) -> Traffic:
    """A load over fresh inventory: a large cabin, a small contended one and
    a hotel room type, so holds mostly succeed and some run out."""
    inventory, people = stack.seed_batch(
        [
            ("inventory", {"cabins": [20_000, 30], "room_types": [500], "nights": 7}),
            ("customers", {"count": customers}),
        ]
    )
    options.setdefault("duration", 90.0)  # a cap: the tests stop it themselves
    options.setdefault("max_requests", 20_000)
    return Traffic(
        stack.base_url,
        people,
        Inventory.from_json(inventory).items(),
        threads=threads,
        seed=7,
        **options,
    )


def warm_up(traffic: Traffic, successes: int = 20, timeout: float = 30.0) -> float:
    """Wait until the load is flowing; returns the time on the traffic's clock."""
    traffic.wait_for(
        lambda: traffic.count(ok=True) >= successes,
        timeout=timeout,
        what=f"{successes} successful requests before the fault",
    )
    return traffic.now()


def wait_for_recovery(traffic: Traffic, restored: float, *, bound: float) -> float:
    """Seconds from `restored` until a hold sent after it succeeded; fails
    the test if none did within `bound` seconds."""
    traffic.wait_for(
        lambda: traffic.first_success_after(restored) is not None,
        timeout=bound,
        what=f"a successful hold within {bound}s of the dependency's return",
    )
    return round(traffic.first_success_after(restored), 3)


SWEEP_TASK = "bookings.tasks.expire_holds"


def with_background(options: dict) -> dict:
    """Stack options for a Celery worker and beat that sweep every 2 seconds
    (production: every minute). The periodic task is made before beat starts,
    as the data migration does in production: django-celery-beat misses a
    task created between its first read and its first change check."""
    return {
        **options,
        "celery_worker": True,
        "celery_beat": True,
        "setup": lambda stack: stack.seed("periodic_task", task=SWEEP_TASK, every=2),
    }


def background_resumes(stack: Stack, *, count: int = 50, bound: float = 30.0) -> float:
    """Make `count` overdue holds and wait, without any help, until beat and
    the worker have expired them all: the seconds from their commit to the
    last one's expiry."""
    made = stack.seed("overdue_holds", count=count)
    first, last = made["ids"]
    left = (
        "SELECT COUNT(*) FROM bookings_booking WHERE id BETWEEN %s AND %s AND status <> 'expired'"
    )
    try:
        wait_until(
            lambda: checks.count(stack.database_url, left, first, last) == 0,
            timeout=bound,
            interval=0.2,
            what="beat and the worker sweeping overdue holds",
        )
    except TimeoutError:
        raise AssertionError(
            f"background work did not resume within {bound}s; running: {stack.alive()}"
        ) from None
    took = checks.count(
        stack.database_url,
        "SELECT EXTRACT(EPOCH FROM MAX(expired_at) - %s::timestamptz) FROM bookings_booking"
        " WHERE id BETWEEN %s AND %s",
        made["committed_at"],
        first,
        last,
    )
    return round(float(took), 3)


def assert_consistent(stack: Stack) -> dict:
    """Every invariant holds on the stack's database; returns figures."""
    problems = checks.check_stack(stack)
    assert problems == [], "\n".join(problems)
    return {"bookings": checks.booking_counts(stack.database_url)}


def assert_contract(traffic: Traffic, *, client_errors_allowed: int = 0) -> None:
    problems = traffic.problems()
    assert not problems, f"{len(problems)} answers broke the contract, e.g. " + "; ".join(
        sorted({a.problem for a in problems})[:5]
    )
    lost = traffic.client_errors()
    assert len(lost) <= client_errors_allowed, (
        f"{len(lost)} requests got no HTTP answer (allowed {client_errors_allowed}): "
        f"{sorted({a.client_error for a in lost})}"
    )


@pytest.fixture
def fault_report(request):
    """A dict the test fills; written to artifacts/faults.json under the
    test's name and printed as a summary, even when the test fails."""
    figures: dict = {}
    started = time.monotonic()
    yield figures
    figures["test_seconds"] = round(time.monotonic() - started, 1)
    figures["outcome"] = "failed" if getattr(request.node, "rep_call_failed", False) else "passed"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        everything = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        everything = {}
    everything[request.node.name] = figures
    REPORT.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
    _print_summary(request.node.name, figures)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.rep_call_failed = True


def _print_summary(name: str, figures: dict) -> None:
    load = figures.get("traffic", {})
    lines = [f"\n== {name} ({figures.get('outcome')}, {figures.get('test_seconds')}s)"]
    if load:
        lines.append(
            f"   requests {load['requests']}, client-side errors {load['client_errors']}, "
            f"contract problems {load['problems']}"
        )
        lines.append(f"   answers {load['answers']}")
        for phase, data in load.get("phases", {}).items():
            lines.append(f"   {phase:>7}: {data['requests']} requests {data['answers']}")
    for key in ("time_to_recover_s", "background_resumed_s", "sweep", "readyz_during_fault"):
        if key in figures:
            lines.append(f"   {key}: {figures[key]}")
    print("\n".join(lines))
