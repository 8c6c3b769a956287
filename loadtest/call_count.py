"""Python function calls, CPU and SQL per hold+cancel pair, by the project
function that made them: figures that do not move with the machine's mood
(CPU less so), for comparing two trees' hot paths (README, Performance).
Through Django's test client, on the database and Redis the settings name,
with the production middleware:

    DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=... \\
    DATABASE_URL=... REDIS_URL=... ALLOWED_HOSTS=127.0.0.1 THROTTLING=off \\
    SECURE_SSL_REDIRECT=false MAX_ACTIVE_HOLDS_PER_CUSTOMER=1000 \\
    .venv/bin/python -m loadtest.call_count [pairs] [--seats auto|chosen] [--cpu N] [--queries]

Each call is counted under the innermost frame of the project's own code
above it (a Django or DRF call made for `lock_cabins` counts under it).

`--seats` holds seats of a cabin shaped like the side-by-side's seat-map
variants (`seats-auto`, `seats-chosen`): 5,000 rows of 3-3, `--held` other
seats held by another customer, and `--inactive` ended assignments as after
minutes of hold+cancel (auto: on the front seats the pick keeps choosing;
chosen: over the whole cabin). `--cpu N` times N more pairs with
`time.process_time()`; `--queries` prints the SQL of one more pair."""

import argparse
import os
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
SEAT_ROWS, SEAT_COLUMNS = 5000, "ABC DEF"


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    pair = _pair_maker(args)
    for _ in range(20):  # warm: first-request imports and caches
        pair()
    calls = Counter()
    sys.setprofile(_counter(calls))
    for _ in range(args.pairs):
        pair()
    sys.setprofile(None)
    print(f"{sum(calls.values()) / args.pairs:.0f} calls per hold+cancel pair")
    for where, count in calls.most_common(25):
        print(f"{count / args.pairs:8.0f}  {where}")
    if args.cpu:
        _time_pairs(pair, args.cpu)
    if args.queries:
        _print_queries(pair)
    if args.explain:
        _explain_seat_statements(pair)


def _time_pairs(pair, pairs: int) -> None:
    """CPU per pair: this process's, and its PostgreSQL backend's when the
    server runs on this machine (its /proc entry, in clock ticks)."""
    started, backend = time.process_time(), _backend_cpu()
    for _ in range(pairs):
        pair()
    spent, backend_spent = time.process_time() - started, _backend_cpu() - backend
    figures = f"{spent / pairs * 1000:.2f} ms CPU per pair ({pairs} pairs)"
    if backend:
        figures += f", PostgreSQL's backend {backend_spent / pairs * 1000:.2f} ms"
    print(figures)


def _backend_cpu() -> float:
    """Seconds of CPU the connection's PostgreSQL backend has used, 0 if unknown."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="loadtest.call_count")
    parser.add_argument("pairs", type=int, nargs="?", default=50)
    parser.add_argument("--seats", choices=("auto", "chosen"), default="")
    parser.add_argument("--held", type=int, default=32, help="seats held by another customer")
    parser.add_argument("--inactive", type=int, default=40_000, help="ended seat assignments")
    parser.add_argument("--cpu", type=int, default=0, help="pairs to time with process_time")
    parser.add_argument("--queries", action="store_true", help="print one pair's SQL")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) one pair's seat SQL"
    )
    return parser.parse_args(argv)


def _pair_maker(args):
    """A function that holds one seat and cancels it, as the variant asks."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.tokens import issue_token
    from tests.factories import FlightInventoryFactory

    def client_of(name):
        user = get_user_model().objects.create_user(_unique(name), password="x")
        return Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}", HTTP_HOST="127.0.0.1")

    client = client_of("calls")
    if args.seats:
        flight_id = _seat_mapped_cabin(client_of("others"), args)
    else:
        flight_id = FlightInventoryFactory(
            total_seats=100_000, flight__flight_number=_unique("CC")
        ).flight_id
    item = {"type": "flight", "flight_id": flight_id, "cabin_class": "economy", "seats": 1}
    letters = SEAT_COLUMNS.replace(" ", "")
    walk = iter(range(10**9))

    def pair():
        if args.seats == "chosen":  # its own rows, front to back, as cycle.lua chooses
            k = next(walk) % ((SEAT_ROWS - 100) * len(letters))
            item["seat_numbers"] = [f"{100 + k // len(letters)}{letters[k % len(letters)]}"]
        held = _hold(client, item)
        url = f"/api/v1/bookings/{held['reference']}/cancel/"
        assert client.post(url, {}, content_type="application/json").status_code == 200

    return pair


