"""What the outbox's background work costs under a steady hold+cancel load,
as the side-by-side's `events` variant runs it, but counted per event:

    .venv/bin/python -m loadtest.events_steady [--rate 100] [--seconds 20]
        [--drivers 3] [SETTING=value ...]

A bench stack (tests/faults/stack.py) with `EventsOut`'s receiver, endpoint
(subscribed to every type) and the Procfile's two Celery workers; `--drivers`
processes commit holds and their cancels through the service layer at
`--rate` pairs a second in all for `--seconds`. Once everything is
delivered it prints the workers' process CPU (their pools included) per
event relayed and per delivery, raw and less what the workers spend idle
over as long (measured first), the events per relay run (events sharing a
`relayed_at`), the deliveries per round (deliveries of one endpoint sharing
a `delivered_at`) and event-to-delivered. SETTING=value pairs go to the
stack's settings (e.g. EVENTS_RELAY_BATCH_WAIT_MS=0), so two settings
compare with the same script."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time

from loadtest.events_out import STACK_SETTINGS, EventsOut, now
from tests.faults.checks import row
from tests.faults.stack import Stack

# Seconds of idle workers measured first: what they spend doing nothing is
# taken off the load's figures in `less_idle`.
IDLE_SECONDS = 10

# Events per relay run and deliveries per round, over the events of the window.
BATCHES = """
SELECT count(*), count(DISTINCT e.relayed_at),
       (SELECT count(*) FROM events_webhookdelivery d JOIN events_event e2 ON e2.id = d.event_id
        WHERE e2.created_at >= %s AND e2.created_at < %s),
       (SELECT count(DISTINCT (d.endpoint_id, d.delivered_at)) FROM events_webhookdelivery d
        JOIN events_event e3 ON e3.id = d.event_id
        WHERE e3.created_at >= %s AND e3.created_at < %s)
FROM events_event e WHERE e.created_at >= %s AND e.created_at < %s
"""


def drive(env: dict, customer_id: int, cabin: dict, rate: float, start_at: float, seconds: float):
    """Hold one seat and cancel it, `rate` times a second, until the time is up."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from bookings import services

    customer = get_user_model().objects.get(pk=customer_id)
    request = services.FlightRequest(cabin["flight_id"], cabin["cabin_class"], 1)
    pairs, due = 0, start_at
    while time.time() < start_at + seconds:
        time.sleep(max(0.0, due - time.time()))
        booking = services.hold_booking(customer=customer, items=[request]).booking
        services.cancel_booking(booking=booking, actor=customer)
        pairs += 1
        due += 1 / rate
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drivers", type=int, default=3)
    parser.add_argument("settings", nargs="*", help="SETTING=value for the stack")
    options = parser.parse_args()
    settings = dict(pair.split("=", 1) for pair in options.settings)
    with Stack(
        name="events-steady",
        web_workers=1,
        settings={"LOG_LEVEL": "WARNING", **STACK_SETTINGS, **settings},
    ) as stack:
        customers = stack.seed("customers", count=options.drivers)
        cabin = stack.seed("inventory", cabins=[100_000])["cabins"][0]
        with EventsOut(stack) as out:
            time.sleep(2)  # the workers settle after start-up
            idle_from, idle_start = out.cpu_seconds(), time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle = {
                k: (v - idle_from[k]) / (time.monotonic() - idle_start)
                for k, v in out.cpu_seconds().items()
            }
            cpu_before, measured_from = out.cpu_seconds(), time.monotonic()
            start, start_at = now(), time.time() + 1
            with multiprocessing.get_context("spawn").Pool(options.drivers) as pool:
                pairs = pool.starmap(
                    drive,
                    [
                        (
                            stack.env,
                            c["id"],
                            cabin,
                            options.rate / options.drivers,
                            start_at,
                            options.seconds,
                        )
                        for c in customers
                    ],
                )
            end = now()
            drained = out.drain(timeout=120)
            cpu = {k: round(v - cpu_before[k], 2) for k, v in out.cpu_seconds().items()}
            # What the workers spend idle (heartbeats, polling) over as long.
            busy = {k: round(cpu[k] - idle[k] * (time.monotonic() - measured_from), 2) for k in cpu}
            latency = out.latency(start, end)
            events, relays, deliveries, rounds = row(
                stack.database_url, BATCHES, start, end, start, end, start, end
            )
    report = {
        "settings": settings,
        "pairs_per_s": round(sum(pairs) / options.seconds, 1),
        "drained": drained,
        "events": events,
        "deliveries": deliveries,
        "cpu_seconds": cpu,
        "cpu_seconds_less_idle": busy,
        "relay_worker_ms_per_event": round(cpu["worker"] * 1000 / max(events, 1), 2),
        "webhooks_worker_ms_per_delivery": round(cpu["webhooks"] * 1000 / max(deliveries, 1), 2),
        "less_idle": {
            "relay_worker_ms_per_event": round(busy["worker"] * 1000 / max(events, 1), 2),
            "webhooks_worker_ms_per_delivery": round(
                busy["webhooks"] * 1000 / max(deliveries, 1), 2
            ),
        },
        "events_per_relay_run": round(events / max(relays, 1), 1),
        "deliveries_per_round": round(deliveries / max(rounds, 1), 1),
        "event_to_delivered": latency,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
