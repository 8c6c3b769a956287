"""`make bench WORKLOAD=scale`'s output (loadtest/scale.py): the table, the
chart and the targets, from a report of known figures. The full run loads
millions of rows and is not a test (README, "Scale")."""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

from loadtest import bench, scale

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
