"""DRF's throttles, counting in Redis through the `throttle` cache.

That cache is the same Redis as the default one but ignores (and logs) Redis
errors: when Redis is down a throttle sees no history and lets the request
through. Rate limiting fails open; it is not worth refusing paying customers
over, and the database keeps every invariant without Redis. Other users of the
cache keep seeing Redis errors.

Rates are read from the settings at each request (DRF reads them once, at
import), so `override_settings` and a reload of the settings take effect.
"""

from django.core.cache import caches
from rest_framework import throttling
from rest_framework.settings import api_settings

CACHE_ALIAS = "throttle"


class _RedisBacked:
    @property
    def cache(self):
        return caches[CACHE_ALIAS]

    @property
    def THROTTLE_RATES(self):  # noqa: N802 (DRF's name)
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonRateThrottle(_RedisBacked, throttling.AnonRateThrottle):
    """Anonymous callers, by client address (see NUM_PROXIES)."""


class UserRateThrottle(_RedisBacked, throttling.UserRateThrottle):
    """Every caller, by user (or by address when anonymous)."""


class ScopedRateThrottle(_RedisBacked, throttling.ScopedRateThrottle):
    """Views that name a `throttle_scope`: `auth`, `booking_create`."""
