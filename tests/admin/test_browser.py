"""The back office in a real browser: Debian's chromium, headless, driven by
Playwright for Python against the app served by `live_server`.

An inventory manager logs in, finds a flight by its route, tries to shrink a
cabin below its held and booked seats and sees the refusal on the page
(artifacts/capacity_refused.png); then sets a hotel's rooms for a range of
nights, below what is committed first (artifacts/availability_refused.png),
then above it. Then a booking agent logs in, releases a hold
from the bookings list with the action, opens the operations dashboard from
the admin index, and a screenshot of the dashboard is saved to
artifacts/dashboard.png (and one of the bookings list after the action to
artifacts/bookings.png). CI installs chromium (`scripts/services.sh
browser`); without it the test is skipped.

Database work happens before the browser starts and after it stops: the
Playwright sync API runs an event loop, and Django refuses ORM calls made
while one runs in the same thread."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingStatus
from bookings.staff_groups import BOOKING_AGENTS, INVENTORY_MANAGERS, ensure_staff_groups
from flights.models import FlightInventory
from hotels.models import RoomNight, RoomType
from tests.factories import (
    FlightFactory,
    FlightInventoryFactory,
    RoomTypeFactory,
    StaffFactory,
    UserFactory,
    put_nights_on_sale,
)
from tests.holds import hold_through_services, make_overdue

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
        departure = max(departure, now + timedelta(hours=1))  # holds refuse departed flights
        flight = FlightFactory(departure_at=departure)
        cabin = FlightInventoryFactory(flight=flight, total_seats=120)
        for n in range(day % 5 + 2):
            booking = hold_through_services(UserFactory(), cabin, seats=9 - (day + n) % 7)
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
    make_overdue(hold_through_services(UserFactory(), cabin, seats=2))
    services.expire_overdue_holds()
    make_overdue(
        hold_through_services(UserFactory(), cabin, seats=1)
    )  # overdue, waiting for the sweep
    return cabin


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def cabins_of(flight) -> dict[int, dict]:
    return {row["id"]: row for row in FlightInventory.objects.filter(flight=flight).values()}


def log_in(browser, live_server, user):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    return page


def test_staff_are_refused_a_capacity_cut_then_release_a_hold_and_open_the_dashboard(
    live_server,
):
    from playwright.sync_api import expect, sync_playwright

    ensure_staff_groups()
    agent = StaffFactory(username="agent-browser", first_name="Bao")
    agent.groups.add(Group.objects.get(name=BOOKING_AGENTS))
    manager = StaffFactory(username="inventory-browser", first_name="Minh")
    manager.groups.add(Group.objects.get(name=INVENTORY_MANAGERS))
    cabin = a_month_of_business()
    target = hold_through_services(UserFactory(username="lan"), cabin, seats=3)
    cabin.refresh_from_db()
    held_before = cabin.held_seats
    cabins_before = cabins_of(cabin.flight)
    room_type = RoomType.objects.select_related("hotel").get(hotel__name="Hotel Metropole")
    start, end = timezone.now().date(), timezone.now().date() + timedelta(days=4)
    nights = RoomNight.objects.filter(room_type=room_type, date__gte=start, date__lt=end)
    over_5 = [n for n in nights.order_by("date") if n.committed_rooms > 5]
    refusal = (
        f"{len(over_5)} night(s) have more rooms held or booked than 5. Nothing was changed. "
        + ", ".join(f"{n.date} ({n.committed_rooms} held or booked)" for n in over_5)
        + "."
    )
    assert over_5
    committed = cabin.held_seats + cabin.booked_seats
    assert cabin.held_seats and cabin.booked_seats
    flight = cabin.flight
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    (ARTIFACTS / "capacity_refused.png").unlink(missing_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = log_in(browser, live_server, manager)
            page.click("#content-main a[href='/admin/flights/flight/']")
            page.fill("#searchbar", f"{flight.origin}-{flight.destination}")
            page.press("#searchbar", "Enter")
            expect(page.locator("#result_list")).to_contain_text(flight.flight_number)
            page.screenshot(path=str(ARTIFACTS / "flights.png"))
            page.click(f"#result_list a:text-is('{flight.flight_number}')")
            expect(page.locator("h2", has_text="Cabins")).to_be_visible()
            economy = page.locator("tr.has_original", has_text="Economy")
            expect(economy.locator("td.field-held_seats")).to_have_text(str(cabin.held_seats))
            expect(economy.locator("td.field-booked_seats")).to_have_text(str(cabin.booked_seats))
            economy.locator("input[name$='-total_seats']").fill(str(committed - 1))
            page.click("input[name=_save]")
            expect(page.locator("p.errornote")).to_have_text("Please correct the errors below.")
            expect(page.locator("#cabins-group tr.row-form-errors")).to_have_text(
                f"{committed} seats are held or booked; the cabin cannot shrink to {committed - 1}."
            )
            total = economy.locator("td.field-total_seats")
            expect(total.locator("ul.errorlist")).to_have_text(f"At least {committed}.")
            expect(total.locator("input")).to_have_value(str(committed - 1))
            page.screenshot(path=str(ARTIFACTS / "capacity_refused.png"), full_page=True)

            page.goto(f"{live_server.url}/admin/hotels/hotel/")
            page.click("#result_list a:text-is('Hotel Metropole')")
            page.click("text=Set for a date range")
            page.fill("input[name=start]", str(start))
            page.fill("input[name=end]", str(end))
            page.fill("input[name=total_rooms]", "5")
            page.fill("input[name=price]", "95.00")
            expect(page.locator("input[name=currency]")).to_have_value("EUR")
            page.click("input[type=submit][value='Set availability']")
            expect(page.locator(".field-total_rooms ul.errorlist")).to_have_text(refusal)
            page.screenshot(path=str(ARTIFACTS / "availability_refused.png"), full_page=True)
            page.fill("input[name=total_rooms]", "60")
            page.click("input[type=submit][value='Set availability']")
            expect(page.locator("ul.messagelist")).to_contain_text(
                f"Set 4 nights of {room_type}, {start} to {end} (exclusive): 60 rooms at 95.00 EUR."
            )
            expect(page.locator("#result_list tbody tr")).to_have_count(4)
            page.context.close()

            page = log_in(browser, live_server, agent)
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

    assert {(n.total_rooms, n.available_rooms + n.committed_rooms) for n in nights} == {(60, 60)}
    assert {n.price for n in nights} == {Decimal("95.00")}
    # The cut changed nothing; the release gave 3 held seats back.
    released = cabins_before[cabin.pk]
    released = {**released, "held_seats": released["held_seats"] - 3}
    released["available_seats"] += 3
    assert cabins_of(flight) == {**cabins_before, cabin.pk: released}
    assert Booking.objects.get(pk=target.pk).status == BookingStatus.RELEASED
    cabin.refresh_from_db()
    assert cabin.held_seats == held_before - 3
    assert screenshot.stat().st_size > 10_000


def test_no_page_of_the_admin_or_the_docs_breaks_the_content_security_policy(live_server):
    """Chromium enforces the policy: every admin page with JavaScript and the
    Swagger UI work under it, and the browser reports no violation."""
    from playwright.sync_api import expect, sync_playwright

    superuser = StaffFactory(username="csp-browser", is_superuser=True)
    booking = hold_through_services(UserFactory(), FlightInventoryFactory(total_seats=5), seats=1)
    violations = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = log_in(browser, live_server, superuser)
            page.on(
                "console",
                lambda message: (
                    "Content Security Policy" in message.text and violations.append(message.text)
                ),
            )
            for path in (
                "/admin/",
                "/admin/bookings/booking/",
                f"/admin/bookings/booking/{booking.pk}/change/",
                "/admin/flights/flight/add/",
                "/admin/dashboard/",
                "/admin/axes/accessattempt/",
            ):
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, path
                assert "script-src" in response.headers["content-security-policy"]
            # The admin's own JavaScript runs: the action bar counts a selection.
            page.goto(f"{live_server.url}/admin/bookings/booking/")
            page.check(f'input[name="_selected_action"][value="{booking.pk}"]')
            expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
            page.goto(f"{live_server.url}/api/docs/")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "api_docs.png"))
        finally:
            browser.close()
    assert violations == []
