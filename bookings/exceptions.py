"""The bookings' domain errors (docs/api.md, Errors). `config.api.errors` renders
each as `{"code", "detail", ...extra}` with its status."""

from config.exceptions import DomainError


class InsufficientInventory(DomainError):
    code = "insufficient_inventory"
    default_detail = "Not enough seats or rooms are available."

    def __init__(self, unavailable: list[dict]):
        super().__init__(unavailable=unavailable)


class HoldExpired(DomainError):
    code = "hold_expired"
    default_detail = "The hold has expired; its seats and rooms are back on sale."


class InvalidState(DomainError):
    code = "invalid_state"

    def __init__(self, status: str, action: str):
        super().__init__(f"A booking that is {status} cannot be {action}.", status=status)


class TooManyActiveHolds(DomainError):
    code = "too_many_active_holds"

    def __init__(self, limit: int):
        super().__init__(f"A customer may have at most {limit} holds at once.", limit=limit)


class ExtensionLimit(DomainError):
    code = "extension_limit"

    def __init__(self, limit: int):
        super().__init__(f"A hold can be extended at most {limit} time(s).", limit=limit)


class PaymentReferenceMismatch(DomainError):
    code = "payment_reference_mismatch"
    default_detail = "The booking is already confirmed with another payment reference."


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being handled."
    retry_after = 1


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request body."


class SeatUnavailable(DomainError):
    code = "seat_unavailable"
    default_detail = "A chosen seat is held, booked or blocked."

    def __init__(self, unavailable_seats: list[str]):
        super().__init__(unavailable_seats=unavailable_seats)


class CancellationClosed(DomainError):
    code = "cancellation_closed"
    default_detail = "The booking's first service has started: it can no longer be cancelled."


class RefundAboveTotal(DomainError):
    status_code = 400
    code = "validation_error"

    def __init__(self, total):
        detail = f"A refund is at most what was paid ({total})."
        field = {"field": "refund_amount", "code": "max_value", "detail": detail}
        super().__init__(detail, errors=[field])


class PaymentRequired(DomainError):
    status_code = 402
    code = "payment_required"
    default_detail = "Pay through the booking's payments; the provider's confirmation confirms it."


class BookingNotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "No booking with this reference."


class NotPermitted(DomainError):
    status_code = 403
    code = "permission_denied"
    default_detail = "You do not have permission to do this."
