"""The back office in a real browser: Debian's chromium, headless, driven by
Playwright for Python against the app served by `live_server`.

A booking agent logs in, releases a hold from the bookings list with the
action, opens the operations dashboard from the admin index, and a screenshot
of the dashboard is saved to artifacts/dashboard.png (and one of the bookings
list after the action to artifacts/bookings.png). CI installs chromium
(`scripts/services.sh browser`); without it the test is skipped.

Database work happens before the browser starts and after it stops: the
Playwright sync API runs an event loop, and Django refuses ORM calls made
while one runs in the same thread."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingStatus
from bookings.staff_groups import BOOKING_AGENTS, ensure_staff_groups
from tests.admin.conftest import hold, make_overdue
from tests.factories import (
    FlightFactory,
    FlightInventoryFactory,
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
    put_nights_on_sale,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is not installed"),
]


def a_month_of_business():
    """Flights every other day with held and confirmed seats, a hotel with
    rooms every night, and bookings spread over the last hours."""
    now = timezone.now()
    today = now.date()
    room_type = RoomTypeFactory(hotel__name="Hotel Metropole")
    put_nights_on_sale(room_type, today, nights=32, rooms=40)
    for day in range(0, 30, 2):
        departure = now.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=day)
        flight = FlightFactory(departure_at=departure)
        cabin = FlightInventoryFactory(flight=flight, total_seats=120)
        for n in range(day % 5 + 2):
            booking = hold(UserFactory(), cabin, seats=9 - (day + n) % 7)
            if n % 3 != 2:
                services.confirm_booking(
                    booking=booking, payment_reference=f"pay-{day}-{n}", actor=booking.customer
                )
                hours_ago = timedelta(hours=(day + 5 * n) % 23)
                Booking.objects.filter(pk=booking.pk).update(
                    created_at=booking.created_at - hours_ago,
                    expires_at=booking.expires_at - hours_ago,
                )
        stay = services.HotelRequest(
            room_type.pk, today + timedelta(days=day), today + timedelta(days=day + 3), 6
        )
        stay_booking = services.hold_booking(customer=UserFactory(), items=[stay]).booking
        if day % 4 == 0:
            services.confirm_booking(
                booking=stay_booking, payment_reference=f"room-{day}", actor=stay_booking.customer
            )
    make_overdue(hold(UserFactory(), cabin, seats=2))
    services.expire_overdue_holds()
    make_overdue(hold(UserFactory(), cabin, seats=1))  # overdue, waiting for the sweep
    return cabin


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_agent_releases_a_hold_and_opens_the_dashboard(live_server):
    from playwright.sync_api import expect, sync_playwright

    ensure_staff_groups()
    agent = StaffFactory(username="agent-browser", first_name="Bao")
    agent.groups.add(Group.objects.get(name=BOOKING_AGENTS))
    cabin = a_month_of_business()
    target = hold(UserFactory(username="lan"), cabin, seats=3)
    cabin.refresh_from_db()
    held_before = cabin.held_seats
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", agent.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            expect(page.locator("#operations-module")).to_be_visible()

            page.goto(f"{live_server.url}/admin/bookings/booking/")
            page.check(f'input[name="_selected_action"][value="{target.pk}"]')
            page.select_option('select[name="action"]', "release_or_cancel")
            page.click('button[name="index"]')
            expect(page.locator("ul.messagelist")).to_contain_text(
                f"{target.reference}: held → released"
            )
            row = page.locator("#result_list tr", has_text=target.reference)
            expect(row).to_contain_text("Released")
            page.screenshot(path=str(ARTIFACTS / "bookings.png"))

            page.goto(f"{live_server.url}/admin/")
            page.click("text=Operations dashboard")
            expect(page.locator("h1")).to_have_text("Operations dashboard")
            expect(page.locator('[data-figure="overdue"]')).to_have_text("1")
            expect(page.locator("figure.chart svg rect.booked").first).to_be_visible()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert Booking.objects.get(pk=target.pk).status == BookingStatus.RELEASED
    cabin.refresh_from_db()
    assert cabin.held_seats == held_before - 3
    assert screenshot.stat().st_size > 10_000
