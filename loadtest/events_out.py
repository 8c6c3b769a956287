"""Events out under load (README, Performance: "Events out"): a webhook
endpoint subscribed to every event type, a real local receiver, and the
Procfile's two Celery workers on a bench stack.

- `EventsOut(stack)`: the receiver (`loadtest/receiver.py`, 204 to every
  POST), the endpoint, and the workers (`worker`: the relay on `celery`;
  `webhooks`: deliveries and emails, 2 processes), stopped with the block.
  The side-by-side's `events` variant runs the project's hold+cancel with it,
  and reads `event_to_delivered` after each run.
- `make bench WORKLOAD=outbox` (`main`): the outbox catch-up. N pending
  events (default 100,000) bulk-inserted while the workers idle, then one
  relay task: the time until every event is relayed, and until every
  delivery reached the receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from datetime import UTC, datetime

from loadtest.machine import cpu_probe_ms, load_average
from tests.faults.checks import count, row
from tests.faults.stack import PYTHON, ROOT, VENV_BIN, Stack, free_ports, terminate_all, wait_until

# A loopback receiver over plain HTTP; no mail server in the bench.
STACK_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    "WEBHOOK_REQUIRE_HTTPS": "false",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
}
# The Procfile's workers, by name: their queues and processes.
WORKERS = {"worker": ("celery", 1), "webhooks": ("webhooks,emails", 2)}
DEFAULT_EVENTS = 100_000
TARGET_SECONDS = 120

# Event to delivered, over the events created in a window: the delivery's
# delivered_at (recorded once the receiver answered 2xx) minus the event's
# created_at (when the transition wrote it, before its commit).
LATENCY = """
SELECT count(*), count(seconds),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds),
       max(seconds)
