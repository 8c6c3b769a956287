from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        from events.services import register_consumer
        from payments.refunds import refund_cancellations

        register_consumer(refund_cancellations)
