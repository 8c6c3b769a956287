"""`make run` (scripts/run.sh) survives the death of one of its app processes:
PostgreSQL and Redis keep answering, and web, worker and beat come back."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.deploy.container import ROOT
from tests.faults.stack import free_ports, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

STARTED = re.compile(r"(\w+)\.1 started \(pid=(\d+)\)")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def _postgresql_answers(port: int) -> bool:
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="travel", dbname="travel") as db:
            return db.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def _redis_answers(port: int) -> bool:
    ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
    return ping.stdout.strip() == "PONG"


def _worker_main(run_sh: int) -> psutil.Process:
    """The main process of the Celery worker of the default queue among
    run.sh's descendants (its pool processes are its children; the
    `webhooks` worker is another)."""

    def is_worker(process: psutil.Process) -> bool:
        command = process.cmdline()
        return any("celery" in word for word in command[:2]) and "worker" in command

    workers = [p for p in psutil.Process(run_sh).children(recursive=True) if is_worker(p)]
    (main,) = [p for p in workers if not is_worker(p.parent()) and "worker@%h" in p.cmdline()]
    return main


@pytest.fixture
def run_script():
    """scripts/run.sh on free ports, with its own PostgreSQL and Redis data."""
    pg_port, redis_port, web_port = free_ports(3)
    data = Path(tempfile.mkdtemp(prefix="travel-run-", dir="/tmp"))
    data.chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        LOCAL_PG_PORT=str(pg_port),
        LOCAL_REDIS_PORT=str(redis_port),
        LOCAL_DATA_DIR=str(data),
        PORT=str(web_port),
        WEB_CONCURRENCY="1",
        GUNICORN_ACCESS_LOG="off",
    )
    process = subprocess.Popen(
        ["scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        yield process, lines, {"postgres": pg_port, "redis": redis_port, "web": web_port}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(
            ["scripts/services.sh", "down"],
            cwd=ROOT,
            env={**env, "LOCAL_DATA_DIR": str(data)},
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def _started(lines: list[str], name: str) -> list[int]:
    return [int(m.group(2)) for line in lines for m in STARTED.finditer(line) if m.group(1) == name]


def test_a_killed_worker_does_not_stop_the_database_and_comes_back(run_script):
    process, lines, ports = run_script
    healthz = f"http://127.0.0.1:{ports['web']}/healthz"

    def output():
        return "".join(lines)[-4000:]

    wait_until(
        lambda: (_answers(healthz) and _started(lines, "worker")) or process.poll() is not None,
        timeout=240,
        interval=0.5,
        what="make run serving",
    )
    assert process.poll() is None and _answers(healthz), output()

    _worker_main(process.pid).kill()
    with contextlib.suppress(TimeoutError):  # the asserts below say what is missing
        wait_until(
            lambda: len(_started(lines, "worker")) >= 2 or process.poll() is not None,
            timeout=60,
            interval=0.3,
            what="the worker started again",
        )
    assert process.poll() is None, f"run.sh ended with its worker:\n{output()}"
    assert len(_started(lines, "worker")) >= 2, f"the worker did not come back:\n{output()}"
    assert _postgresql_answers(ports["postgres"]), output()
    assert _redis_answers(ports["redis"]), output()
    wait_until(lambda: _answers(healthz), timeout=60, interval=0.3, what="web again")

    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) is not None
    assert not _postgresql_answers(ports["postgres"]), "Ctrl-C/SIGTERM leaves PostgreSQL running"
    assert not _redis_answers(ports["redis"]), "Ctrl-C/SIGTERM leaves Redis running"
