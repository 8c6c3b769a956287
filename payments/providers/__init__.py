"""The payment providers behind one interface: what the flow asks of a
provider (start a payment, refund, read its webhooks), whoever it is.
`PAYMENT_PROVIDER` picks the one new payments use; a webhook names its own."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from payments.exceptions import UnknownProvider

SUCCEEDED, FAILED, REFUND_SUCCEEDED = "succeeded", "failed", "refund_succeeded"


@dataclass(frozen=True)
class Started:
    provider_id: str
    checkout_url: str
    client_secret: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a verified webhook says, in the provider's neutral terms."""

    webhook_id: str
    kind: str  # SUCCEEDED, FAILED, REFUND_SUCCEEDED, or "" for a type we do not act on
    payment_id: str
    amount: Decimal | None = None
    currency: str = ""
    failure_reason: str = ""
    refund_id: str = ""
    # The provider's own id of the payment, when the webhook names only that.
    provider_id: str = ""


def provider(name: str | None = None):
    """The adapter by name (the configured one by default)."""
    from payments.providers.sandbox import SandboxProvider
    from payments.providers.stripe import StripeProvider

    adapters = {"sandbox": SandboxProvider, "stripe": StripeProvider}
    name = name or settings.PAYMENT_PROVIDER
    if name not in adapters:
        raise UnknownProvider()
    return adapters[name]()
