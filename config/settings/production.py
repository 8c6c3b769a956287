"""Production: DEBUG off, secrets only from the environment, hardened cookies
and headers. Put TLS in front (a load balancer) and set ALLOWED_HOSTS."""

from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config

from .base import *  # noqa: F403
from .base import LOG_LEVEL, STORAGES, env

DEBUG = False
# Only from the environment: no default, and never the development key.
SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("dev-only-", "django-insecure-")):
    raise ImproperlyConfigured("SECRET_KEY must be a long random value set for this deployment.")
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
STORAGES["staticfiles"] = {
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}
WHITENOISE_USE_FINDERS = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# Receivers are reached over https only.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=True)
# The sandbox provider takes anyone's word for a card: only when asked for by name.
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="stripe")
