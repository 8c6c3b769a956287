"""Payments' domain errors (docs/api.md, Errors)."""

from config.exceptions import DomainError


class PaymentAttemptsExhausted(DomainError):
    code = "payment_attempts_exhausted"

    def __init__(self, limit: int):
        super().__init__(f"A booking may start at most {limit} payments.", limit=limit)


class InvalidSignature(DomainError):
    status_code = 400
    code = "invalid_signature"
    default_detail = "The webhook's signature is missing, wrong or stale."


class UnknownProvider(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "No payment provider by this name."
