"""`make bench WORKLOAD=scale`'s output (loadtest/scale.py): the table, the
chart and the targets, from a report of known figures. The full run loads
millions of rows and is not a test (README, "Scale")."""

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import psycopg
import pytest

from loadtest import bench, scale, side_by_side

OPS = ("flight_search", "hotel_search", "booking_list", "admin_bookings", "expiry_sweep")


def size(fraction: float, bookings: int, p95: float) -> dict:
    return {
        "fraction": fraction,
        "counts": {"bookings": bookings},
        "load_seconds": 2.5,
        "ops": {op: {"p95_ms": p95 * (k + 1)} for k, op in enumerate(OPS)},
    }


SIZES = [size(0.01, 11_000, 10.0), size(0.1, 110_000, 12.0), size(1.0, 1_100_000, 20.0)]


def test_the_table_has_a_row_per_operation_and_a_column_per_size():
    lines = scale.table_lines(SIZES).splitlines()

    assert lines[0] == (
        "| operation | 0.01 (11,000 bookings) | 0.1 (110,000 bookings) | 1 (1,100,000 bookings) |"
    )
    assert "| flight_search p95 ms | 10.0 | 12.0 | 20.0 |" in lines
    assert "| expiry_sweep p95 ms | 50.0 | 60.0 | 100.0 |" in lines
    assert lines[-1] == "| load s | 2.5 | 2.5 | 2.5 |"


def test_the_chart_is_a_png(tmp_path):
    chart = tmp_path / "scale.png"

    scale.draw(SIZES, chart)

    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 10_000


def test_targets_are_judged_at_the_largest_size():
    judged = scale.targets(SIZES)

    assert judged["flight_search_p95_under_30ms_at_1"] is True
    assert judged["hotel_search_p95_under_50ms_at_1"] is True  # 40 ms
    assert judged["expiry_sweep_p95_under_60000ms_at_1"] is True
    assert "booking_list" not in " ".join(judged)


def test_the_command_line_takes_the_sizes():
    options = bench.parse(["scale", "--sizes", "0.001,0.01", "--samples", "20"])

    assert options.workload == "scale"
    assert options.sizes == [0.001, 0.01]
    assert options.samples == 20


