"""Production settings: `check --deploy` clean, secrets only from the
environment, and no secret on any log line."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="api.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", ALLOWED_HOSTS="api.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "weak",
    ["short-key", "dev-only-insecure-key-change-me-in-production-0123456789"],
)
def test_production_refuses_a_short_or_development_secret_key(weak):
    result = manage("check", SECRET_KEY=weak, ALLOWED_HOSTS="api.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be a long random value" in result.stderr


@pytest.fixture
def every_log_line():
    """Everything logged, by any logger at any level, formatted as production does."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))
            if record.exc_info:
                lines.append(logging.Formatter().formatException(record.exc_info))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s %(args)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.django_db
def test_no_password_token_or_payment_reference_reaches_a_log_line(api_client, every_log_line):
    from tests.factories import FlightInventoryFactory

    password = "Sturdy-Horse-Battery-917"
    registered = api_client.post(
        "/api/v1/auth/register/",
        {"username": "logwatch", "email": "logwatch@example.com", "password": password},
    )
    assert registered.status_code == 201
    token = registered.json()["token"]
    assert (
        api_client.post(
            "/api/v1/auth/token/", {"username": "logwatch", "password": password + "x"}
        ).status_code
        == 400
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    cabin = FlightInventoryFactory(total_seats=5)
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 1}
    reference = api_client.post("/api/v1/bookings/", {"items": [item]}).json()["reference"]
    api_client.post(f"/api/v1/bookings/{reference}/confirm/", {"payment_reference": "pay-s3cr3t"})
    # An error answer and a bad token are logged by Django: still nothing secret.
    api_client.get("/api/v1/bookings/NOSUCH/")
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token-value-0123456789")
    assert api_client.get("/api/v1/bookings/").status_code == 401

    text = "\n".join(every_log_line)
    assert every_log_line, "nothing was logged: the test would prove nothing"
    for secret in (password, token, "pay-s3cr3t", "not-a-real-token-value-0123456789"):
        assert secret not in text
