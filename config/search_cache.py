"""Search answers cached in Redis for a few seconds (`SEARCH_CACHE_SECONDS`):
travel traffic is mostly looking, and many people look at the same day's
flights and the same city's hotels at once.

An answer is cached under its normalized query (the validated filters, sorted,
with the page asked for) and the current *version* of the inventory it reads:
one version per flight departure date (UTC), one per hotel city. Whatever
changes availability (holds and every transition, the expiry sweep, staff's
cabin, seat and night changes, reconcile's repairs) bumps the versions it
touched once its transaction commits, so the old answers become unreachable
at once instead of when they expire. A bump that is lost (Redis down at that
moment) leaves answers at most `SEARCH_CACHE_SECONDS` old.

Only the public answer is cached: staff see counters and get the database's
figures. Searches that name no date (flights) or no city (hotels) are not
cached: no one version covers them. A hold never reads this cache; the rows it
locks decide. With Redis down (or in the breaker's cool-down, see
locking/breaker.py) search answers from PostgreSQL.
"""

import json
import logging
from collections.abc import Callable, Iterable
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from flights.models import Flight, FlightInventory
from hotels.models import Hotel, RoomNight

logger = logging.getLogger(__name__)

# A version must outlive every answer cached under it: one that expired would
# count again from 1 and could reach an old answer of that number.
VERSION_SECONDS = 24 * 3600


def flight_scope(departure_date: date) -> str:
    return f"flights:{departure_date.isoformat()}"


def hotel_scope(city: str) -> str:
    """Cities are searched in any case (`city__iexact`)."""
    return f"hotels:{city.strip().lower()}"


# --- Reading ------------------------------------------------------------------------------


def search_response(view, *, scope: str | None, query: dict, results: Callable[[], list]):
    """The paginated answer of a public search. `results()` paginates the
    queryset through `view.paginate_queryset` and serializes the page; it runs
    only on a miss. The links (`next`, `previous`) are built from each request
    itself, so only `count` and `results` are cached."""
    key = _entry_key(view, scope, query)
    cached = _read(key) if key else None
    if cached is not None:
        view.paginate_queryset(_CachedPage(cached["count"], cached["results"]))
        return view.get_paginated_response(cached["results"])
    data = results()
    if key:
        _write(key, {"count": view.paginator.page.paginator.count, "results": data})
    return view.get_paginated_response(data)


class _CachedPage:
    """What Django's Paginator needs of a cached page: the count of every
    match, and the page itself (the only slice it asks for)."""

    def __init__(self, count: int, results: list):
        self._count, self._results = count, results

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, _slice) -> list:
        return self._results


def _entry_key(view, scope: str | None, query: dict) -> str | None:
    """The cache key of this query at the scope's current version; None when
    it is not to be cached or Redis does not answer."""
    if scope is None or settings.SEARCH_CACHE_SECONDS <= 0:
        return None
    request, paginator = view.request, view.paginator
    page = {
        "page": request.query_params.get(paginator.page_query_param) or "1",
        "page_size": paginator.get_page_size(request),
    }
    normalized = {name: value for name, value in query.items() if value is not None}
    canonical = json.dumps({**normalized, **page}, sort_keys=True, cls=DjangoJSONEncoder)
    try:
        version = int(_redis().get(_version_key(scope)) or 0)
    except RedisError as exc:
        logger.info("search cache skipped: %r", exc)
        return None
    return cache.make_key(f"search:{scope}:{version}:{canonical}")


def _read(key: str) -> dict | None:
    try:
        raw = _redis().get(key)
    except RedisError as exc:
        logger.info("search cache skipped: %r", exc)
        return None
    return None if raw is None else json.loads(raw)


def _write(key: str, answer: dict) -> None:
    body = json.dumps(answer, cls=DjangoJSONEncoder)
    try:
        _redis().set(key, body, ex=max(1, round(settings.SEARCH_CACHE_SECONDS)))
    except RedisError as exc:
        logger.info("search answer not cached: %r", exc)


# --- Invalidating -------------------------------------------------------------------------


def inventory_changed(model: type[Model], pks: Iterable[int]) -> None:
    """After the caller's transaction commits, bump the versions of the
    dates or cities of these FlightInventory or RoomNight rows (a no-op for
    any other model or no rows). Looked up after the commit, outside every
    row lock; a failure is logged, never raised into a change that stands."""
    pks = list(pks)
    if pks and model in (FlightInventory, RoomNight) and _caching():
        transaction.on_commit(lambda: _bump(_scopes_of(model, pks)), robust=True)


def rows_changed(cabins: Iterable[FlightInventory], night_pks: Iterable[int]) -> None:
    """The same for rows a hold or a transition already read: their cabins
    come with their flights, so their dates cost no query (and are not read
    at all while the cache is off)."""
    if _caching():
        scopes_changed(flight_dates={cabin.flight.departure_date for cabin in cabins})
        inventory_changed(RoomNight, night_pks)


def scopes_changed(*, flight_dates: Iterable[date] = (), cities: Iterable[str] = ()) -> None:
    """The same, for callers that know the dates or cities (staff's edits)."""
    scopes = {flight_scope(day) for day in flight_dates} | {hotel_scope(c) for c in cities}
    if scopes and _caching():
        transaction.on_commit(lambda: _bump(scopes), robust=True)


def _scopes_of(model: type[Model], pks: list[int]) -> set[str]:
    if model is FlightInventory:
        days = Flight.objects.filter(cabins__in=pks).values_list("departure_date", flat=True)
        return {flight_scope(day) for day in days.order_by().distinct()}
    cities = Hotel.objects.filter(room_types__nights__in=pks).values_list("city", flat=True)
    return {hotel_scope(city) for city in cities.order_by().distinct()}


def _bump(scopes: Iterable[str]) -> None:
    try:
        with _redis().pipeline(transaction=False) as pipe:
            for scope in sorted(scopes):
                key = _version_key(scope)
                pipe.incr(key)
                pipe.expire(key, VERSION_SECONDS)
            pipe.execute()
    except RedisError as exc:
        logger.warning("search cache versions %s not bumped: %r", sorted(scopes), exc)


def _caching() -> bool:
    """With the cache off nothing is cached under a version: none to bump."""
    return settings.SEARCH_CACHE_SECONDS > 0


def _version_key(scope: str) -> str:
    return cache.make_key(f"search-version:{scope}")


def _redis():
    return get_redis_connection("default")
