"""The back office's payments (docs/api.md, Payments; README, Payments)."""

from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from payments.models import Refund
from tests.payments.conftest import post_webhook


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_payments_show_on_the_booking_page_and_in_their_list(admin_client, payment, held):
    page = admin_client.get(f"/admin/bookings/booking/{held.pk}/change/")
    assert page.status_code == 200
    assert payment.id in page.content.decode()
    listed = admin_client.get("/admin/payments/payment/")
    assert listed.status_code == 200
    assert payment.id in listed.content.decode()
    # The admin's own quoting: an id like `pay_26…` would read as `pay&…` unquoted.
    change = reverse("admin:payments_payment_change", args=[quote(payment.id)])
    assert admin_client.get(change).status_code == 200


def test_staff_refund_by_hand_once(admin_client, client, payment, held):
    assert post_webhook(client, payment).status_code == 200
    action = {"action": "refund_in_full", "_selected_action": [payment.id]}
    for _ in range(2):
        admin_client.post("/admin/payments/payment/", action)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("258.00"))
    assert Refund.objects.filter(payment=payment).count() == 1


def test_the_dashboard_shows_paid_conversion_and_failed_payments(
    admin_client, client, customer, cabin, payment, held
):
    from payments import services
    from tests.holds import hold_through_services

    post_webhook(client, payment)  # one hold paid
    unpaid = hold_through_services(customer, cabin)  # one not
    failing = services.start_payment(booking=unpaid, actor=customer).payment
    post_webhook(client, failing, "payment.failed")
    page = admin_client.get("/admin/dashboard/")
    assert page.status_code == 200
    figures = page.context["payments"]
    assert (figures.holds, figures.paid, figures.failed) == (2, 1, 1)
    assert page.context["paid_conversion"] == "50.0%"
    assert 'data-figure="paid-rate"' in page.content.decode()
