"""The test suite: real PostgreSQL and Redis, fast password hashing, and the
throttles off unless a test turns them on."""

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, REST_FRAMEWORK, env, replica_databases

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_travel")}
# The standby `scripts/services.sh replica` starts (scripts/test.sh passes its
# URL), never DATABASE_REPLICA_URLS: the processes tests start inherit the
# environment. As a test mirror it reads the test database the primary's WAL
# brings it; reads go there only in tests that list it in READ_REPLICAS.
_test_replicas = replica_databases(
    env.list("TEST_DATABASE_REPLICA_URLS", default=[]), DATABASES["default"]
)
DATABASES = {
    "default": DATABASES["default"],
    **{
        alias: {**replica, "NAME": DATABASES["default"]["NAME"], "TEST": {"MIRROR": "default"}}
        for alias, replica in _test_replicas.items()
    },
}
READ_REPLICAS = []
CACHES["default"]["KEY_PREFIX"] = env("REDIS_KEY_PREFIX", default="travel-test")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
WHITENOISE_AUTOREFRESH = True
# Django's own test backend (pytest-django sets it in-process; the workers
# that tests start get it from here).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# The relay and the deliveries take their work at once; the tests of their
# wait set it themselves.
EVENTS_RELAY_BATCH_WAIT_MS = env.int("EVENTS_RELAY_BATCH_WAIT_MS", default=0)
WEBHOOK_ROUND_WAIT_MS = env.int("WEBHOOK_ROUND_WAIT_MS", default=0)
