"""/metrics under gunicorn with several worker processes: figures of every
worker, dead ones included, add up (prometheus_client multiprocess mode)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.read().decode()


def wait_until_serving(url: str, process: subprocess.Popen, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {process.stderr.read()}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)  # gunicorn gives no readiness signal but the socket answering
    raise AssertionError("gunicorn did not start")


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            # Each worker quits after a few requests: its figures must outlive it.
            "--max-requests",
            "3",
            # Load Django once and fork: a worker restart then takes milliseconds.
            "--preload",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/healthz", process)
        yield base, metrics_dir, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_metrics_add_up_every_worker_including_dead_ones(gunicorn):
    base, metrics_dir, _ = gunicorn
    for _ in range(REQUESTS):
        assert get(f"{base}/healthz")[0] == 200
    status, text = get(f"{base}/metrics")
    assert status == 200
    served = {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "travel_http_requests"
        for sample in family.samples
        if sample.name == "travel_http_requests_total" and sample.labels["route"] == "healthz"
    }
    # The one answered readiness probe counts too.
    assert served["200"] == REQUESTS + 1

    # Workers that quit were marked dead (child_exit): only running processes
    # keep live-gauge files.
    pids = [
        int(re.search(r"_(\d+)\.db$", path.name).group(1))
        for path in metrics_dir.glob("gauge_livesum_*.db")
    ]
    assert pids
    dead = [pid for pid in pids if not Path(f"/proc/{pid}").exists()]
    assert not dead, f"live gauge files of dead workers remain: {dead}"
