"""The base of every domain error, and the errors more than one app raises.
Apps raise subclasses that carry a stable machine code and an HTTP status;
`config.api.errors` turns them into the API's error bodies, so services never
know about HTTP responses."""


class DomainError(Exception):
    status_code = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."
    retry_after: int | None = None

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    """Input that only a service can judge (it needs the data): the same 400
    body as a serializer's. `errors` is `[{field, code, detail}]`."""

    status_code = 400
    code = "validation_error"
    default_detail = "The request is not valid."

    def __init__(self, errors: list[dict], detail: str | None = None):
        super().__init__(detail, errors=errors)


class CapacityBelowCommitted(DomainError):
    code = "capacity_below_committed"
    default_detail = "The new capacity is below what is already held and booked."


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "A dependency is unavailable; try again shortly."
    retry_after = 5
