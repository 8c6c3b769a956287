"""The request id: taken or made, answered, on every log line of the request,
and carried into the Celery tasks the request publishes."""

import io
import json
import logging
import queue
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.http import HttpResponse
from django.test import RequestFactory

from config import request_id
from config.celery_app import app as celery_app
from config.logs import logging_config

seen_by_task: queue.Queue = queue.Queue()


@celery_app.task(name="tests.observability.report_request_id")
def report_request_id():
    logging.getLogger("tests.task").info("task ran")
    seen_by_task.put(request_id.current.get())


@pytest.fixture
def json_log():
    """The production formatter and filter on a handler of the root logger."""
    config = logging_config("json", "DEBUG")
    formatter_config = dict(config["formatters"]["json"])
    formatter_config.pop("()")
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**formatter_config))
    handler.addFilter(request_id.RequestIdFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(previous_level)


@pytest.mark.django_db
def test_a_request_without_an_id_gets_a_new_one(api_client):
    first = api_client.get("/healthz")["X-Request-ID"]
    second = api_client.get("/healthz")["X-Request-ID"]
    assert first != second
    assert uuid.UUID(first).hex == first


@pytest.mark.django_db
def test_the_callers_id_is_kept_when_it_is_short_and_plain(api_client):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="lb-4f1c:9a2e.01")
    assert response["X-Request-ID"] == "lb-4f1c:9a2e.01"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forged",
    ["", "x" * 129, "has space", 'quote"', "new\\nline", "é-accent", "a\tb"],
)
def test_a_long_or_odd_id_is_replaced(api_client, forged):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID=forged)
    assert response["X-Request-ID"] != forged
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_every_log_line_of_a_request_carries_its_id_in_json(customer_client, json_log):
    response = customer_client.get("/api/v1/bookings/ABCDEF/", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 404
    logging.getLogger("tests").info("after the request")
    lines = json_log()
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found, lines
    assert {line["request_id"] for line in not_found} == {"req-123"}
    assert {"time", "level", "logger", "message"} <= set(not_found[0])
    assert "request" not in not_found[0]
    # Once the answer is closed the id is gone: no later line borrows it.
    assert lines[-1]["message"] == "after the request"
    assert lines[-1]["request_id"] == "-"


def test_plain_format_shows_the_id_and_unknown_formats_are_refused():
    config = logging_config("plain", "INFO")
    assert "%(request_id)s" in config["formatters"]["plain"]["format"]
    assert config["handlers"]["console"]["filters"] == ["request_id"]
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        logging_config("xml", "INFO")


@pytest.fixture
def celery_worker(settings):
    """A real worker in a thread, on the test run's Redis broker, consuming a
    queue of this test's own."""
    queue_name = f"test-request-id-{uuid.uuid4().hex}"
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, queues=[queue_name], loglevel="WARNING"
    ):
        yield queue_name


def test_a_task_published_inside_a_request_carries_its_id(celery_worker):
    def view(request):
        report_request_id.apply_async(queue=celery_worker)
        return HttpResponse("published")

    middleware = request_id.RequestIdMiddleware(view)
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="booking-req-42"))
    assert response["X-Request-ID"] == "booking-req-42"
    assert seen_by_task.get(timeout=30) == "booking-req-42"

    # Published outside any request: no id, and none left over from before.
    request_id.current.set(None)
    report_request_id.apply_async(queue=celery_worker)
    assert seen_by_task.get(timeout=30) is None
