"""The demo in a real browser (docs/api.md, Payments: Sandbox checkout): a
customer holds through the API, opens `checkout_url` in Chromium, pays with
the test card; a real Celery worker (a thread, on the test run's Redis)
sends the sandbox's signed webhook to the live server over HTTP; staff then
see the booking confirmed in the admin. Screenshots go to artifacts/.

Database work happens before the browser starts (Playwright's sync API runs
an event loop, and Django refuses ORM calls while one runs in the thread)."""

import os
import time
from pathlib import Path

import pytest
import requests
from celery.contrib.testing.worker import start_worker

from accounts.tokens import issue_token
from bookings.models import Booking
from config.celery_app import app as celery_app
from tests.factories import FlightInventoryFactory, StaffFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def worker():
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["celery", "webhooks"],
    ):
        yield


def wait_for_status(api, url: str, status: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        booking = api.get(url).json()
        if booking["status"] == status or time.monotonic() > deadline:
            return booking
        time.sleep(0.2)


def test_hold_pay_in_the_checkout_and_see_it_confirmed_in_the_admin(live_server, worker):
    from playwright.sync_api import expect, sync_playwright

    # The sandbox's callback goes through the real worker: on a loaded CI
    # machine a page can take longer than Playwright's default 5 s to show it.
    expect.set_options(timeout=20_000)
    cabin = FlightInventoryFactory(total_seats=10)
    customer, staff = UserFactory(), StaffFactory(is_superuser=True)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {issue_token(customer)}"
    item = {"type": "flight", "flight_id": cabin.flight_id, "cabin_class": "economy", "seats": 2}
    held = api.post(f"{live_server.url}/api/v1/bookings/", json={"items": [item]})
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]
    booking_url = f"{live_server.url}/api/v1/bookings/{reference}/"
    payment = api.post(booking_url + "payments/").json()
    assert payment["checkout_url"] == f"{live_server.url}/sandbox/checkout/{payment['id']}/"
    pk = Booking.objects.get(reference=reference).pk
    admin_page = f"{live_server.url}/admin/bookings/booking/{pk}/change/"
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(payment["checkout_url"])
            expect(page.locator("#booking")).to_have_text(reference)
            expect(page.locator("#amount")).to_have_text("258.00 EUR")
            page.fill("#id_card_number", "4242 4242 4242 4242")
            page.click("button[type=submit]")
            expect(page.locator("#outcome")).to_contain_text("Payment accepted")
            page.screenshot(path=str(ARTIFACTS / "sandbox_checkout.png"), full_page=True)

            confirmed = wait_for_status(api, booking_url, "confirmed")
            assert (confirmed["status"], confirmed["payment_reference"]) == (
                "confirmed",
                payment["id"],
            )

            staff_page = browser.new_page()
            staff_page.goto(f"{live_server.url}/admin/login/?next={admin_page}")
            staff_page.fill("#id_username", staff.username)
            staff_page.fill("#id_password", PASSWORD)
            staff_page.click("input[type=submit]")
            expect(staff_page.locator("div.field-status_now, div.field-status")).to_contain_text(
                "onfirmed"
            )
            expect(staff_page.locator("#payments-group")).to_contain_text(payment["id"])
            staff_page.screenshot(path=str(ARTIFACTS / "booking_paid.png"), full_page=True)
        finally:
            browser.close()
