"""What a webhook delivery costs the worker: process CPU and SQL queries per
delivery, over N deliveries to a real local receiver (`loadtest/receiver.py`),
in this one process, so two trees compare without the machine's noise:

    .venv/bin/python -m loadtest.delivery_cost [N] [--trickle K] [--profile]

N/2 bookings with two events each (held, then released: the second waits for
the first, as a hold+cancel's do). The delivery tasks run in this process
from an in-memory queue (what the relay and the deliveries enqueue goes
there instead of to the broker), so the figure is the tasks' own work: the
worker's message handling comes on top of it. `--profile` prints cProfile's
top functions by cumulative CPU time, and the count of Python calls (a figure
the machine's load does not move). `--trickle K` relays and delivers K events
at a time, as a steady load does (a relay run finds a few new events), where
the default relays all N first, as the catch-up of a backlog does."""

import cProfile
import os
import pstats
import subprocess
import sys
import time
from collections import deque


def main(argv: list[str]) -> None:
    trickle = int(argv[argv.index("--trickle") + 1]) if "--trickle" in argv else 0
    count = int(next((a for a in argv if a.isdigit() and a != str(trickle)), 400))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"
    import django

    django.setup()
    from celery.app.task import Task
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import config.celery_app  # noqa: F401 (the app the tasks register with)
    import events.tasks  # noqa: F401
    from events.models import Event, WebhookDelivery, WebhookEndpoint
    from events.services import relay_pending
    from tests.faults.stack import free_ports, wait_until

    call_command("migrate", verbosity=0)
    queue: deque = deque()
    Task.apply_async = lambda task, args=(), kwargs=None, **options: queue.append(
        (task, args or (), kwargs or {})
    )
    port = free_ports(1)[0]
    receiver = subprocess.Popen([sys.executable, "-m", "loadtest.receiver", str(port)])
    try:
        wait_until(lambda: _listening(port), timeout=30, what="the receiver")
        WebhookEndpoint.objects.update(is_active=False)
        endpoint = WebhookEndpoint.objects.create(
            url=f"http://127.0.0.1:{port}/hooks/", event_types=["booking.held", "booking.released"]
        )

        def make(n: int) -> None:
            stamp = time.monotonic_ns()
            Event.objects.bulk_create(
                Event(type=kind, data={"booking": {"reference": f"C{stamp}-{i}"}})
                for i in range(n // 2)
                for kind in ("booking.held", "booking.released")
            )
            relay_pending(limit=n)
            for _ in range(len(queue)):  # a relay's `dispatch` is the relay's cost, not theirs
                task, args, kwargs = queue.popleft()
                if task.name == "events.tasks.dispatch":
                    task.run(*args, **kwargs)
                else:
                    queue.append((task, args, kwargs))

        def run() -> None:
            while queue:
                task, args, kwargs = queue.popleft()
                task.run(*args, **kwargs)

        make(20)
        run()  # warm: imports, connections, caches
        profile = cProfile.Profile(time.process_time) if "--profile" in argv else None
        cpu, queries = 0.0, 0
        for size in [trickle] * (count // trickle) if trickle else [count]:
            make(size)
            started = time.process_time()
            with CaptureQueriesContext(connection) as captured:
                if profile:
                    profile.enable()
                run()
                if profile:
                    profile.disable()
            cpu += time.process_time() - started
            queries += len(captured)
        delivered = WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered").count()
        print(
            f"{delivered} delivered of {count + 20}: {cpu * 1000 / count:.2f} ms CPU and "
            f"{queries / count:.2f} queries per delivery ({cpu:.2f} s, {queries} queries)"
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        endpoint.delete()
    finally:
        receiver.terminate()
        receiver.wait()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    main(sys.argv[1:])
