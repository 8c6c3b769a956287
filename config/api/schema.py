"""The OpenAPI document describes the error answers too (docs/api.md, Errors), so a
client generator, and schemathesis, know every body the API can send.

`AutoSchema` adds the shared `Error` body to every operation under the statuses
it can answer whatever the view: 400 when it takes input (and 413 when it
takes a body), 401/403 when it needs a login, 404 for a resource by id or a
page out of range, 429 (throttles) and 503 (a dependency down). Views name
their domain statuses (409, 422) with
`extend_schema(responses={409: error(409), ...})`.

`add_operations_endpoints` documents /healthz, /readyz and /metrics, which are
plain Django views (load balancers probe them without DRF's negotiation).
"""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class TokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` (knox underneath), described as DRF's
    own token scheme was, so generated clients do not change."""

    target_class = "config.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path of the field, as `items.0.seats`.")
    code = serializers.CharField()
    detail = serializers.CharField()


class UnavailableItemSerializer(serializers.Serializer):
    item = serializers.IntegerField(help_text="Index of the item in the request.")
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    """Every 4xx and 5xx answer: a stable machine code, a human sentence, and
    the fields of that error."""

    code = serializers.CharField(help_text="Stable machine code, as `insufficient_inventory`.")
    detail = serializers.CharField()
    errors = FieldErrorSerializer(many=True, required=False, help_text="400 only.")
    unavailable = UnavailableItemSerializer(
        many=True, required=False, help_text="409 insufficient_inventory only."
    )

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    400: "validation_error: bad JSON, wrong types or values; `errors` names the fields.",
    401: "not_authenticated: no or bad credentials (header WWW-Authenticate: Token).",
    402: "payment_required: a customer pays through the booking's payments.",
    403: "permission_denied: not allowed for this user.",
    404: "not_found: no such resource, or not yours.",
    409: "A conflict with the current state; `code` says which (docs/api.md, Errors).",
    413: "request_too_large: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB).",
    422: "idempotency_key_reused: the Idempotency-Key was used with another body.",
    429: "throttled: too many requests; header Retry-After.",
    503: "service_unavailable: a dependency is down; header Retry-After.",
}


def error(status: int) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if str(status) not in responses:
                response = self._get_response_for_code(
                    ErrorSerializer, str(status), direction=direction
                )
                response["description"] = ERROR_DESCRIPTIONS[status]
                responses[str(status)] = response
        return responses

    def _error_statuses(self) -> list[int]:
        statuses = [429, 503]
        takes_input = self.method in ("POST", "PUT", "PATCH") or bool(self._get_filter_parameters())
        if takes_input or self._is_list_view():
            statuses.append(400)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.append(413)
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses += [401, 403]
        if "{" in self.path or self._is_list_view():
            statuses.append(404)
        return statuses


_OK = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
_READY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
    "required": ["status", "checks"],
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def add_operations_endpoints(result, generator, request, public):
    """drf-spectacular postprocessing hook: the operations endpoints."""
    paths = result.setdefault("paths", {})
    paths["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness: 200 while the process runs.",
            "tags": ["operations"],
            "security": [{}],
            "responses": {"200": _json(_OK, "The process runs.")},
        }
    }
    paths["/readyz"] = {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness: 200 when PostgreSQL and Redis answer, else 503.",
            "tags": ["operations"],
            "security": [{}],
            "responses": {
                "200": _json(_READY, "Every dependency answers."),
                "503": _json(_READY, "Some dependency fails; `checks` says which."),
            },
        }
    }
    paths["/metrics"] = {
        "get": {
            "operationId": "metrics",
            "summary": "Figures in Prometheus text format.",
            "tags": ["operations"],
            "security": [{}],
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    return result
