"""Benchmark of the expiry sweep (`make bench-expiry`). Not a test: it prints figures.

    DATABASE_URL=postgres://travel@127.0.0.1:55432/travel REDIS_URL=redis://127.0.0.1:56379/0 \\
        .venv/bin/python -m loadtest.expiry_bench [--holds 100000] [--batch-size 1000] [--threads 4]

It bulk-inserts `--holds` overdue holds (counters consistent with them) on a
few cabins and room types, lets `--threads` threads make holds on those same
rows for a few seconds to get a baseline, then runs the sweep (the service
`manage.py expire_holds` and the periodic task call) while the threads go on,
and prints the time to expire them all and the hold latency percentiles
before and during the sweep. It checks the counters afterwards and deletes
everything it created (rows marked by the flight number prefix `ZB` and the
username prefix `bench-expiry-`). Run it against a migrated database of your
own: it writes to it.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings import services  # noqa: E402
from bookings.models import Booking, BookingStatus  # noqa: E402
from bookings.reconciliation import find_drift  # noqa: E402

FLIGHT_PREFIX = "ZB"
USER_PREFIX = "bench-expiry-"
FREE_SEATS = 100_000  # room for the holds the threads make
FREE_ROOMS = 100_000


def cleanup() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_bookings ON COMMIT DROP AS
            SELECT b.id FROM bookings_booking b
            JOIN auth_user u ON u.id = b.customer_id WHERE u.username LIKE %s
            """,
            [USER_PREFIX + "%"],
        )
        for table in ("bookings_bookingstatuschange", "bookings_flightitem", "bookings_hotelitem"):
            cursor.execute(
                f"DELETE FROM {table} WHERE booking_id IN (SELECT id FROM bench_bookings)"
            )
        cursor.execute("DELETE FROM bookings_booking WHERE id IN (SELECT id FROM bench_bookings)")
        cursor.execute(
            "DELETE FROM flights_flightinventory WHERE flight_id IN "
            "(SELECT id FROM flights_flight WHERE flight_number LIKE %s)",
            [FLIGHT_PREFIX + "%"],
        )
        cursor.execute(
            "DELETE FROM flights_flight WHERE flight_number LIKE %s", [FLIGHT_PREFIX + "%"]
        )
        cursor.execute(
            "DELETE FROM hotels_roomnight WHERE room_type_id IN (SELECT rt.id"
            " FROM hotels_roomtype rt JOIN hotels_hotel h ON h.id = rt.hotel_id"
            " WHERE h.name LIKE %s)",
            [USER_PREFIX + "%"],
        )
        cursor.execute(
            "DELETE FROM hotels_roomtype WHERE hotel_id IN "
            "(SELECT id FROM hotels_hotel WHERE name LIKE %s)",
            [USER_PREFIX + "%"],
        )
        cursor.execute("DELETE FROM hotels_hotel WHERE name LIKE %s", [USER_PREFIX + "%"])
        cursor.execute(
            "DELETE FROM knox_authtoken WHERE user_id IN "
            "(SELECT id FROM auth_user WHERE username LIKE %s)",
            [USER_PREFIX + "%"],
        )
        cursor.execute("DELETE FROM auth_user WHERE username LIKE %s", [USER_PREFIX + "%"])


