"""The side-by-side bench's reading of wrk (loadtest/side_by_side.py): its
figures and its verdict come from this parse, so it must read every number
wrk and holdcancel.lua print, and count what went wrong. No stack: a full
run takes half a minute and needs wrk (`make bench WORKLOAD=side-by-side`)."""

import pytest

from loadtest import side_by_side

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:40001
  32 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   310.12ms   80.55ms   1.20s    70.00%
    Req/Sec     3.12      1.50    10.00     80.00%
  Latency Distribution
     50%  309.93ms
     75%  350.00ms
     90%  420.00ms
     99%    1.20s
  500 requests in 5.01s, 300.00KB read
{errors}Requests/sec:     99.80
Transfer/sec:     59.88KB
holds=252 cancels=248 bad={bad}
"""


def test_a_clean_run_is_read_whole():
    run = side_by_side.parse_wrk("project", WRK_OUTPUT.format(errors="", bad=0))
    assert (run.holds, run.cancels, run.bad, run.socket_errors) == (252, 248, 0, 0)
    assert run.seconds == pytest.approx(5.01)
    assert run.holds_per_s == 50.3
    assert (run.p50_ms, run.p99_ms) == (309.93, 1200.0)
    assert not run.failed


@pytest.mark.parametrize(
    ("errors", "bad"),
    [
        ("", 3),
        ("  Socket errors: connect 0, read 2, write 0, timeout 1\n", 0),
    ],
)
def test_bad_answers_and_lost_requests_fail_the_run(errors, bad):
    run = side_by_side.parse_wrk("floor", WRK_OUTPUT.format(errors=errors, bad=bad))
    assert run.failed
    assert run.bad + run.socket_errors == 3


def test_output_without_the_scripts_counts_is_an_error():
    with pytest.raises(RuntimeError, match="holdcancel.lua"):
        side_by_side.parse_wrk("floor", "unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_tokens_file_is_what_holdcancel_lua_reads(tmp_path):
    path = side_by_side.tokens_lua(tmp_path / "tokens.lua", 7, ["a1", "b2"])
    assert path.read_text() == 'flight_id = 7\ntokens = {"a1","b2"}\n'
