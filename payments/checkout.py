"""The sandbox provider's checkout page (docs/api.md, Payments: Sandbox
checkout): the booking, the amount and a card form. Submitting it has the
sandbox send its signed webhook to this service from a Celery task, as a
real provider calls back; the page then shows the outcome."""

import secrets

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from payments.models import Payment, PaymentStatus

SUCCEEDS, DECLINED = "4242424242424242", "4000000000000002"


class CardForm(forms.Form):
    card_number = forms.CharField(max_length=23, label="Card number")

    def clean_card_number(self) -> str:
        number = self.cleaned_data["card_number"].replace(" ", "").replace("-", "")
        if number not in (SUCCEEDS, DECLINED):
            raise forms.ValidationError(
                "Use the test card 4242 4242 4242 4242 (succeeds) "
                "or 4000 0000 0000 0002 (declined)."
            )
        return number


def checkout(request, payment_id: str):
    from payments.tasks import send_sandbox_webhook

    payment = Payment.objects.filter(pk=payment_id, provider="sandbox").select_related("booking")
    payment = payment.first()
    if payment is None:
        raise Http404("No such payment.")
    form = CardForm(request.POST or None)
    outcome = None
    if request.method == "POST" and payment.status == PaymentStatus.PENDING and form.is_valid():
        outcome = "succeeded" if form.cleaned_data["card_number"] == SUCCEEDS else "declined"
        send_sandbox_webhook.delay(
            payment.id,
            "payment.succeeded" if outcome == "succeeded" else "payment.failed",
            webhook_id=f"msg_{secrets.token_hex(12)}",
            url=request.build_absolute_uri(reverse("payment-webhook", args=["sandbox"])),
        )
    return render(
        request,
        "payments/checkout.html",
        {"payment": payment, "booking": payment.booking, "form": form, "outcome": outcome},
    )
