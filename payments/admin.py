"""The back office's payments: their own list, inline on the booking's page
(added to the bookings' admin from here, as payments sits above bookings),
and a staff action to refund by hand through the same service as a cancel."""

from django.contrib import admin, messages
from django.db import transaction

from bookings.admin import BookingAdmin, ReadOnlyInline
from payments import services
from payments.models import Payment, ProcessedWebhook, Refund

REFUND_PERMISSION = "payments.change_payment"


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["id", "status", "provider", "amount", "currency", "refunded_amount", "created_at"]
    show_change_link = True


BookingAdmin.inlines = [*BookingAdmin.inlines, PaymentInline]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["key", "amount", "status", "provider_id", "attempts", "last_error", "created_at"]


class WebhookInline(ReadOnlyInline):
    model = ProcessedWebhook
    fields = ["webhook_id", "type", "received_at"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "booking",
        "status",
        "provider",
        "amount",
        "currency",
        "refunded_amount",
        "created_at",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["id", "provider_id", "booking__reference"]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Payment._meta.fields]
    inlines = [RefundInline, WebhookInline]
    actions = ["refund_in_full"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    @admin.action(description="Refund what is left of selected payments", permissions=["refund"])
    def refund_in_full(self, request, queryset):
        for payment_id in queryset.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                payment = Payment.objects.select_for_update(of=services.PAYMENT_ONLY)
                payment = payment.select_related("booking")
                payment = payment.get(pk=payment_id)
                if payment.status not in services.PAID:
                    self.message_user(
                        request,
                        f"{payment.id}: {payment.status}, nothing to refund",
                        messages.WARNING,
                    )
                    continue
                made = services.refund(
                    payment=payment,
                    amount=payment.amount - payment.refunded_amount,
                    key=f"staff:{payment.id}:{payment.refunded_amount}",
                )
                transaction.on_commit(lambda made=made: services.issue_refunds_later([made]))
            self.message_user(request, f"{payment.id}: refunded ({payment.refunded_amount})")
