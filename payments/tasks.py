"""Payments' tasks, each thin over its service or provider."""

import urllib3
from celery import shared_task
from django.conf import settings

from payments import services
from payments.models import Payment
from payments.providers.sandbox import outcome_message, signed

RETRIES = 8


class CallbackRefused(Exception):
    """The service did not answer the sandbox's webhook with a 2xx."""


@shared_task(bind=True, ignore_result=True, max_retries=RETRIES, acks_late=True)
def send_sandbox_webhook(self, payment_id: str, kind: str, *, webhook_id: str, url: str) -> int:
    """POST the sandbox's signed outcome to our own webhook URL over HTTP, as
    a real provider calls back; retried with backoff until a 2xx. The same
    webhook id every time (the receiver drops repeats), signed anew at each
    attempt (the receiver refuses stale timestamps)."""
    payment = Payment.objects.get(pk=payment_id)
    reason = "card_declined" if kind == "payment.failed" else ""
    body, headers = signed(outcome_message(payment, kind, reason), webhook_id=webhook_id)
    try:
        answer = urllib3.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            retries=False,
        )
        if not 200 <= answer.status < 300:
            raise CallbackRefused(f"{answer.status}: {answer.data[:200]!r}")
    except (urllib3.exceptions.HTTPError, CallbackRefused) as exc:
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
    return answer.status


@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=10,
    retry_backoff_max=3600,
    max_retries=10,
)
def issue_refund(refund_id: int) -> str:
    return services.issue_refund(refund_id)