FROM events_event e
LEFT JOIN events_webhookdelivery d ON d.event_id = e.id,
LATERAL (SELECT extract(epoch FROM d.delivered_at - e.created_at)::float AS seconds) AS s
WHERE e.created_at >= %s AND e.created_at < %s
"""


class EventsOut:
    def __init__(self, stack: Stack, *, workers: bool = True):
        self.stack = stack
        self.with_workers = workers
        self.port = free_ports(1)[0]
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/"

    def __enter__(self) -> EventsOut:
        try:
            self.processes.append(
                self._spawn([str(PYTHON), "-m", "loadtest.receiver", str(self.port)], "receiver")
            )
            wait_until(lambda: self.received() is not None, timeout=30, what="the receiver")
            self.stack.seed("webhook_endpoint", url=self.url)
            if self.with_workers:
                self.start_workers()
        except BaseException:
            terminate_all(self.processes)
            raise
        return self

    def __exit__(self, *exc) -> None:
        terminate_all(self.processes)

    def start_workers(self) -> None:
        for name, (queues, concurrency) in WORKERS.items():
            command = [str(VENV_BIN / "celery"), "--app", "config", "worker", "--queues", queues]
            command += ["--concurrency", str(concurrency), "--hostname", f"bench-{name}@%h"]
            self.processes.append(self._spawn(command + ["--loglevel", "INFO"], name))
        for name in WORKERS:
            wait_until(
                lambda name=name: " ready." in self.stack.log(f"{name}.log").read_text(),
                timeout=60,
                what=f"the Celery {name} worker",
            )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the receiver, each worker (its pool
        included) and PostgreSQL: what a delivery costs, however busy the
        machine is."""
        from loadtest.bench import _children_of, tree_cpu_seconds

        tree = _children_of()
        names = ["receiver", *WORKERS][: len(self.processes)]
        used = {
            name: tree_cpu_seconds(p.pid, tree)
            for name, p in zip(names, self.processes, strict=False)
        }
        used["postgresql"] = tree_cpu_seconds(self.stack.postgres_pid(), tree)
        return used

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen:
        with open(self.stack.log(f"{name}.log"), "ab") as log:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.stack.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def received(self) -> int | None:
        """How many POSTs the receiver answered (None while it does not listen)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as answer:
                return int(answer.read())
        except OSError:
            return None

    def backlog(self) -> int:
        """Events not relayed yet, and deliveries not delivered yet."""
        url = self.stack.database_url
        return count(url, "SELECT count(*) FROM events_event WHERE relayed_at IS NULL") + count(
            url, "SELECT count(*) FROM events_webhookdelivery WHERE status = 'pending'"
        )

    def drain(self, timeout: float = 120.0) -> bool:
        """Wait until every event is relayed and delivered; False if it was not by then."""
        deadline = time.monotonic() + timeout
        while self.backlog():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def latency(self, start: datetime, end: datetime) -> dict:
        """Event to delivered over the events created in [start, end), in ms."""
        events, delivered, p50, p95, worst = row(self.stack.database_url, LATENCY, start, end)

        def ms(seconds):
            return None if seconds is None else round(seconds * 1000, 1)

        return {
            "events": events,
            "delivered": delivered,
            "p50_ms": ms(p50),
            "p95_ms": ms(p95),
            "max_ms": ms(worst),
        }


def now() -> datetime:
    return datetime.now(UTC)


# --- the outbox catch-up (make bench WORKLOAD=outbox) ------------------------------------


def catch_up(stack: Stack, events: int, timeout: float) -> dict:
    """The backlog inserted while the workers idle, then one relay task, as
    beat's catch-up would send it; the clock runs from that task."""
    url = stack.database_url
    with EventsOut(stack) as out:
        mark = time.monotonic()
        stack.seed("pending_events", count=events, timeout=600)
        seeded = time.monotonic() - mark
        print(f"    {events} pending events inserted in {seeded:.1f}s; relaying ...", flush=True)
        cpu_before = out.cpu_seconds()
        started = time.monotonic()
        stack.send_task("events.tasks.relay_events")
        relayed_s = delivered_s = None
        while time.monotonic() - started < timeout:
            elapsed = time.monotonic() - started
            if relayed_s is None and not count(
                url, "SELECT count(*) FROM events_event WHERE relayed_at IS NULL"
            ):
                relayed_s = round(elapsed, 1)
                print(f"    all relayed after {relayed_s}s", flush=True)
            if relayed_s is not None and not count(
                url, "SELECT count(*) FROM events_webhookdelivery WHERE status <> 'delivered'"
            ):
                delivered_s = round(elapsed, 1)
                break
            time.sleep(0.5)
        deliveries = count(url, "SELECT count(*) FROM events_webhookdelivery")
        delivered = count(
            url, "SELECT count(*) FROM events_webhookdelivery WHERE status = 'delivered'"
        )
        received = out.received()
        cpu = {part: round(used - cpu_before[part], 1) for part, used in out.cpu_seconds().items()}
    return {
        "events": events,
        "seed_seconds": round(seeded, 1),
        "relayed_s": relayed_s,
        "delivered_s": delivered_s,
        "deliveries": deliveries,
        "delivered": delivered,
        "received": received,
        "relayed_per_s": round(events / relayed_s, 1) if relayed_s else None,
        "delivered_per_s": round(delivered / delivered_s, 1) if delivered_s else None,
        "cpu_seconds": cpu,
        "cpu_ms_per_event": {
            part: round(seconds * 1000 / max(events, 1), 2) for part, seconds in cpu.items()
        },
    }


def main(options, workdir) -> int:
    events = options.events or DEFAULT_EVENTS
    load_before, probe = load_average(), cpu_probe_ms()
    print(f"=== outbox: load average {load_before}, CPU probe {probe} ms", flush=True)
    with Stack(
        name="bench-outbox",
        web_workers=1,
        settings={"LOG_LEVEL": "WARNING", **STACK_SETTINGS, **dict(options.settings)},
    ) as stack:
        result = catch_up(stack, events, timeout=options.timeout)
    report = {
        "workload": "outbox",
        "at": now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_average(),
            "cpu_probe_ms": probe,
        },
        **result,
        "targets": {
            f"relayed_under_{TARGET_SECONDS}s": (result["relayed_s"] or 1e9) < TARGET_SECONDS,
            f"delivered_under_{TARGET_SECONDS}s": (result["delivered_s"] or 1e9) < TARGET_SECONDS,
        },
        "checks": {"every_event_delivered": result["delivered"] == events},
    }
    path = options.output / f"outbox{options.tag}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"outbox catch-up of {events} events: relayed in {result['relayed_s']}s "
        f"({result['relayed_per_s']}/s), delivered in {result['delivered_s']}s "
        f"({result['delivered_per_s']}/s; {result['delivered']} of {result['deliveries']} "
        f"deliveries, {result['received']} POSTs received); target < {TARGET_SECONDS}s; "
        f"CPU ms per event {result['cpu_ms_per_event']}; "
        f"written to {path}"
    )
    if not all(report["checks"].values()):
        print(f"FAILED: {report['checks']} (timeout {options.timeout:.0f}s)")
        return 1
    return 0
