"""A short run of every `make bench` workload (loadtest/bench.py), judged on
correctness only: no 5xx, every request answered, the invariants and the
selloff's accounting. Never a performance threshold: the figures depend on
the machine (README, "Performance", has them)."""

import json

import pytest

from loadtest import bench

pytestmark = pytest.mark.slow

SELLOFF_SEATS = 40


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-results")
    exit_code = bench.main(
        [
            "all",
            "--duration",
            "4",
            "--users",
            "4",
            "--web-workers",
            "2",
            "--selloff-seats",
            str(SELLOFF_SEATS),
            "--selloff-customers",
            str(SELLOFF_SEATS * 3),
            "--output",
            str(out),
        ]
    )
    return exit_code, {
        workload: json.loads((out / f"{workload}.json").read_text()) for workload in bench.WORKLOADS
    }


@pytest.mark.parametrize("workload", bench.WORKLOADS)
def test_workload_runs_correctly(reports, workload):
    report = reports[1][workload]
    assert report["requests"] > 0, "the load made no request"
    assert report["server_errors_5xx"] == 0, report["status_codes"]
    assert report["no_answer"] == 0, report["status_codes"]
    assert report["invariants"]["ok"], report["invariants"]["problems"]
    assert all(report["checks"].values()), report["checks"]


@pytest.mark.parametrize("workload", ["hot", "spread"])
def test_holds_succeed_and_are_cancelled(reports, workload):
    report = reports[1][workload]
    assert report["successful_holds"] > 0
    assert report["ops"]["cancel"]["answers"] == {"200": report["successful_holds"]}
    assert report["bookings_by_status"].get("held", 0) <= report["config"]["users"]


def test_selloff_sells_exactly_its_seats(reports):
    selloff = reports[1]["selloff"]["selloff"]
    assert selloff["seats_sold"] == SELLOFF_SEATS
    assert selloff["customers_who_tried"] == SELLOFF_SEATS * 3
    assert selloff["refusals"] == SELLOFF_SEATS * 2
    assert selloff["refusals_while_seats_left"] == 0
    assert selloff["oversold"] == 0


def test_search_answers_both_kinds(reports):
    ops = reports[1]["search"]["ops"]
    assert ops["flight_search"]["answers"] == {"200": ops["flight_search"]["requests"]}
    assert ops["hotel_search"]["answers"] == {"200": ops["hotel_search"]["requests"]}


def test_ceiling_reads_each_customers_booking(reports):
    ceiling = reports[1]["ceiling"]
    assert ceiling["ops"]["read"]["answers"] == {"200": ceiling["ops"]["read"]["requests"]}
    # One unrecorded hold per customer, none made by the recorded load.
    assert "hold" not in ceiling["ops"]
    assert ceiling["bookings_by_status"] == {"held": ceiling["config"]["users"]}


def test_the_bench_exits_zero_when_every_check_holds(reports):
    assert reports[0] == 0


# --- The bench's own arithmetic (no stack) ------------------------------------------


def test_percentiles_are_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 95) == 95.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile([], 50) is None


def test_figures_count_successes_refusals_and_server_errors():
    refused = [{"item": 0, "requested": 1, "available": 0}]
    records = [
        ("hold", 201, None, 0.010, 0.0, None),
        ("hold", 409, "insufficient_inventory", 0.020, 0.5, refused),
        ("hold", 503, "service_unavailable", 0.030, 1.0, None),
        ("cancel", 200, None, 0.005, 1.5, None),
        ("hold", 0, None, 0.0, 1.9, None),
    ]
    report = bench.figures(records, "hot")
    assert report["successful_holds"] == 1
    assert report["server_errors_5xx"] == 1
    assert report["no_answer"] == 1
    assert report["status_codes"] == {"0": 1, "200": 1, "201": 1, "409": 1, "503": 1}
    assert report["ops"]["hold"]["answers"]["409 insufficient_inventory"] == 1
