"""Customer emails from the outbox: which events mail the customer, and
sending each at most once.

The relay makes one `CustomerEmail` row per (event, kind) in its own
transaction. The sending task claims the row (`pending` → `sending`, one
UPDATE, committed) before the message goes out, so two tasks for one row, a
repeated message or a retried task never send it twice: a worker killed
between the claim and the send leaves it `sending`, visible in the admin,
never sent twice. A backend that raises (SMTP down) sent nothing, so the row
goes back to `pending` with a backoff, up to EMAIL_MAX_ATTEMPTS.

Who the customer is and what the booking holds (flights, hotels) belong to
apps above this one: they hand their reader in with `register_reader`
(bookings does it in its AppConfig.ready), so nothing here imports them."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from events import metrics, queueing
from events.models import CustomerEmail, EmailKind, EmailStatus, Event, EventType

logger = logging.getLogger(__name__)

SEND = "events.tasks.send_customer_email"
KIND_OF_EVENT = {
    EventType.BOOKING_CONFIRMED: EmailKind.CONFIRMED,
    EventType.PAYMENT_FAILED: EmailKind.PAYMENT_FAILED,
    EventType.BOOKING_EXPIRED: EmailKind.EXPIRED,
    EventType.BOOKING_CANCELLED: EmailKind.CANCELLED,
}
SUBJECTS = {
    EmailKind.CONFIRMED: "Your booking {reference} is confirmed",
    EmailKind.PAYMENT_FAILED: "Your payment for booking {reference} did not go through",
    EmailKind.EXPIRED: "Your hold {reference} has expired",
    EmailKind.CANCELLED: "Your booking {reference} is cancelled",
}


@dataclass(frozen=True)
class Letter:
    """What an app above tells about an event's customer and booking."""

    recipient: str
    context: dict


_readers: list[Callable[[Event], Letter | None]] = []


def register_reader(reader: Callable[[Event], Letter | None]) -> None:
    if reader not in _readers:
        _readers.append(reader)


def plan(events: Iterable[Event]) -> list[CustomerEmail]:
    """The emails of just-relayed events, in the relay's transaction."""
    emails = [
        CustomerEmail(event=event, kind=KIND_OF_EVENT[event.type])
        for event in events
        if event.type in KIND_OF_EVENT
    ]
    return CustomerEmail.objects.bulk_create(emails)


def due(*, limit: int = 5000) -> list[int]:
    return list(
        CustomerEmail.objects.filter(
            status=EmailStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def send(email_id: int) -> str:
    """Claim, render, send; returns what came of it."""
    now = timezone.now()
    claimed = CustomerEmail.objects.filter(
        pk=email_id, status=EmailStatus.PENDING, next_attempt_at__lte=now
    )
    if not claimed.update(status=EmailStatus.SENDING):
        return "not ready"
    email = CustomerEmail.objects.select_related("event").get(pk=email_id)
    email.attempts += 1
    letter = _letter(email.event)
    if letter is None or not letter.recipient:
        return _settle(email, EmailStatus.SKIPPED, error="no customer address for this event")
    email.recipient = letter.recipient
    try:
        message(email.kind, letter).send()
    except Exception as exc:  # the backend's own errors (SMTP, an API): nothing was sent
        error = f"{exc.__class__.__name__}: {exc}"
        if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
            return _settle(email, EmailStatus.FAILED, error=error, outcome="given_up")
        email.next_attempt_at = now + timedelta(minutes=2**email.attempts)
        return _settle(email, EmailStatus.PENDING, error=error, outcome="failed")
    email.sent_at = timezone.now()
    return _settle(email, EmailStatus.SENT, outcome="sent")


def message(kind: str, letter: Letter) -> EmailMultiAlternatives:
    """Plain text and HTML from `templates/emails/<kind>.txt|.html`."""
    context = letter.context
    subject = SUBJECTS[kind].format(reference=context["booking"]["reference"])
    text = render_to_string(f"emails/{kind}.txt", context)
    html = render_to_string(f"emails/{kind}.html", context)
    mail = EmailMultiAlternatives(subject, text, to=[letter.recipient])
    mail.attach_alternative(html, "text/html")
    return mail


def _letter(event: Event) -> Letter | None:
    for reader in _readers:
        letter = reader(event)
        if letter is not None:
            return letter
    return None


def _settle(email: CustomerEmail, status: str, *, error: str = "", outcome: str = "") -> str:
    email.status = status
    email.last_error = error[:500]
    with transaction.atomic():
        email.save()
    metrics.emails.labels(kind=email.kind, outcome=outcome or status).inc()
    if error:
        logger.warning("customer email %s (%s): %s", email.pk, status, error)
    return outcome or status


def enqueue_after_commit(ids: list[int]) -> None:
    queueing.enqueue_each_after_commit(SEND, ids)


def enqueue(ids: list[int]) -> None:
    queueing.enqueue_each(SEND, ids)
