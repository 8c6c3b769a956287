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
from django.http import HttpResponse
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.renderers import JSONRenderer

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
    """The paginated answer of a public search. `results()` builds the
    queryset, paginates it through `view.paginate_queryset` and serializes the
    page; it runs only on a miss, so a hit builds no queryset at all.

    A cached answer is the page's rendered JSON (`results`) and the count of
    every match; a hit answers those bytes as they are, without DRF's
    Response, its renderer or the serializers. The links (`next`,
    `previous`) are built from each request itself, and the body is put
    together by `_paginated_body` on a miss and a hit alike, so both are the
    same bytes. Answers other than JSON (the browsable API in development)
    and staff's are never cached."""
    entry = _Entry.of(view, scope, query)
    if entry is None:
        return view.get_paginated_response(results())
    cached = entry.read()
    if cached is None:
        data = results()
        count, page_json = view.paginator.page.paginator.count, _RENDERER.render(data)
        entry.write(count, page_json)
    else:
        count, page_json = cached
        view.paginate_queryset(_CachedPage(count))
    return _paginated_body(view.paginator, count, page_json)


# DRF's renderer, with the settings DRF renders every answer with (compact, UTF-8).
_RENDERER = JSONRenderer()


def _paginated_body(paginator, count: int, page_json: bytes) -> HttpResponse:
    """What `PageNumberPagination.get_paginated_response` answers, as bytes:
    its fields in its order, the page spliced in already rendered."""
    links = {
        "count": count,
        "next": paginator.get_next_link(),
        "previous": paginator.get_previous_link(),
    }
    body = _RENDERER.render(links)[:-1] + b',"results":' + page_json + b"}"
    return HttpResponse(body, content_type=_RENDERER.media_type)


class _CachedPage:
    """What Django's Paginator needs of a cached page to number it and link
    its neighbours: the count of every match (its items are already
    rendered)."""

    def __init__(self, count: int):
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, _slice) -> list:
        return []


class _Entry:
    """One query's cache entry. Its key is the normalized query; its value
    starts with the scope's version it was read under, and a hit is an entry
    of the scope's current version. So the version and the entry are read
    in one round trip (MGET), and a bump leaves every older entry unread."""

    def __init__(self, key: str, version_key: str):
        self.key, self.version_key = key, version_key
        self.version = 0

    @classmethod
    def of(cls, view, scope: str | None, query: dict) -> "_Entry | None":
        """None when this answer is not to be cached: no scope (staff, no
        date or city), the cache off, or not a JSON answer."""
        if scope is None or settings.SEARCH_CACHE_SECONDS <= 0:
            return None
        request, paginator = view.request, view.paginator
        # Answers are compact JSON unless the client asked for another
        # renderer or an indent (`Accept: application/json; indent=2`).
        if getattr(request, "accepted_media_type", None) != _RENDERER.media_type:
            return None
        normalized = {name: value for name, value in query.items() if value is not None}
        normalized["page"] = request.query_params.get(paginator.page_query_param) or "1"
        normalized["page_size"] = paginator.get_page_size(request)
        canonical = json.dumps(normalized, sort_keys=True, cls=DjangoJSONEncoder)
        return cls(cache.make_key(f"search:{scope}:{canonical}"), _version_key(scope))

    def read(self) -> tuple[int, bytes] | None:
        """(count, the page's JSON) if cached at the current version; None on
        a miss, or when Redis does not answer (then `write` is skipped)."""
        try:
            version, entry = _redis().mget(self.version_key, self.key)
        except RedisError as exc:
            logger.info("search cache skipped: %r", exc)
            self.key = None
            return None
        self.version = int(version or 0)
        if entry is None:
            return None
        entry_version, count, page_json = entry.split(b":", 2)
        if int(entry_version) != self.version:
            return None
        return int(count), page_json

    def write(self, count: int, page_json: bytes) -> None:
        """Tagged with the version read before the database was, so a bump
        made meanwhile leaves this answer unread."""
        if self.key is None:
            return
        value = b"%d:%d:" % (self.version, count) + page_json
        try:
            _redis().set(self.key, value, ex=max(1, round(settings.SEARCH_CACHE_SECONDS)))
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