def _hold(client, item) -> dict:
    held = client.post("/api/v1/bookings/", {"items": [item]}, content_type="application/json")
    assert held.status_code == 201, held.content
    return held.json()


def _seat_mapped_cabin(others, args) -> int:
    """The side-by-side's seat-mapped flight, `args.held` of its front seats
    held by `others`, and `args.inactive` ended assignments; returns its id."""
    from django.db import connection

    from bookings.models import Booking, SeatAssignment
    from flights.models import Seat
    from loadtest.seed import seat_mapped_flight

    flight_id = seat_mapped_flight(rows=SEAT_ROWS, columns=SEAT_COLUMNS)["flight_id"]
    item = {"type": "flight", "flight_id": flight_id, "cabin_class": "economy", "seats": 1}
    ended = _hold(others, item)["reference"]
    others.post(f"/api/v1/bookings/{ended}/cancel/", {}, content_type="application/json")
    for _ in range(args.held):
        _hold(others, item)
    seats = Seat.objects.filter(inventory__flight_id=flight_id).order_by("row", "column")
    seat_ids = list(seats.values_list("pk", flat=True)[: 64 if args.seats == "auto" else None])
    booking = Booking.objects.get(reference=ended)
    SeatAssignment.objects.bulk_create(
        (
            SeatAssignment(
                booking=booking, item_position=0, seat_id=seat_ids[i % len(seat_ids)], active=False
            )
            for i in range(args.inactive)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE flights_seat, bookings_seatassignment")
    return flight_id


def _print_queries(pair) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        pair()
    print(f"{len(captured.captured_queries)} queries in one pair:")
    for query in captured.captured_queries:
        print(f"  {query['time']}s  {' '.join(query['sql'].split())[:400]}")


def _explain_seat_statements(pair) -> None:
    """Run one pair, and before each statement on seats or their assignments
    print its plan as run with the same parameters (in a savepoint rolled back,
    so a write is not done twice)."""
    from django.db import connection

    def explain(execute, sql, params, many, context):
        if ("flights_seat" in sql or "bookings_seatassignment" in sql) and not many:
            cursor = context["cursor"].cursor  # psycopg's own: not wrapped again
            cursor.execute("SAVEPOINT explained")
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n    ".join(row[0] for row in cursor.fetchall())
            cursor.execute("ROLLBACK TO SAVEPOINT explained")
            print(f"{' '.join(sql.split())[:300]}\n    {plan}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        pair()


def _counter(calls: Counter):
    def ours(frame) -> bool:
        name = frame.f_code.co_filename
        return name.startswith(ROOT) and f"{os.sep}.venv{os.sep}" not in name

    def profile(frame, event, arg):
        if event not in ("call", "c_call"):
            return
        while frame is not None and not ours(frame):
            frame = frame.f_back
        if frame is None:
            calls["(outside the project)"] += 1
        else:
            calls[f"{frame.f_code.co_filename[len(ROOT) :]}:{frame.f_code.co_name}"] += 1

    return profile


def _unique(prefix: str) -> str:
    return f"{prefix}{time.time_ns() % 100_000}"  # a flight number is at most 7 characters


if __name__ == "__main__":
    main()
