"""The base of every domain error. Apps raise subclasses that carry a stable
machine code and an HTTP status; `config.api.errors` turns them into the API's
error bodies, so services never know about HTTP responses."""


class DomainError(Exception):
    status_code = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "A dependency is unavailable; try again shortly."
    retry_after = 5
