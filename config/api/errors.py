"""One place that turns every error under /api/ into the contract's body:
`{"code": "...", "detail": "..."}` plus the fields of that error."""

import logging
import math

import redis.exceptions
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.exceptions import DomainError, ServiceUnavailable

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.ParseError: "validation_error",
    exceptions.ValidationError: "validation_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "throttled",
}

_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def flatten_errors(detail, path: str = "") -> list[dict]:
    """DRF's nested error detail as `[{field, code, detail}]` with dotted paths
    (`items.0.seats`); errors not tied to one field take their parent's path."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                child = path or "non_field_errors"
            else:
                child = f"{path}.{key}" if path else str(key)
            found.extend(flatten_errors(value, child))
        return found
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [_leaf(item, path) for item in detail]
        found = []
        for index, value in enumerate(detail):
            found.extend(flatten_errors(value, f"{path}.{index}" if path else str(index)))
        return found
    return [_leaf(detail, path)]


def _leaf(message, path: str) -> dict:
    return {
        "field": path or "non_field_errors",
        "code": getattr(message, "code", None) or "invalid",
        "detail": str(message),
    }


def error_response(status_code: int, code: str, detail: str, headers=None, **extra) -> Response:
    return Response({"code": code, "detail": detail, **extra}, status=status_code, headers=headers)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the API accepts."
    default_code = "request_too_large"


def _as_api_error(exc):
    """Django's and the dependencies' exceptions as the API errors they answer."""
    if isinstance(exc, RequestDataTooBig):
        # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, checked as DRF reads the body.
        return RequestTooLarge()
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # docs/api.md: every body is JSON; anything else is a malformed request.
        return exceptions.ValidationError(
            {
                "non_field_errors": [
                    exceptions.ErrorDetail(
                        "The body must be JSON (Content-Type: application/json).",
                        code="unsupported_media_type",
                    )
                ]
            }
        )
    if isinstance(exc, _UNAVAILABLE) or (
        isinstance(exc, DatabaseError) and _is_connection_problem(exc)
    ):
        return ServiceUnavailable()
    return exc


def code_for_exception(exc) -> str:
    """The contract's code an exception answers with (`server_error` if none)."""
    exc = _as_api_error(exc)
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, exceptions.APIException):
        return _code_for(exc)
    return "server_error"


def exception_handler(exc, context):
    converted = _as_api_error(exc)
    if isinstance(converted, ServiceUnavailable) and converted is not exc:
        logger.warning("dependency unavailable: %r", exc)
    exc = converted

    if isinstance(exc, DomainError):
        set_rollback()
        headers = {}
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc.status_code, exc.code, exc.detail, headers, **exc.extra)

    if not isinstance(exc, exceptions.APIException):
        return None

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled):
        # Always a Retry-After (the contract's), even when DRF cannot say how long.
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 0)))
    code = _code_for(exc)
    if code == "validation_error":
        errors = flatten_errors(exc.detail)
        return error_response(
            exc.status_code, code, "The request is not valid.", headers, errors=errors
        )
    return error_response(exc.status_code, code, str(exc.detail), headers)


def _code_for(exc: exceptions.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return exc.default_code if isinstance(exc.default_code, str) else "error"


def _is_connection_problem(exc: DatabaseError) -> bool:
    text = str(exc).lower()
    return "connection" in text or "server closed" in text or "terminating" in text


# --- Django-level handlers, for what never reaches a DRF view -------------------------


def _json_path(request) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics"))


@csrf_exempt
def page_not_found(request, exception=None):
    """Also the catch-all view of /api/ (config/urls.py): exempt from CSRF, as
    DRF's views are, or a POST to an unknown URL would be Django's HTML 403
    instead of the contract's JSON 404."""
    if _json_path(request):
        return JsonResponse(
            {"code": "not_found", "detail": "Not found."}, status=status.HTTP_404_NOT_FOUND
        )
    from django.views.defaults import page_not_found as html_not_found

    return html_not_found(request, exception)


def server_error(request):
    if _json_path(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Internal server error."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


def bad_request(request, exception=None):
    if _json_path(request):
        return JsonResponse(
            {"code": "validation_error", "detail": "Bad request.", "errors": []},
            status=status.HTTP_400_BAD_REQUEST,
        )
    from django.views.defaults import bad_request as html_bad_request

    return html_bad_request(request, exception)
