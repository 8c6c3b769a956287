"""`make bench WORKLOAD=scale`'s output (loadtest/scale.py): the table, the
chart and the targets, from a report of known figures. The full run loads
millions of rows and is not a test (README, "Scale")."""

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
