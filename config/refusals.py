"""An audit of refused requests: who was turned away, from where, and why.

Every 401, 403 and 429 answer (anywhere: the API, and the admin's lockouts),
and every 404 on a booking reference (someone else's booking answers exactly
like a missing one, so both count: that is what probing looks like), is

- logged as one structured record (logger `config.refusals`, fields `user`,
  `method`, `path`, `client`, `status`, `code`);
- counted in `travel_refusals_total{status, code}` on /metrics;
- counted per client address in Redis, one sorted set per UTC minute kept a
  little over an hour, so the staff dashboard can show the addresses refused
  most in the last hour from every process.

Answers that are not refusals cost one integer comparison.
"""

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django_redis import get_redis_connection
from prometheus_client import Counter
from redis.exceptions import RedisError

from config.client_address import client_address
from config.metrics import route_template

logger = logging.getLogger(__name__)

refusals = Counter(
    "travel_refusals_total",
    "Requests refused: 401, 403, 429, and 404 on a booking reference.",
    ["status", "code"],
)

REFUSED_STATUSES = frozenset({401, 403, 429})
PROBED_ROUTE_PREFIX = "api/v1/bookings/{reference}/"
DEFAULT_CODES = {
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    429: "throttled",
}
BY_CLIENT_KEY = "refusals:by-client:"
WINDOW_MINUTES = 60
BY_CLIENT_TTL_SECONDS = (WINDOW_MINUTES + 5) * 60


def is_refusal(request, status: int) -> bool:
    if status in REFUSED_STATUSES:
        return True
    return status == 404 and route_template(request).startswith(PROBED_ROUTE_PREFIX)


def refusal_code(request, response) -> str:
    """The contract's code from the body, or what the status stands for
    (`locked_out` for django-axes's answer to a locked-out admin login)."""
    if getattr(request, "axes_locked_out", False):
        return "locked_out"
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        return data["code"]
    return DEFAULT_CODES.get(response.status_code, "refused")


class RefusalAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 401 and is_refusal(request, response.status_code):
            record_refusal(request, response.status_code, refusal_code(request, response))
        return response


def record_refusal(request, status: int, code: str, now: datetime | None = None) -> None:
    user = getattr(request, "user", None)
    who = str(user.pk) if user is not None and user.is_authenticated else "anonymous"
    client = client_address(request)
    logger.info(
        "refused %s %s from %s: %s %s (user %s)",
        request.method,
        request.path[:200],
        client,
        status,
        code,
        who,
        extra={
            "event": "refusal",
            "user": who,
            "method": request.method,
            "path": request.path[:200],
            "client": client,
            "status": status,
            "code": code,
        },
    )
    refusals.labels(status=str(status), code=code).inc()
    _count_for_client(client, now or timezone.now())


def _minute_key(moment: datetime) -> str:
    return BY_CLIENT_KEY + f"{moment:%Y%m%d%H%M}"


def _count_for_client(client: str, now: datetime) -> None:
    key = _minute_key(now)
    try:
        with get_redis_connection("default").pipeline(transaction=False) as pipe:
            pipe.zincrby(key, 1, client or "unknown")
            pipe.expire(key, BY_CLIENT_TTL_SECONDS)
            pipe.execute()
    except RedisError as exc:
        logger.warning("could not count a refusal in Redis: %r", exc)


def top_refused_clients(now: datetime, limit: int = 5) -> list[tuple[str, int]]:
    """The client addresses refused most in the last WINDOW_MINUTES (the
    current minute included), most first, across every process."""
    keys = [_minute_key(now - timedelta(minutes=m)) for m in range(WINDOW_MINUTES)]
    totals = get_redis_connection("default").zunion(keys, withscores=True)
    ranked = sorted(
        ((member.decode(), int(score)) for member, score in totals),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return ranked[:limit]