def create_fixture(*, holds: int, cabins: int, room_types: int, threads: int):
    """Flights, room nights and `holds` overdue held bookings, inserted with
    set-based SQL; the counters are then set to exactly what the items hold."""
    from flights.models import Flight, FlightInventory
    from hotels.models import Hotel, RoomNight, RoomType

    user_model = get_user_model()
    owner = user_model.objects.create(username=f"{USER_PREFIX}owner")
    customers = [user_model.objects.create(username=f"{USER_PREFIX}{i}") for i in range(threads)]
    departure = timezone.now() + timedelta(days=30)
    rows = []
    for i in range(cabins):
        flight = Flight.objects.create(
            flight_number=f"{FLIGHT_PREFIX}{i}",
            origin="HAN",
            destination="SGN",
            departure_at=departure,
            arrival_at=departure + timedelta(hours=2),
        )
        rows.append(
            FlightInventory.objects.create(
                flight=flight,
                cabin_class="economy",
                total_seats=FREE_SEATS,
                available_seats=FREE_SEATS,
                price="100.00",
            )
        )
    first_night = date.today() + timedelta(days=30)
    hotel = Hotel.objects.create(name=f"{USER_PREFIX}hotel", city="Hanoi", address="1 Bench St")
    types = [
        RoomType.objects.create(hotel=hotel, code=f"R{i}", name="Double", max_guests=2)
        for i in range(room_types)
    ]
    RoomNight.objects.bulk_create(
        RoomNight(
            room_type=rt,
            date=first_night + timedelta(days=d),
            total_rooms=FREE_ROOMS,
            available_rooms=FREE_ROOMS,
            price="80.00",
        )
        for rt in types
        for d in range(7)
    )
    cabin_ids = [row.pk for row in rows]
    type_ids = [rt.pk for rt in types]
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bookings_booking (reference, customer_id, status, created_at, expires_at,
                total_price, currency, extension_count, request_fingerprint)
            SELECT 'z' || lpad(to_hex(i), 5, '0'), %s, 'held',
                   %s - interval '1 hour' + i * interval '1 microsecond',
                   %s - interval '1 minute' + i * interval '1 microsecond',
                   100.00, 'EUR', 0, ''
            FROM generate_series(1, %s) AS i
            """,
            [owner.pk, now, now, holds],
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_new ON COMMIT DROP AS
            SELECT id, row_number() OVER (ORDER BY id) AS n FROM bookings_booking
            WHERE customer_id = %s
            """,
            [owner.pk],
        )
        cursor.execute("ANALYZE bench_new")
        cursor.execute(
            """
            INSERT INTO bookings_flightitem (booking_id, position, inventory_id, seats,
                unit_price, line_total)
            SELECT id, 0, (%s::bigint[])[1 + n %% %s], 1, 100.00, 100.00 FROM bench_new
            """,
            [cabin_ids, len(cabin_ids)],
        )
        cursor.execute(
            """
            INSERT INTO bookings_hotelitem (booking_id, position, room_type_id, check_in,
                check_out, rooms, unit_price, line_total)
            SELECT id, 1, (%s::bigint[])[1 + n %% %s], %s::date + (n %% 5)::int,
                   %s::date + (n %% 5)::int + 2, 1, 160.00, 160.00
            FROM bench_new WHERE n %% 4 = 0
            """,
            [type_ids, len(type_ids), first_night, first_night],
        )
        cursor.execute(
            """
            INSERT INTO bookings_bookingstatuschange (booking_id, from_status, to_status,
                actor_kind, at, note)
            SELECT id, '', 'held', 'customer', %s - interval '1 hour', '' FROM bench_new
            """,
            [now],
        )
        cursor.execute(
            """
            UPDATE flights_flightinventory f
            SET held_seats = s.n, total_seats = f.total_seats + s.n
            FROM (SELECT inventory_id, SUM(seats) AS n FROM bookings_flightitem
                  JOIN bench_new ON bench_new.id = booking_id GROUP BY inventory_id) s
            WHERE f.id = s.inventory_id
            """
        )
        cursor.execute(
            """
            UPDATE hotels_roomnight rn
            SET held_rooms = s.n, total_rooms = rn.total_rooms + s.n
            FROM (SELECT hi.room_type_id, night::date AS date, SUM(hi.rooms) AS n
                  FROM bookings_hotelitem hi JOIN bench_new ON bench_new.id = hi.booking_id
                  CROSS JOIN LATERAL generate_series(hi.check_in::timestamp,
                      (hi.check_out - 1)::timestamp, interval '1 day') AS night
                  GROUP BY 1, 2) s
            WHERE rn.room_type_id = s.room_type_id AND rn.date = s.date
            """
        )
        cursor.execute("ANALYZE bookings_booking")
        cursor.execute("ANALYZE bookings_flightitem")
        cursor.execute("ANALYZE bookings_hotelitem")
    return customers, rows, types, first_night


