from rest_framework import serializers

from bookings.api.serializers import ConfirmSerializer
from payments.models import Payment

__all__ = ["ConfirmSerializer", "PaymentSerializer", "WebhookReceivedSerializer"]


class PaymentSerializer(serializers.ModelSerializer):
    booking = serializers.CharField(source="booking.reference", read_only=True)
    checkout_url = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "booking",
            "status",
            "amount",
            "currency",
            "provider",
            "checkout_url",
            "client_secret",
            "failure_reason",
            "refunded_amount",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_checkout_url(self, payment) -> str | None:
        """The sandbox's page is ours: absolute when a request tells the host."""
        if not payment.checkout_url:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(payment.checkout_url) if request else payment.checkout_url


class WebhookReceivedSerializer(serializers.Serializer):
    received = serializers.BooleanField()
