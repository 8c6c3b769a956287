"""The Docker path, without a Docker engine: the Dockerfile's Django steps run
with the image's ENV, and every compose service's command runs with exactly
compose's environment against the test PostgreSQL and Redis (their hosts
moved from the compose network to this machine)."""

import contextlib
import json
import os
import signal
import subprocess
import threading
import urllib.request
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.deploy.container import (
    ROOT,
    compose_services,
    dockerfile_stages,
    image_environment,
    moved_url,
)
from tests.faults.stack import free_ports, wait_until

STAGES = dockerfile_stages((ROOT / "Dockerfile").read_text())
RUNTIME = STAGES[-1]
IMAGE_ENV = image_environment(RUNTIME)


def test_the_image_is_built_in_two_stages_and_runs_unprivileged_with_a_healthcheck():
    assert len(STAGES) >= 2, "the venv is built in its own stage"
    assert any("uv sync" in args for name, args in STAGES[0] if name == "RUN")
    runtime_steps = [name for name, _ in RUNTIME]
    assert "uv" not in " ".join(args for _, args in RUNTIME if _ == "RUN")
    assert any(name == "COPY" and "--from=builder" in args for name, args in RUNTIME)
    users = [args for name, args in RUNTIME if name == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in runtime_steps
    healthcheck = dict(RUNTIME)["HEALTHCHECK"]
    assert "urllib" in healthcheck and "/healthz" in healthcheck and "curl" not in healthcheck


@pytest.mark.slow  # collectstatic compresses every asset: a minute or two on 2 cores
def test_the_images_django_steps_run_with_its_environment(tmp_path):
    steps = [args for name, args in RUNTIME if name == "RUN" and "manage.py" in args]
    assert steps, "collectstatic is a build step"
    for step in steps:
        result = subprocess.run(
            ["sh", "-c", step],
            cwd=ROOT,
            env={**IMAGE_ENV, "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"RUN {step}\n{result.stderr[-3000:]}"


def test_compose_publishes_the_web_port_on_loopback_only_by_default():
    assert compose_services()["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert compose_services({"PORT": "9000"})["web"]["ports"] == ["127.0.0.1:9000:8000"]


@pytest.fixture
def compose_database():
    """A database of its own on the test PostgreSQL, dropped afterwards."""
    db = settings.DATABASES["default"]
    name = f"compose_{uuid.uuid4().hex[:8]}"
    server = dict(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres")
    with psycopg.connect(**server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_environment(service: dict, database: str, port: int) -> dict[str, str]:
    """What the container sees: the image's ENV, then compose's `environment`,
    with the service hosts (postgres, redis) moved to the test servers and the
    web server on a free loopback port (a container has its own network)."""
    db = settings.DATABASES["default"]
    redis = settings.REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    env = {**IMAGE_ENV, **{key: str(value) for key, value in service["environment"].items()}}
    env["DATABASE_URL"] = moved_url(
        env["DATABASE_URL"], f"{db['HOST']}:{db['PORT']}", f"/{database}"
    )
    env["REDIS_URL"] = moved_url(env["REDIS_URL"], redis)
    env["BIND_ADDRESS"], env["PORT"] = "127.0.0.1", str(port)
    return env


class Process:
    """A service's command, its output collected line by line."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 60):
        with contextlib.suppress(TimeoutError):  # the asserts below say what is missing
            wait_until(
                lambda: any(text in line for line in self.lines) or self.popen.poll() is not None,
                timeout=timeout,
                interval=0.2,
                what=text,
            )
        output = "".join(self.lines)[-3000:]
        assert self.popen.poll() is None, f"exited {self.popen.returncode}:\n{output}"
        assert any(text in line for line in self.lines), f"no {text!r} in:\n{output}"

    def stop(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except OSError:
        return 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_compose_services_start_with_composes_environment(compose_database, tmp_path):
    services = compose_services()
    (port,) = free_ports(1)
    env = {
        name: service_environment(s, compose_database, port)
        for name, s in services.items()
        if "environment" in s and "build" in s
    }
    assert set(env) == {"migrate", "web", "worker", "webhooks", "beat"}
    for service in env.values():
        service["HOME"] = str(tmp_path)

    migrate = subprocess.run(
        services["migrate"]["command"],
        cwd=ROOT,
        env=env["migrate"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert "password=" in migrate.stdout  # the demo logins, in `docker compose logs migrate`

    started = []
    try:
        web = Process(services["web"]["command"], {**env["web"], "WEB_CONCURRENCY": "1"})
        started.append(web)
        wait_until(
            lambda: _get(f"http://127.0.0.1:{port}/readyz") == 200 or web.popen.poll() is not None,
            timeout=60,
            interval=0.3,
            what="web answering /readyz",
        )
        assert _get(f"http://127.0.0.1:{port}/readyz") == 200, "".join(web.lines)[-3000:]
        healthcheck = dict(RUNTIME)["HEALTHCHECK"].split("CMD", 1)[1]
        probe = subprocess.run(json.loads(healthcheck), cwd=ROOT, env=env["web"], timeout=30)
        assert probe.returncode == 0, "the image's HEALTHCHECK fails against a running web"

        worker = Process(services["worker"]["command"] + ["--concurrency", "1"], env["worker"])
        started.append(worker)
        webhooks = Process(
            services["webhooks"]["command"] + ["--concurrency", "1"], env["webhooks"]
        )
        started.append(webhooks)
        beat = Process(services["beat"]["command"], env["beat"])
        started.append(beat)
        worker.wait_for("ready.")
        webhooks.wait_for("ready.")
        beat.wait_for("beat: Starting")
    finally:
        for process in started:
            process.stop()
