"""The `Idempotency-Key` request header (docs/api.md, Bookings: Idempotency;
Payments): one rule for every endpoint that takes it, and the header that
marks a replayed answer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

HEADER = "Idempotency-Key"
# On an answer that an earlier request with the same key made.
REPLAYED = {"Idempotent-Replayed": "true"}


def idempotency_key(request) -> str | None:
    """The request's key, None without one; 400 `validation_error` unless it
    is 1 to 255 printable ASCII characters."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not all(" " <= ch <= "~" for ch in key):
        detail = "An Idempotency-Key is 1 to 255 printable ASCII characters."
        raise exceptions.ValidationError({HEADER: [exceptions.ErrorDetail(detail, code="invalid")]})
    return key


def idempotency_header(effect: str) -> OpenApiParameter:
    """The header in the OpenAPI schema; `effect` says what a repeat does."""
    return OpenApiParameter(
        HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=False,
        description=f"1 to 255 printable ASCII characters; {effect}",
    )
