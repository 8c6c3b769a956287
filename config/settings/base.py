"""Settings shared by every environment. Everything comes from the environment,
with defaults that point at the servers `scripts/services.sh` starts."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from csp.constants import NONCE

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.BackOfficeAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "corsheaders",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "locking",
    "accounts",
    "flights",
    "hotels",
    "bookings",
    "events",
    "payments",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",
    "config.metrics.HttpMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.csp.DocumentCSPMiddleware",
    "config.refusals.RefusalAuditMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# API paths are exact: no redirect to a slash-terminated URL (a POST would lose
# its body, and /healthz must answer where it is).
APPEND_SLASH = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL ---------------------------------------------------------------
# The defaults are the servers scripts/services.sh starts (LOCAL_PG_PORT and
# LOCAL_REDIS_PORT move them, e.g. to run two checkouts side by side).
LOCAL_PG_PORT = env.int("LOCAL_PG_PORT", default=55432)
LOCAL_REDIS_PORT = env.int("LOCAL_REDIS_PORT", default=56379)
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"postgres://travel@127.0.0.1:{LOCAL_PG_PORT}/travel"
    ),
}
# Connection reuse (README, Performance): persistent connections, or psycopg's
# pool with DATABASE_POOL=<max connections per process> (then CONN_MAX_AGE is 0).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DATABASE_POOL = env.int("DATABASE_POOL", default=0)
if DATABASE_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
# Server-side parameter binding and prepared statements: psycopg prepares a
# statement once a connection has run it DATABASE_PREPARE_THRESHOLD times, and
# PostgreSQL then skips parsing and planning it (measured with pg_stat_statements:
# planning was most of PostgreSQL's time on a hold). Behind PgBouncer in
# transaction mode (older than 1.21, or without max_prepared_statements) set
# DATABASE_PREPARE_THRESHOLD=off.
_prepare_threshold = env("DATABASE_PREPARE_THRESHOLD", default="2")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=env.bool("DATABASE_SERVER_SIDE_BINDING", default=True),
    prepare_threshold=None if _prepare_threshold.lower() == "off" else int(_prepare_threshold),
)
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DATABASE_CONNECT_TIMEOUT", default=5
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Read replicas (README, Scaling out): replica_0, replica_1, ... -----------
# Each one is the primary's settings with the replica's address; config.replicas
# routes anonymous search and the staff dashboard to them, all else to default.
def replica_databases(urls: list[str], primary: dict) -> dict:
    def replica(url: str) -> dict:
        address = env.db_url_config(url)
        where = {key: address[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
        return {**primary, "OPTIONS": dict(primary.get("OPTIONS", {})), **where}

    return {f"replica_{n}": replica(url) for n, url in enumerate(urls)}


DATABASES.update(
    replica_databases(env.list("DATABASE_REPLICA_URLS", default=[]), DATABASES["default"])
)
READ_REPLICAS = [alias for alias in DATABASES if alias != "default"]
REPLICA_COOL_DOWN_SECONDS = env.float("REPLICA_COOL_DOWN_SECONDS", default=30.0)
DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]

# --- Redis: cache and locks on one DB number, the Celery broker on the next ---
REDIS_URL = env("REDIS_URL", default=f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0")


def _redis_db(url: str, offset: int) -> str:
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + offset}"))


REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
# After a Redis failure each process skips Redis this long (locking.breaker).
REDIS_COOL_DOWN_SECONDS = env.float("REDIS_COOL_DOWN_SECONDS", default=5.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("REDIS_KEY_PREFIX", default="travel"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "CONNECTION_POOL_CLASS": "locking.breaker.ConnectionPool",
            "CONNECTION_POOL_KWARGS": {"max_connections": 100, "retry_on_timeout": False},
        },
    },
}
# The throttles' counters: the same Redis, but a Redis error reads as "no
# history" (logged), so rate limiting fails open (config/api/throttles.py).
CACHES["throttle"] = {
    **CACHES["default"],
    "OPTIONS": {**CACHES["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": True},
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=_redis_db(REDIS_URL, 1))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# No results are stored, so beat needs no "celery.backend_cleanup" entry.
CELERY_RESULT_EXPIRES = None
# Reliability (README, "Background processes in production"): a task's message
# is acknowledged only once it has run, so a worker that dies mid-task leaves it
# to be delivered again; every task is safe to run twice (the sweep and the
# reconciliation are idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# One message at a time per worker process: a long sweep never sits on
# prefetched messages another process could run.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Defaults for tasks that set none; the bookings tasks set their own.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Redis redelivers a message not acknowledged within this time: far longer than
# the longest task (hard limit 960 s, the reconciliation), or a running task
# would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # keep retrying while the broker is away

# --- Auth -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Authentication and abuse hardening (README, Observability and security) -----------
# Proxies in front of the app whose X-Forwarded-For is trusted: 0 (the default,
# `make run`) reads the client from the connection; behind one load balancer that
# appends the address it saw, 1. Throttles, the admin's lockouts and the refusal
# audit all read the client address through config/client_address.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AUTHENTICATION_BACKENDS = [
    "accounts.backends.AdminLoginLockout",  # django-axes, before the password check
    "django.contrib.auth.backends.ModelBackend",
]
# Admin logins: after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is locked out for AXES_COOLOFF_HOURS (staff see and
# clear lockouts under Admin -> Axes). The API has its throttles instead.
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
# Tokens (django-rest-knox): only their SHA-512 digests are stored; each expires
# TOKEN_TTL_HOURS after it was issued and is never refreshed on use, so
# authenticating a request writes nothing.
TOKEN_TTL_HOURS = env.int("TOKEN_TTL_HOURS", default=720)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
# Browsers' apps on these origins may call the API (nothing else is shared).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
# Content-Security-Policy on every answer: scripts only from this origin (the
# admin has no inline script, and /api/docs/ serves the Swagger UI's start-up
# script as a file), no plugins, no framing. Inline styles stay allowed: the
# admin's templates, the Swagger UI and the dashboard's SVG charts use them.
# A page of our own that needs an inline script gives it
# nonce="{{ request.csp_nonce }}".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- API ----------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
THROTTLING = env("THROTTLING", default="on").lower() not in {"off", "0", "false", "no"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Bodies are JSON of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes and
    # API_MAX_JSON_DEPTH levels; answers are JSON only (local.py adds the
    # browsable API for development).
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.negotiation.JSONFallbackNegotiation",
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": (
        [
            "config.api.throttles.AnonRateThrottle",
            "config.api.throttles.UserRateThrottle",
            "config.api.throttles.ScopedRateThrottle",
        ]
        if THROTTLING
        else []
    ),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_RATE_ANON", default="120/min"),
        "user": env("THROTTLE_RATE_USER", default="600/min"),
        "auth": env("THROTTLE_RATE_AUTH", default="20/min"),
        "booking_create": env("THROTTLE_RATE_BOOKING_CREATE", default="60/min"),
    },
    # X-Forwarded-For is trusted only from TRUSTED_PROXY_COUNT proxies (above).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Travel inventory API",
    "DESCRIPTION": "Flight seats and hotel room-nights, held, confirmed and never sold twice.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"EventTypeEnum": "events.models.EventType"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.add_operations_endpoints",
    ],
}

# --- Business rules (docs/api.md) ----------------------------------------------------------
HOLD_TTL_SECONDS = env.int("HOLD_TTL_SECONDS", default=900)
HOLD_MAX_EXTENSIONS = env.int("HOLD_MAX_EXTENSIONS", default=1)
MAX_ACTIVE_HOLDS_PER_CUSTOMER = env.int("MAX_ACTIVE_HOLDS_PER_CUSTOMER", default=5)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)

# --- Search cache (config/search_cache.py): public search answers, seconds; 0 turns it off ---
SEARCH_CACHE_SECONDS = env.float("SEARCH_CACHE_SECONDS", default=5.0)

# --- Logging ----------------------------------------------------------------------------
# LOG_FORMAT: plain (lines for a developer) or json (production's default).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- Locks (docs/design.md, Locks) -------------------------------------------------------------
LOCK_TIMEOUT_SECONDS = env.float("LOCK_TIMEOUT_SECONDS", default=10.0)
LOCK_WAIT_SECONDS = env.float("LOCK_WAIT_SECONDS", default=5.0)
# Per-row Redis locks in front of the inventory rows; see README, Performance.
INVENTORY_REDIS_LOCKS = env.bool("INVENTORY_REDIS_LOCKS", default=False)

# --- Expiry sweep (docs/design.md, Expiry) ------------------------------------------------------
EXPIRY_BATCH_SIZE = env.int("EXPIRY_BATCH_SIZE", default=500)
# The sweep refreshes its single-flight lock after every batch, so this only
# has to outlast one batch; it is also how long a sweep killed mid-run (worker
# crash) keeps the next sweeps out.
EXPIRY_SWEEP_LOCK_SECONDS = env.float("EXPIRY_SWEEP_LOCK_SECONDS", default=15.0)
SWEEP_RUN_RETENTION_DAYS = env.int("SWEEP_RUN_RETENTION_DAYS", default=7)
RECONCILIATION_RUN_RETENTION_DAYS = env.int("RECONCILIATION_RUN_RETENTION_DAYS", default=90)

# --- Events out: webhooks and customer emails (README, Events and webhooks) ---------------------
# Receivers on private, loopback or link-local addresses are refused (at
# creation and again on the address resolved for each delivery) unless this
# is on: for development and tests only.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Attempts per delivery, and the backoff between them: base * 4^(n-1), ±20 %
# jitter. 8 attempts from 15 s: 15 s, 1 min, 4 min, 16 min, 1 h, 4 h, 17 h (about a day).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=15.0)
# An endpoint failing every attempt this long is turned off.
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=72.0)
# How long a worker owns a delivery it is attempting: past it (a worker
# killed mid-attempt), the catch-up hands the delivery to another.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
# How long a relay task, and an endpoint's delivery task, let work gather
# before taking it, so each run carries many events instead of one or two
# (README, "Events, webhooks and emails"): latency traded for worker CPU.
# 500 each: under the hot load, 0.536 of the floor with event-to-delivered
# p95 0.96 s, against 0.499 and 0.42 s at 200 (side-by-side, events variant).
EVENTS_RELAY_BATCH_WAIT_MS = env.int("EVENTS_RELAY_BATCH_WAIT_MS", default=500)
WEBHOOK_ROUND_WAIT_MS = env.int("WEBHOOK_ROUND_WAIT_MS", default=500)
# Deliveries and emails run on their own queues, consumed by their own worker
# (Procfile `webhooks`), so a slow receiver never holds up the sweep.
CELERY_TASK_ROUTES = {
    "events.tasks.deliver_webhook": {"queue": "webhooks"},
    "events.tasks.deliver_endpoint": {"queue": "webhooks"},
    "events.tasks.dispatch": {"queue": "webhooks"},
    "events.tasks.send_customer_email": {"queue": "emails"},
    # Calls out of the service (the sandbox's callback, the provider's refunds).
    "payments.tasks.send_sandbox_webhook": {"queue": "webhooks"},
    "payments.tasks.issue_refund": {"queue": "webhooks"},
}
# Email: EMAIL_URL as django-environ reads it (smtp://user:password@host:587/?tls=True,
# smtp+ssl://..., consolemail://, filemail:///path); EMAIL_BACKEND on its own picks
# any other backend, a django-anymail one with its ANYMAIL settings for instance.
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
EMAIL_BACKEND = env("EMAIL_BACKEND", default=vars()["EMAIL_BACKEND"])
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Travel inventory <bookings@localhost>")
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)

# --- Payments (docs/api.md, Payments) -------------------------------------------------------------
# `sandbox` (a provider inside this service) or `stripe`; production refuses
# the sandbox unless it is set explicitly.
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="sandbox")
# Signs and verifies the sandbox's webhooks (Standard Webhooks: whsec_ + base64).
PAYMENT_WEBHOOK_SECRET = env(
    "PAYMENT_WEBHOOK_SECRET", default="whsec_ZGV2ZWxvcG1lbnQtb25seS1zYW5kYm94LXNlY3JldA=="
)
PAYMENT_WINDOW_SECONDS = env.int("PAYMENT_WINDOW_SECONDS", default=600)
MAX_PAYMENT_ATTEMPTS = env.int("MAX_PAYMENT_ATTEMPTS", default=3)
# Hours before the first service start: percent refunded, the first tier that applies.
REFUND_POLICY = env("REFUND_POLICY", default="168:100,24:50,0:0")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Where the stripe library sends its requests (tests point it at a local stub).
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