class HoldLoad:
    """Threads that keep making small holds on the benchmark's rows and record
    how long each takes, tagged with the phase it started in."""

    def __init__(self, customers, cabins, types, first_night):
        self.customers = customers
        self.cabins = cabins
        self.types = types
        self.first_night = first_night
        self.phase = "baseline"
        self.latencies: dict[str, list[float]] = {"baseline": [], "sweep": [], "after": []}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True)
            for i in range(len(customers))
        ]

    def start(self):
        for thread in self.threads:
            thread.start()

    def join(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _run(self, index: int):
        customer = self.customers[index]
        n = index
        try:
            while not self.stop.is_set():
                n += 1
                cabin = self.cabins[n % len(self.cabins)]
                items = [services.FlightRequest(cabin.flight_id, "economy", 1)]
                if n % 3 == 0:
                    check_in = self.first_night + timedelta(days=n % 5)
                    items.append(
                        services.HotelRequest(
                            self.types[n % len(self.types)].pk,
                            check_in,
                            check_in + timedelta(days=2),
                            1,
                        )
                    )
                phase = self.phase
                started = time.perf_counter()
                try:
                    services.hold_booking(customer=customer, items=items)
                except Exception as exc:  # recorded, the load goes on
                    self.errors.append(repr(exc))
                    continue
                self.latencies[phase].append(time.perf_counter() - started)
        finally:
            connections.close_all()


def sweep_in_process(batch_size, sweeping, results) -> None:
    """The sweep in its own process (its own connection), timed."""
    connections.close_all()
    sweeping.set()
    started = time.perf_counter()
    expired = services.expire_overdue_holds(batch_size=batch_size)
    results.put((expired, time.perf_counter() - started))


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"n={len(values)}"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"n={len(values):5d}  p50={q[49] * 1000:6.1f} ms  p95={q[94] * 1000:6.1f} ms  "
        f"p99={q[98] * 1000:6.1f} ms  max={max(values) * 1000:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cabins", type=int, default=50)
    parser.add_argument("--room-types", type=int, default=10)
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="leave the data in place")
    args = parser.parse_args()

    settings.MAX_ACTIVE_HOLDS_PER_CUSTOMER = 10**9
    batch_size = args.batch_size or settings.EXPIRY_BATCH_SIZE
    cleanup()
    started = time.perf_counter()
    customers, cabins, types, first_night = create_fixture(
        holds=args.holds, cabins=args.cabins, room_types=args.room_types, threads=args.threads
    )
    print(f"created {args.holds} overdue holds in {time.perf_counter() - started:.1f} s")

    load = HoldLoad(customers, cabins, types, first_night)
    load.start()
    time.sleep(args.baseline_seconds)  # a measuring window, not a wait for an event
    # The sweep runs in its own process, as in a Celery worker: the hold
    # threads share no interpreter lock with it.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    sweeping = context.Event()
    sweeper = context.Process(target=sweep_in_process, args=(batch_size, sweeping, results))
    sweeper.start()
    sweeping.wait()
    load.phase = "sweep"
    expired, elapsed = results.get()
    load.phase = "after"
    sweeper.join()
    load.join()

    overdue_left = Booking.objects.filter(
        status=BookingStatus.HELD,
        expires_at__lte=timezone.now(),
        customer__username__startswith=USER_PREFIX,
    ).count()
    drift = _drift()
    print(f"batch size {batch_size}, {args.threads} hold threads, {args.cabins} cabins")
    print(f"expired {expired} holds in {elapsed:.2f} s ({expired / elapsed:,.0f}/s)")
    print(f"hold latency before the sweep: {percentiles(load.latencies['baseline'])}")
    print(f"hold latency during the sweep: {percentiles(load.latencies['sweep'])}")
    print(f"hold errors: {len(load.errors)} {sorted(set(load.errors))[:3]}")
    print(f"overdue holds left: {overdue_left}; inventory rows with drift: {drift}")
    if not args.keep:
        cleanup()
    return 0 if overdue_left == 0 and drift == 0 and expired >= args.holds else 1


def _drift() -> int:
    return len(find_drift())


if __name__ == "__main__":
    sys.exit(main())
