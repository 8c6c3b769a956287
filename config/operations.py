"""Operations endpoints: liveness and readiness (the probes of a load balancer
or an orchestrator)."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    checks = {"postgresql": _check_postgresql(), "redis": _check_redis()}
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body.update(code="service_unavailable", detail=f"Not ready: {', '.join(failing)} failing.")
        response = JsonResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
    return JsonResponse(body)


def _check_postgresql() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means "not ready", never a 500
        logger.warning("readyz: PostgreSQL check failed: %r", exc)
        connection.close_if_unusable_or_obsolete()
        return f"error: {exc.__class__.__name__}"


def _check_redis() -> str:
    try:
        get_redis_connection("default").ping()
        return "ok"
    except Exception as exc:
        logger.warning("readyz: Redis check failed: %r", exc)
        return f"error: {exc.__class__.__name__}"
