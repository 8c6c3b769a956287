"""/metrics in Prometheus text format, and the HTTP figures.

Under gunicorn with several workers each worker has its own memory, so a scrape
would see one worker's figures. With PROMETHEUS_MULTIPROC_DIR set (the run and
bench scripts set it, to an empty directory, before any process starts),
prometheus_client keeps every process's figures in files there and this view
adds them up; config/gunicorn.py's `child_exit` marks a dead worker's live
gauges. Without it, the view serves this process's registry.

The HTTP figures are labelled by route template (`api/v1/bookings/{reference}/`),
never by raw path, so a client probing URLs cannot blow up the label set.
"""

import os
import re
import time

from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

http_requests = Counter(
    "travel_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
http_duration = Histogram(
    "travel_http_request_duration_seconds",
    "Time from the request reaching Django to its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
http_in_progress = Gauge(
    "travel_http_requests_in_progress",
    "HTTP requests being handled now.",
    multiprocess_mode="livesum",
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_template(request) -> str:
    """The URL pattern that answered, `{name}` for each parameter; `unmatched`
    when none did (a 404 before any view)."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "unmatched"
    route = _NAMED_GROUP.sub(r"{\1}", match.route)
    route = _CONVERTER.sub(r"{\1}", route)
    return route.replace("^", "").replace("$", "").replace("\\Z", "") or "/"


class HttpMetricsMiddleware:
    """Counts and times every request; outermost but for the request id, so
    redirects and errors made by other middleware are counted too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        http_in_progress.inc()
        try:
            response = self.get_response(request)
        finally:
            http_in_progress.dec()
        method = request.method if request.method in _METHODS else "other"
        route = route_template(request)
        http_duration.labels(method=method, route=route).observe(time.perf_counter() - started)
        http_requests.labels(method=method, route=route, status=str(response.status_code)).inc()
        return response


def registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


@require_GET
def metrics(request):
    from events.metrics import outbox_registry

    body = generate_latest(registry()) + generate_latest(outbox_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
