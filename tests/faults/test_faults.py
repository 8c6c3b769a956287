"""Faults under load. Each test starts its own private stack
(PostgreSQL, Redis, gunicorn, Celery on their own ports), runs holds, confirms
and cancels through the API, breaks one part, brings it back, and checks:

- every answer was a success or a contract error (JSON body with a `code`;
  503 service_unavailable with Retry-After while a dependency is down); an
  answer lost with a killed worker is a client-side error, counted apart;
- service resumed by itself: a hold succeeded within a bound after the
  dependency came back (the time is measured and reported), and a few
  seconds later nothing failed any more;
- every invariant holds, reconcile finds no drift, no booking half-changed.

Figures go to artifacts/faults.json and are printed (`pytest -s`).
"""

import contextlib
import time

import pytest

from tests.faults import checks
from tests.faults.conftest import (
    HELD_OVERDUE,
    SWEEP_TASK,
    assert_consistent,
    assert_contract,
    background_resumes,
    traffic_for,
    wait_for_recovery,
    warm_up,
    with_background,
)
from tests.faults.stack import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

RECOVERY_BOUND = 15.0  # seconds the service may take to serve again
SETTLE = 3.0  # seconds of load after recovery in which nothing may fail

EXPIRED = "SELECT COUNT(*) FROM bookings_booking WHERE status = 'expired'"


def _phases(fault_at: float, restored: float) -> dict:
    return {
        "before": (0, fault_at),
        "during": (fault_at, restored),
        "after": (restored, float("inf")),
    }


def _settle_and_check(traffic, recovered_at: float) -> dict:
    """Keep the load on for SETTLE seconds after recovery (plus a second of
    grace for requests already queued); by then nothing may fail."""
    since = recovered_at + 1.0
    traffic.wait_for(
        lambda: traffic.now() >= since + SETTLE, timeout=SETTLE + 10, what="load after recovery"
    )
    tail = traffic.select(since=since)
    failing = [a.label for a in tail if a.status is None or a.status >= 500]
    assert not failing, f"still failing {SETTLE}s after recovery: {failing[:10]}"
    assert any(a.ok for a in tail), "no success after recovery"
    return {"requests": len(tail), "failures": 0}


def _outage_under_load(stack, traffic, fault_report, *, stop, start, down_for: float):
    """Warm up, `stop()` a dependency, ask /readyz, wait `down_for` seconds,
    `start()` it again, wait for recovery and for the load to settle.
    Returns (down_at, restored) in the traffic's clock."""
    fault_at = warm_up(traffic)
    stop()
    down_at = traffic.now()
    fault_report["readyz_during_fault"] = stack.get("/readyz")
    time.sleep(down_for)  # the outage itself
    start()
    restored = traffic.now()
    recovered = wait_for_recovery(traffic, restored, bound=RECOVERY_BOUND)
    fault_report["time_to_recover_s"] = recovered
    try:
        fault_report["steady_after"] = _settle_and_check(traffic, restored + recovered)
    finally:
        traffic.stop()
        fault_report["traffic"] = traffic.summary(phases=_phases(fault_at, restored))
    return down_at, restored


@pytest.mark.parametrize("throttling", ["on", "off"])
def test_redis_stopped_and_started_again(make_stack, fault_report, throttling):
    """With throttling on (production), every request touches Redis and the
    API answers 503 while it is down; with it off, holds go on under the
    database's locks alone (locking.locks degrades) and must still be exact."""
    outage = 5.0
    # Production (throttling on) also runs Celery: it must reconnect by itself.
    background = throttling == "on"
    options = {"settings": {"THROTTLING": throttling}}
    with make_stack(
        f"redis-outage-throttling-{throttling}",
        **(with_background(options) if background else options),
    ) as stack:
        fault_report["stack_start_s"] = stack.timings
        fault_report["fault"] = f"Redis shut down for {outage}s under load, then started"
        with traffic_for(stack) as traffic:
            down_at, restored = _outage_under_load(
                stack,
                traffic,
                fault_report,
                stop=stack.stop_redis,
                start=stack.start_redis,
                down_for=outage,
            )

        status, body = fault_report["readyz_during_fault"]
        assert status == 503 and body["checks"]["redis"] != "ok", body
        assert_contract(traffic)
        during = traffic.select(since=down_at, until=restored)
        assert len(during) >= 10, "too few requests while Redis was down"
        if throttling == "off":
            held = traffic.select(op="hold", ok=True, since=down_at, until=restored)
            assert held, "no hold succeeded under database locks alone"
            fault_report["holds_made_without_redis"] = len(held)
        stack.wait_ready(timeout=10)
        if background:
            fault_report["background_resumed_s"] = background_resumes(stack)
        fault_report.update(assert_consistent(stack))