class _Answers(BaseHTTPRequestHandler):
    """200 for /ok paths, 404 otherwise: what wrk is pointed at."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path.startswith("/ok") else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_wrk_counts_searches_a_second_and_fails_on_a_bad_answer(monkeypatch, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack = SimpleNamespace(base_url=f"http://127.0.0.1:{server.server_port}", web_workers=2)
    timer = SimpleNamespace(failures=[])
    monkeypatch.setattr(scale, "WRK_SECONDS", 1)
    monkeypatch.setattr(scale, "RESULTS", tmp_path)
    try:
        good = scale.wrk_per_s(stack, timer, ["/ok?a=1", "/ok?a=2"], warm=False)
        if shutil.which("wrk") is None:
            assert good is None and timer.failures == []
            return
        assert good > 10 and timer.failures == []
        assert scale.wrk_per_s(stack, timer, ["/missing"], warm=True) is None
        assert len(timer.failures) == 1 and "/missing" in timer.failures[0]
    finally:
        server.shutdown()


def test_wrk_draws_distinct_searches_of_the_loaded_data():
    loaded = {
        "first_day": "2030-01-01",
        "sizes": {"days": 365},
        "routes": [["AAA", "BBB"], ["BBB", "AAA"]],
        "cities": ["City 000"],
    }
    paths = scale.wrk_paths(loaded, seed=29)
    assert len(set(paths["flight_search"])) > 700  # of 2 routes x 365 days
    assert len(set(paths["hotel_search"])) > 1000  # 362 check-ins x 4 room counts
    assert all("city=City%20000" in path for path in paths["hotel_search"])


# --- settling and what ran beside the sweep: real PostgreSQL -----------------------------------


def _database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}"
        f"/{settings['NAME']}"
    )


@pytest.mark.parametrize(
    ("query", "target"),
    [
        (
            "autovacuum: VACUUM ANALYZE public.bookings_booking",
            ("VACUUM ANALYZE", "bookings_booking"),
        ),
        ("autovacuum: VACUUM public.hotels_roomnight", ("VACUUM", "hotels_roomnight")),
        ("autovacuum: ANALYZE public.auth_user", ("ANALYZE", "auth_user")),
        (
            "autovacuum: VACUUM public.flights_flight (to prevent wraparound)",
            ("VACUUM", "flights_flight"),
        ),
        ('autovacuum: VACUUM "Odd".bookings_hotelitem', ("VACUUM", "bookings_hotelitem")),
        ("", ("", None)),
        (None, ("", None)),
    ],
)
def test_an_autovacuum_workers_query_names_its_table(query, target):
    assert scale.autovacuum_target(query) == target


def _workers(*tables):
    return [{"pid": 1, "what": "VACUUM", "table": table, "seconds": 1.0} for table in tables]


def test_the_wait_lasts_while_a_worker_is_busy_and_says_what_it_saw():
    answers = iter([_workers("bookings_booking"), _workers("bookings_booking", "auth_user"), []])
    asked = []

    def busy():
        asked.append(time.monotonic())
        return next(answers)

    waited = scale.wait_for_quiet(busy, timeout=10, interval=0.05)

    assert len(asked) == 3
    assert waited["timed_out"] is False
    assert 0.1 <= waited["seconds"] < 5
    assert waited["seen"] == [
        {"table": "bookings_booking", "what": "VACUUM"},
        {"table": "auth_user", "what": "VACUUM"},
    ]


def test_the_wait_gives_up_at_its_timeout_and_says_so():
    started = time.monotonic()

    waited = scale.wait_for_quiet(lambda: _workers("bookings_booking"), timeout=0.3, interval=0.05)

    assert waited["timed_out"] is True
    assert 0.3 <= time.monotonic() - started < 2
    assert waited["seen"] == [{"table": "bookings_booking", "what": "VACUUM"}]


@pytest.mark.django_db
def test_settling_waits_for_no_autovacuum_then_checkpoints():
    url = _database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        before = scale.checkpoints(conn)
        assert scale.autovacuum_workers(conn, ["no_such_table"]) == []
        # Whatever runs now, each worker is reported whole.
        assert all(
            set(worker) == {"pid", "what", "table", "seconds"}
            for worker in scale.autovacuum_workers(conn)
        )

    settled = scale.settle(url, ["bookings_booking"], timeout=60)

    assert settled["autovacuum_wait"]["timed_out"] is False
    assert settled["checkpoint_seconds"] >= 0
    with psycopg.connect(url, autocommit=True) as conn:
        assert scale.checkpoints(conn)["requested"] > before["requested"]


@pytest.mark.django_db
def test_beside_samples_autovacuum_and_counts_the_checkpoints_of_its_block():
    url = _database_url()
    with scale.Beside(url, interval=0.05) as beside, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        time.sleep(0.3)

    report = beside.report()
    assert report["samples"] >= 3
    assert report["checkpoints"]["requested"] >= 1
    assert 0 <= report["autovacuum_share"] <= 1
    assert isinstance(report["autovacuum"], list)


# --- how the new figures are reported ------------------------------------------------------


def _run(app: str, holds: int, bad: int = 0) -> side_by_side.Run:
    return side_by_side.Run(app, 10.0, holds, holds, bad, 0, 5.0, 20.0)


def _settled_size(fraction, bookings, p95, *, hold_path: bool) -> dict:
    sized = size(fraction, bookings, p95)
    sized["settle"] = {
        "vacuum_analyze_seconds": 40.0,
        "autovacuum_wait": {"seconds": 2.5, "timed_out": False, "seen": []},
        "checkpoint_seconds": 1.5,
        "seconds": 44.0,
    }
    sized["sweep"] = {
        "cpu_seconds": {"python": 30.0, "postgresql_backend": 14.5, "postgresql_all": 20.0},
        "beside": {
            "samples": 100,
            "autovacuum_share": 0.25,
            "autovacuum": [{"table": "bookings_booking", "what": "VACUUM", "longest_s": 9.0}],
            "checkpoints": {"timed": 1, "requested": 0},
        },
    }
    if hold_path:
        rounds = [
            {"runs": {"floor": _run("floor", 2000), "project": _run("project", holds)}, "ratio": r}
            for holds, r in ((2100, 1.05), (1900, 0.95), (2000, 1.0))
        ]
        sized["hold_path"] = side_by_side.rounds_report([_run("floor", 500)], rounds)
    return sized


def test_the_table_reports_settling_the_sweeps_cpu_and_the_hold_path_where_run():
    sizes = [
        _settled_size(0.01, 11_000, 10.0, hold_path=False),
        _settled_size(1.0, 1_100_000, 20.0, hold_path=True),
    ]

    lines = scale.table_lines(sizes).splitlines()

    assert (
        "| settle s (vacuum + autovacuum wait + checkpoint) "
        "| 44.0 (40.0 + 2.5 + 1.5) | 44.0 (40.0 + 2.5 + 1.5) |"
    ) in lines
    assert (
        "| expiry_sweep CPU s (Python / its backend / all PostgreSQL) "
        "| 30.0 / 14.5 / 20.0 | 30.0 / 14.5 / 20.0 |"
    ) in lines
    assert (
        "| expiry_sweep beside: autovacuum share of samples (tables) / checkpoints "
        "| 25% (bookings_booking) / 1 | 25% (bookings_booking) / 1 |"
    ) in lines
    assert (
        "| hold+cancel project/floor, median (rounds) | - | 1.000 (1.050, 0.950, 1.000) |"
    ) in lines


def test_a_report_without_the_new_figures_has_no_rows_for_them():
    text = scale.table_lines(SIZES)
    assert "settle" not in text and "hold+cancel" not in text


def test_the_hold_paths_report_is_the_side_by_sides():
    held = _settled_size(1.0, 1_100_000, 20.0, hold_path=True)["hold_path"]

    assert held["median_ratio"] == 1.0
    assert [r["ratio"] for r in held["rounds"]] == [1.05, 0.95, 1.0]
    assert held["rounds"][0]["project"]["holds_per_s"] == 210.0
    assert held["no_bad_answers"] is True
    bad = side_by_side.rounds_report(
        [_run("floor", 500)], [{"runs": {"project": _run("project", 10, bad=1)}, "ratio": 0.5}]
    )
    assert bad["no_bad_answers"] is False


def test_the_hold_path_runs_unless_skipped():
    assert bench.parse(["scale"]).hold_path is True
    assert bench.parse(["scale", "--no-hold-path"]).hold_path is False


@pytest.mark.django_db(transaction=True)
def test_the_sweeps_measurement_splits_its_cpu(capsys):
    from loadtest.seed import overdue_holds

    overdue_holds(count=1000)

    exec(scale.SWEEP, {})  # as `manage.py shell -c` runs it on the stack
    swept = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert swept["expired"] == 1000
    cpu = swept["cpu_seconds"]
    assert set(cpu) == {"python", "postgresql_backend", "postgresql_all"}
    assert cpu["python"] > 0 and cpu["postgresql_backend"] > 0
    # The whole server's includes the sweep's backend.
    assert cpu["postgresql_all"] >= cpu["postgresql_backend"]


@pytest.mark.slow
def test_settling_waits_out_a_real_autovacuum_worker_on_the_loaded_tables():
    """A private PostgreSQL (the bench's stack) whose autovacuum looks every
    second, and a table whose worker crawls (400 ms of sleep a page): the
    wait sees it, gives up at its timeout, ignores it for other tables, and
    ends once a lock request (ALTER TABLE) has cancelled it."""
    from tests.faults.stack import Stack, wait_until

    with (
        Stack(name="bench-settle", web_workers=1) as stack,
        psycopg.connect(stack.database_url, autocommit=True) as conn,
    ):
        conn.execute("ALTER SYSTEM SET autovacuum_naptime = 1")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(
            "CREATE TABLE crawl (n int) WITH (autovacuum_vacuum_insert_threshold = 1,"
            " autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_cost_delay = 100,"
            " autovacuum_vacuum_cost_limit = 1)"
        )
        conn.execute("INSERT INTO crawl SELECT generate_series(1, 200000)")
        wait_until(
            lambda: scale.autovacuum_workers(conn, ["crawl"]),
            timeout=90,
            interval=0.2,
            what="an autovacuum worker on crawl",
        )

        busy = scale.settle(stack.database_url, ["crawl"], timeout=1.5)
        elsewhere = scale.settle(stack.database_url, ["bookings_booking"], timeout=30)

        def cancel_it():
            with psycopg.connect(stack.database_url, autocommit=True) as other:
                other.execute("ALTER TABLE crawl SET (autovacuum_enabled = false)")

        canceller = threading.Timer(1.0, cancel_it)
        canceller.start()
        settled = scale.settle(stack.database_url, ["crawl"], timeout=60)
        canceller.join()

    assert busy["autovacuum_wait"]["timed_out"] is True
    assert busy["autovacuum_wait"]["seconds"] >= 1.5
    assert busy["autovacuum_wait"]["seen"][0]["table"] == "crawl"
    assert "VACUUM" in busy["autovacuum_wait"]["seen"][0]["what"]
    assert elsewhere["autovacuum_wait"] == {"seconds": 0.0, "timed_out": False, "seen": []}
    assert settled["autovacuum_wait"]["timed_out"] is False
    assert settled["autovacuum_wait"]["seconds"] >= 1.0
