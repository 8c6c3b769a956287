"""Every write to payments: start one, act on a provider's webhook, confirm
with an offline payment, refund. Claim, pay, confirm: the hold is the claim,
and only the provider's signed word (or staff's offline reference) turns it
into a confirmed booking.

Locks follow the global order: the booking's row first (the transition's
lock), then its payments. No provider call ever runs inside a transaction."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, prefetch_related_objects
from django.utils import timezone

from bookings.exceptions import (
    BookingNotFound,
    HoldExpired,
    IdempotencyKeyInUse,
    InsufficientInventory,
    InvalidState,
    NotPermitted,
    PaymentReferenceMismatch,
)
from bookings.models import Booking, BookingStatus, BookingStatusChange
from bookings.selectors import ITEMS
from bookings.services.confirm import confirm_ended_locked, confirm_locked
from bookings.services.expire import expire_if_overdue
from bookings.services.transition import actor_kind, lock_booking, lock_one_of, require_held
from config.exceptions import ServiceUnavailable, ValidationFailed
from events.models import Event, EventType
from events.services import record_events
from payments.exceptions import PaymentAttemptsExhausted
from payments.models import (
    WEBHOOK_ONCE,
    Payment,
    PaymentStatus,
    ProcessedWebhook,
    Refund,
    RefundStatus,
)
from payments.providers import FAILED, REFUND_SUCCEEDED, SUCCEEDED, Outcome, provider

PENDING, SUCCEEDED_STATUS = PaymentStatus.PENDING, PaymentStatus.SUCCEEDED
OFFLINE = "offline"
# A payment that took money (and may give some back).
PAID = (SUCCEEDED_STATUS, PaymentStatus.PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class StartResult:
    payment: Payment
    created: bool  # False: the booking's pending payment, answered again
    # The payment an earlier request with the same Idempotency-Key started.
    replayed: bool = False


def start_payment(*, booking: Booking, actor, idempotency_key: str | None = None) -> StartResult:
    """A new pending payment of the whole booking with the configured
    provider, or the pending one if there is one. The hold is kept at least
    PAYMENT_WINDOW_SECONDS, so a customer who is paying does not lose it.
    A repeated `idempotency_key` answers the payment it started, whatever
    became of it and of the booking, and starts none."""
    adapter = provider()
    with transaction.atomic():
        result = _claim_payment(lock_booking(booking), actor, adapter.name, idempotency_key)
    return _started(result, adapter)


def start_payment_named(
    *, bookings: QuerySet[Booking], actor, idempotency_key: str | None = None
) -> StartResult:
    """`start_payment` for the booking its owner names by reference
    (`bookings`, as `selectors.booking_named` gives it): found, locked and
    read in one query. Only the customer who made the booking may pay."""
    adapter = provider()
    with transaction.atomic():
        booking = lock_one_of(bookings)
        if booking is None:
            raise BookingNotFound()
        if booking.customer_id != actor.pk:
            raise NotPermitted("Only the customer who made the booking may pay.")
        result = _claim_payment(booking, actor, adapter.name, idempotency_key)
    return _started(result, adapter)


def _started(result: StartResult | None, adapter) -> StartResult:
    """Ask the provider for a payment claimed in a committed transaction
    (never under the booking's lock). None: the hold was found overdue and
    its expiry committed."""
    if result is None:
        raise HoldExpired()
    if not result.created:
        return result
    payment = result.payment
    try:
        started = adapter.start(payment)
    except Exception as exc:  # the provider's own errors: no payment began
        Payment.objects.filter(pk=payment.pk, status=PENDING).update(
            status=PaymentStatus.FAILED,
            failure_reason=f"provider unavailable: {exc.__class__.__name__}",
            idempotency_key=None,  # the request was refused: it may be retried with its key
            updated_at=timezone.now(),
        )
        raise ServiceUnavailable("The payment provider did not answer; try again.") from exc
    payment.provider_id = started.provider_id
    payment.checkout_url = started.checkout_url
    payment.client_secret = started.client_secret
    payment.save(update_fields=["provider_id", "checkout_url", "client_secret"])
    return result


def _claim_payment(
    booking: Booking, actor, provider_name: str, key: str | None
) -> StartResult | None:
    """The payment's row, under the booking's lock (the caller's transaction):
    the one `key` started if it started one, else one pending at a time, at
    most MAX_PAYMENT_ATTEMPTS, on a hold that has not expired (None when it
    was overdue: it is expired now). Two requests with one key wait here for
    each other: the second finds the first one's payment."""
    attempts = list(booking.payments.exclude(provider=OFFLINE))  # a handful at most
    earlier = next((p for p in attempts if key and p.idempotency_key == key), None)
    if earlier is not None:
        return _replay(earlier)
    now = timezone.now()
    if expire_if_overdue(booking, now):
        return None
    require_held(booking, "paid")
    pending = next((p for p in attempts if p.status == PENDING), None)
    if pending is not None:
        return StartResult(pending, created=False)
    limit = settings.MAX_PAYMENT_ATTEMPTS
    if len(attempts) >= limit:
        raise PaymentAttemptsExhausted(limit)
    payment = Payment.objects.create(
        booking=booking,
        provider=provider_name,
        amount=booking.total_price,
        currency=booking.currency,
        created_by=actor,
        idempotency_key=key,
        created_at=now,
        updated_at=now,
    )
    _keep_hold_while_paying(booking, actor, now)
    return StartResult(payment, created=True)


def _replay(earlier: Payment) -> StartResult:
    """The payment a key started, answered again; IdempotencyKeyInUse while
    the request that started it still waits for the provider (the payment
    has no provider id yet: its answer is not known)."""
    if earlier.status == PENDING and not earlier.provider_id:
        raise IdempotencyKeyInUse()
    return StartResult(earlier, created=False, replayed=True)


def _keep_hold_while_paying(booking: Booking, actor, now) -> None:
    until = now + timedelta(seconds=settings.PAYMENT_WINDOW_SECONDS)
    if booking.expires_at >= until:
        return
    booking.expires_at = until
    booking.save(update_fields=["expires_at"])
    BookingStatusChange.objects.create(
        booking=booking,
        from_status=booking.status,
        to_status=booking.status,
        actor=actor,
        actor_kind=actor_kind(actor, booking),
        at=now,
        note=f"payment started; held until {until.isoformat()}",
    )


def handle_webhook(*, provider_name: str, body: bytes, headers) -> None:
    """Act on a provider's webhook once: verified before anything is read,
    checked against the payment, and recorded by id in the transaction of
    its effect, so a repeat (sequential or racing) changes nothing."""
    adapter = provider(provider_name)
    outcome = adapter.parse_webhook(body, headers)
    if not outcome.kind:
        return  # a type we do not act on: received, so the provider stops sending it
    try:
        refunds = _act_once(adapter.name, outcome)
    except IntegrityError as exc:
        if _constraint_of(exc) != WEBHOOK_ONCE:
            raise
        return  # processed already: its transaction, which wrote nothing else, rolled back
    issue_refunds_later(refunds)


def _act_once(provider_name: str, outcome: Outcome) -> list[Refund]:
    """The webhook's effect, in one transaction that first records its id:
    a repeat fails that insert on the unique (provider, webhook id) pair, and
    under the payment's lock a racing repeat waits there until the first one
    has committed. Returns the refunds to ask the provider for."""
    with transaction.atomic():
        payment = _lock_named_payment(provider_name, outcome)
        booking = payment.booking
        if outcome.kind in (SUCCEEDED, FAILED):
            _check_amount(payment, outcome)
        ProcessedWebhook.objects.create(
            provider=provider_name,
            webhook_id=outcome.webhook_id,
            type=outcome.kind,
            payment=payment,
        )
        now = timezone.now()
        if outcome.kind == SUCCEEDED:
            return _payment_succeeded(payment, booking, now)
        if outcome.kind == FAILED:
            _payment_failed(payment, booking, outcome.failure_reason, now)
        elif outcome.kind == REFUND_SUCCEEDED:
            payment.refunds.filter(status=RefundStatus.PENDING).update(
                status=RefundStatus.SUCCEEDED, settled_at=now
            )
        return []


def _lock_named_payment(provider_name: str, outcome: Outcome) -> Payment:
    """The payment the webhook names and its booking, both locked in one
    statement and read, the booking with its items (the events and the unit
    moves that follow all read them). Nothing locks a booking and then its
    payment in another statement (refunds lock the payment alone), so the
    pair's order within the statement cannot deadlock."""
    payment = (
        Payment.objects.select_for_update(of=("self", "booking"))
        .select_related("booking")
        .filter(**_named_payment(provider_name, outcome))
        .first()
    )
    if payment is None:
        raise _invalid("data.payment_id", "No payment with this id.")
    prefetch_related_objects([payment.booking], *ITEMS)
    return payment


def _constraint_of(exc: IntegrityError) -> str | None:
    """The constraint PostgreSQL names for an integrity error."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)


# What a refund locks of a payment read with its booking: the payment's row
# alone. A webhook locks the pair in one statement; a refund that locked both
# while something else held the booking and then asked for its payment could
# deadlock with it.
PAYMENT_ONLY = ("self",)


def _named_payment(provider_name: str, outcome: Outcome) -> dict:
    """The lookup of the payment a webhook names: by our id, or else by the
    provider's (never an empty one)."""
    if outcome.payment_id:
        return {"provider": provider_name, "pk": outcome.payment_id}
    return {"provider": provider_name, "provider_id": outcome.provider_id or None}


def _payment_succeeded(payment: Payment, booking: Booking, now) -> list[Refund]:
    """The first outcome is the payment's last: a success after a failure
    (or a second success) changes nothing. A hold that ended meanwhile
    (expired, released) is held again and confirmed if its units are still
    on sale (with its seats again on a seat-mapped cabin, or others if they
    were taken); a booking that cannot be confirmed by it (units gone, or staff
    confirmed it with another reference) gets its money back in full."""
    if payment.status != PENDING:
        return []
    _set_status(payment, SUCCEEDED_STATUS, now)
    _payment_event(EventType.PAYMENT_SUCCEEDED, payment, booking, now)
    if _confirms(payment, booking):
        return []
    try:
        confirm_ended_locked(booking, payment_reference=payment.id)
        return []
    except (InvalidState, InsufficientInventory):
        return [refund(payment=payment, amount=payment.amount, key=f"late:{payment.id}", now=now)]


def _confirms(payment: Payment, booking: Booking) -> bool:
    """Whether the payment confirms its booking, locked and read by the
    webhook: a running hold is confirmed (again: nothing changes); an overdue
    one is expired, and one that ended or is confirmed by another reference
    is left as it is."""
    try:
        confirm_locked(booking, payment_reference=payment.id, actor=None)
    except (HoldExpired, InvalidState, PaymentReferenceMismatch):
        return False
    return booking.status == BookingStatus.CONFIRMED


def _payment_failed(payment: Payment, booking: Booking, reason: str, now) -> None:
    if payment.status != PENDING:
        return
    payment.failure_reason = reason or "declined"
    _set_status(payment, PaymentStatus.FAILED, now)
    _payment_event(EventType.PAYMENT_FAILED, payment, booking, now)


def confirm_offline(*, booking: Booking, payment_reference: str, actor) -> Booking:
    """Staff confirm a hold paid outside the service (desk, bank transfer),
    recorded as an `offline` payment by them. Again with the same reference:
    nothing changes. An overdue hold is expired (that commits): HoldExpired."""
    with transaction.atomic():
        booking = confirm_locked(
            lock_booking(booking), payment_reference=payment_reference, actor=actor
        )
        if booking.status == BookingStatus.CONFIRMED:
            Payment.objects.get_or_create(
                booking=booking,
                provider=OFFLINE,
                provider_id=payment_reference,
                defaults={
                    "status": SUCCEEDED_STATUS,
                    "amount": booking.total_price,
                    "currency": booking.currency,
                    "created_by": actor,
                },
            )
    if booking.status == BookingStatus.EXPIRED:
        raise HoldExpired()
    return booking


def refund(*, payment: Payment, amount: Decimal, key: str, now=None) -> Refund | None:
    """Record a refund of `amount` on a locked payment, once per `key`, never
    above what is left of it; the provider is asked after the commit
    (`issue_refunds_later`). None when `key` was refunded already or there is
    nothing to refund."""
    now = now or timezone.now()
    amount = min(amount, payment.amount - payment.refunded_amount)
    if amount <= 0 or Refund.objects.filter(key=key).exists():
        return None
    offline = payment.provider == OFFLINE
    made = Refund.objects.create(
        payment=payment,
        key=key,
        amount=amount,
        status=RefundStatus.SUCCEEDED if offline else RefundStatus.PENDING,
        settled_at=now if offline else None,
        created_at=now,
    )
    payment.refunded_amount += amount
    full = payment.refunded_amount == payment.amount
    _set_status(payment, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED, now)
    booking = payment.booking
    booking.refresh_from_db()  # the payment may have been read before its booking's cancel
    _payment_event(EventType.PAYMENT_REFUNDED, payment, booking, now, refund=made)
    return None if offline else made


def issue_refunds_later(refunds: list[Refund | None]) -> None:
    from payments.tasks import issue_refund

    for made in refunds:
        if made is not None:
            issue_refund.delay(made.pk)


def issue_refund(refund_id: int) -> str:
    """Ask the provider for a pending refund (its id is the idempotency key,
    so a retry never refunds twice). Raises on the provider's errors, for
    the task to retry."""
    made = Refund.objects.select_related("payment").get(pk=refund_id)
    if made.status != RefundStatus.PENDING:
        return made.status
    adapter = provider(made.payment.provider)
    Refund.objects.filter(pk=made.pk).update(attempts=F("attempts") + 1)
    provider_id = adapter.refund(made)
    settled = adapter.name == "sandbox"
    Refund.objects.filter(pk=made.pk, status=RefundStatus.PENDING).update(
        provider_id=provider_id,
        status=RefundStatus.SUCCEEDED if settled else RefundStatus.PENDING,
        settled_at=timezone.now() if settled else None,
    )
    return "issued"


def _set_status(payment: Payment, status: str, now) -> None:
    payment.status = status
    payment.updated_at = now
    payment.save(update_fields=["status", "failure_reason", "refunded_amount", "updated_at"])


def _payment_event(kind: str, payment: Payment, booking: Booking, now, refund=None) -> None:
    """The payment's event, with `booking` as read under its lock."""
    from bookings.api.serializers import BookingSerializer
    from payments.api.serializers import PaymentSerializer

    data = {
        "booking": BookingSerializer(booking).data,
        "payment": PaymentSerializer(payment).data,
    }
    if refund is not None:
        data["refund"] = {"amount": f"{refund.amount:.2f}", "currency": payment.currency}
    record_events([Event(type=kind, created_at=now, data=data)])


def _check_amount(payment: Payment, outcome: Outcome) -> None:
    if outcome.amount != payment.amount or outcome.currency.upper() != payment.currency:
        raise _invalid("data.amount", "The amount or currency differs from the payment's.")


def _invalid(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "code": "invalid", "detail": detail}])
