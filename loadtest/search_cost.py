"""CPU per anonymous search, cache hit against cache miss, in-process: the
whole Django stack (every middleware, DRF) called as gunicorn calls it (a
WSGI environ in, the body consumed), no HTTP and no client library in the
figure. For comparing two trees' search paths on a database `seed_scale`
filled once (README, "Search cache and indexes"):

    THROTTLING=off DEBUG=off .venv/bin/python -m loadtest.search_cost [calls]

A miss is forced by bumping the scope's version before the call (outside
the timed part). Prints one JSON line: process CPU and wall time per call,
median and p95, for a flight and a hotel search, hit and miss.
"""

import io
import json
import os
import statistics
import sys
import time


def environ(path: str, query: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main(calls: int) -> None:
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from config import search_cache
    from flights.models import Flight
    from hotels.models import Hotel
    from loadtest.bench import percentile

    handler = WSGIHandler()
    flight = Flight.objects.filter(cabins__available_seats__gt=2).order_by("pk").first()
    hotel = Hotel.objects.order_by("pk").first()
    day = flight.departure_date
    check_in = day.isoformat()
    check_out = day.fromordinal(day.toordinal() + 3).isoformat()
    searches = {
        "flight": (
            f"origin={flight.origin}&destination={flight.destination}&date={day}",
            "/api/v1/flights/",
            search_cache.flight_scope(day),
        ),
        "hotel": (
            f"city={hotel.city.replace(' ', '%20')}&check_in={check_in}"
            f"&check_out={check_out}&rooms=2",
            "/api/v1/hotels/",
            search_cache.hotel_scope(hotel.city),
        ),
    }

    def call(path, query):
        statuses = []
        cpu, wall = time.process_time(), time.perf_counter()
        body = b"".join(handler(environ(path, query), lambda s, h: statuses.append(s)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert statuses[0].startswith("200"), (statuses, body[:300])
        return cpu, wall

    def bump(scope):
        search_cache._bump({scope})

    report = {"calls": calls}
    for name, (query, path, scope) in searches.items():
        for kind, before in (("miss", bump), ("hit", None)):
            for _ in range(20):  # warm up: imports, connections, prepared statements
                call(path, query)
            cpus, walls = [], []
            for _ in range(calls):
                if before:
                    before(scope)
                cpu, wall = call(path, query)
                cpus.append(cpu)
                walls.append(wall)
            report[f"{name}_{kind}"] = {
                "cpu_ms_mean": round(sum(cpus) / len(cpus) * 1000, 3),
                "wall_ms_median": round(statistics.median(walls) * 1000, 3),
                "wall_ms_p95": percentile(walls, 95),
            }
        report[f"{name}_miss_over_hit_cpu"] = round(
            report[f"{name}_miss"]["cpu_ms_mean"] / report[f"{name}_hit"]["cpu_ms_mean"], 2
        )
    print(json.dumps(report))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