def test_gunicorn_worker_killed_mid_request(make_stack, fault_report):
    kills = 5
    with make_stack("worker-kill", web_workers=3) as stack:
        fault_report["stack_start_s"] = stack.timings
        fault_report["fault"] = f"{kills} gunicorn workers SIGKILLed, one a second, under load"
        # More clients than workers: a worker is almost always mid-request.
        # A connection per request, so a request without an answer is one the
        # killed worker was serving (on a kept-alive connection, the next
        # request sent to the dead worker would fail too, and a client or
        # load balancer would send it again).
        with traffic_for(stack, threads=8, customers=16, keep_alive=False) as traffic:
            fault_at = warm_up(traffic)
            killed, killed_at = [], []
            for _ in range(kills):
                killed.append(stack.kill_web_worker(busy=True))
                killed_at.append(traffic.now())
                time.sleep(1.0)  # the fault's rhythm: one kill a second
            last_kill = traffic.now()
            fault_report["killed_pids"] = killed
            stack.wait_web_workers(timeout=30)
            recovered = wait_for_recovery(traffic, last_kill, bound=RECOVERY_BOUND)
            fault_report["time_to_recover_s"] = recovered
            try:
                fault_report["steady_after"] = _settle_and_check(traffic, last_kill + recovered)
            finally:
                traffic.stop()
                fault_report["traffic"] = traffic.summary(phases=_phases(fault_at, last_kill))

        # A kill cuts off the requests the worker had taken (the ones its
        # threads were serving and those queued for them), and only those:
        # every request left without an answer was sent before a kill and
        # failed after it.
        lost = traffic.client_errors()
        assert_contract(traffic, client_errors_allowed=len(lost))
        assert lost, "no kill landed mid-request: the test proved nothing"
        in_flight = [a for a in lost if any(a.sent <= k <= a.done + 0.05 for k in killed_at)]
        assert in_flight == lost, f"lost while no worker was killed: {lost}"
        fault_report.update(assert_consistent(stack))


def test_postgresql_restarted(make_stack, fault_report):
    down_for = 3.0
    with make_stack("postgres-restart", **with_background({})) as stack:
        fault_report["stack_start_s"] = stack.timings
        fault_report["fault"] = f"PostgreSQL fast shutdown, {down_for}s down, started, under load"
        with traffic_for(stack) as traffic:
            down_at, restored = _outage_under_load(
                stack,
                traffic,
                fault_report,
                stop=stack.stop_postgres,
                start=stack.start_postgres,
                down_for=down_for,
            )

        status, body = fault_report["readyz_during_fault"]
        assert status == 503 and body["checks"]["postgresql"] != "ok", body
        assert_contract(traffic)
        assert len(traffic.select(since=down_at, until=restored)) >= 10, (
            "too few requests while PostgreSQL was down"
        )
        fault_report["background_resumed_s"] = background_resumes(stack)
        fault_report.update(assert_consistent(stack))


def test_celery_worker_killed_mid_sweep(make_stack, fault_report):
    overdue = 3000
    # Batches of 100: a sweep of 30 short transactions, so the kill lands
    # between or inside them, never after the whole sweep.
    settings = {"EXPIRY_BATCH_SIZE": "100"}
    with make_stack("sweep-kill", celery_worker=True, settings=settings) as stack:
        fault_report["stack_start_s"] = stack.timings
        fault_report["fault"] = (
            f"Celery worker SIGKILLed mid-sweep of {overdue} overdue holds, started again"
        )
        sweep = fault_report["sweep"] = {"task": SWEEP_TASK}
        db = stack.database_url
        rows, owners = stack.seed_batch(
            [
                ("inventory", {"cabins": [overdue + 100], "room_types": [overdue], "nights": 3}),
                ("customers", {"count": 20}),
            ]
        )
        stack.seed_overdue_holds(
            count=overdue,
            customers=[c["id"] for c in owners],
            inventory_id=rows["cabins"][0]["inventory_id"],
            room_type_id=rows["room_types"][0]["room_type_id"],
            check_in=rows["room_types"][0]["first_night"],
        )
        assert_consistent(stack)

        with traffic_for(stack) as traffic:
            fault_at = warm_up(traffic)
            stack.send_task(SWEEP_TASK)
            triggered = time.monotonic()
            wait_until(
                lambda: checks.count(db, EXPIRED) > 0,
                timeout=30,
                interval=0.01,
                what="the sweep's first batch",
            )
            stack.kill_celery_worker()
            sweep["killed_after_s"] = round(time.monotonic() - triggered, 3)
            sweep["expired_at_kill"] = checks.count(db, EXPIRED)
            sweep["left_at_kill"] = checks.count(db, HELD_OVERDUE)
            assert sweep["left_at_kill"] > 0, "the kill came after the sweep had finished"
            # The sweep died mid-run: what it did, it did whole.
            assert_consistent(stack)

            restarted = time.monotonic()
            stack.start_celery_worker()
            sweep["worker_back_after_s"] = round(time.monotonic() - restarted, 3)
            # A killed task is not redelivered (it was acknowledged, or the
            # broker waits for its visibility timeout): the next periodic run
            # finishes the job. The test plays beat, every 2s instead of every
            # minute, until every overdue hold is expired.
            runs = 0
            deadline = restarted + 60
            while checks.count(db, HELD_OVERDUE):
                assert time.monotonic() < deadline, (
                    f"overdue holds left 60s after the restart, after {runs} sweeps"
                )
                stack.send_task(SWEEP_TASK)
                runs += 1
                with contextlib.suppress(TimeoutError):
                    wait_until(
                        lambda: checks.count(db, HELD_OVERDUE) == 0, timeout=2.0, interval=0.1
                    )
            sweep["sweeps_sent_after_restart"] = runs
            sweep["finished_after_kill_s"] = round(
                time.monotonic() - triggered - sweep["killed_after_s"], 3
            )
            sweep["finished_after_restart_s"] = round(time.monotonic() - restarted, 3)
            fault_report["time_to_recover_s"] = sweep["finished_after_restart_s"]
            after = traffic.now()
            try:
                fault_report["steady_after"] = _settle_and_check(traffic, after - 1.0)
            finally:
                traffic.stop()
                fault_report["traffic"] = traffic.summary(phases=_phases(fault_at, after))

        assert_contract(traffic)
        assert checks.count(db, EXPIRED) == overdue
        fault_report.update(assert_consistent(stack))
