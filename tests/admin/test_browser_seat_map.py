"""The seat map in a real browser (Chromium through Playwright, as
tests/admin/test_browser.py): an inventory manager blocks a seat by clicking
it, sees it turn blocked, and the API then refuses that seat to a customer
(409 seat_unavailable). Screenshot: artifacts/seat_map.png.

Database work happens before the browser starts and after it stops (Django
refuses ORM calls while Playwright's event loop runs in the thread); the
customer's hold goes over HTTP from the browser's own request context."""

import os

import pytest
from django.contrib.auth.models import Group

from accounts.tokens import issue_token
from bookings.staff_groups import INVENTORY_MANAGERS, ensure_staff_groups
from flights.models import Seat
from tests.admin.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, log_in
from tests.factories import StaffFactory, UserFactory, seat_mapped_cabin
from tests.holds import hold_through_services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is not installed"),
]


# No serialized_rollback: the test makes every row it needs (the staff groups
# included), and restoring a snapshot after another live-server test has
# flushed the database collides with the content types that flush recreates.
@pytest.mark.django_db(transaction=True)
def test_staff_block_a_seat_on_the_map_and_the_api_refuses_it(live_server):
    from playwright.sync_api import expect, sync_playwright

    ensure_staff_groups()
    manager = StaffFactory(username="seat-manager")
    manager.groups.add(Group.objects.get(name=INVENTORY_MANAGERS))
    cabin = seat_mapped_cabin(rows=30, columns="ABC DEF")
    held = hold_through_services(UserFactory(), cabin, seats=2)
    token = issue_token(UserFactory(username="traveller"))
    hold_body = {
        "items": [
            {
                "type": "flight",
                "flight_id": cabin.flight_id,
                "cabin_class": "economy",
                "seats": 1,
                "seat_numbers": ["12A"],
            }
        ]
    }
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = log_in(browser, live_server, manager)
            page.goto(f"{live_server.url}/admin/flights/flightinventory/")
            page.click(f'a[href="/admin/flights/flightinventory/{cabin.pk}/seat-map/"]')
            held_seat = page.locator("#seat-10A")
            expect(held_seat).to_have_attribute("data-status", "held")
            expect(held_seat).to_have_attribute("title", f"10A window: held by {held.reference}")
            page.click("#seat-12A")
            expect(page.locator("ul.messagelist")).to_contain_text("Seat 12A blocked")
            expect(page.locator("#seat-12A")).to_have_attribute("data-status", "blocked")
            expect(page.locator("#seat-counters")).to_contain_text("177 available")
            page.screenshot(path=str(ARTIFACTS / "seat_map.png"), full_page=False)
            refused = page.request.post(
                f"{live_server.url}/api/v1/bookings/",
                data=hold_body,
                headers={"Authorization": f"Token {token}"},
            )
            assert refused.status == 409, refused.text()
            assert refused.json()["code"] == "seat_unavailable"
            assert refused.json()["unavailable_seats"] == ["12A"]
        finally:
            browser.close()

    assert Seat.objects.get(inventory=cabin, number="12A").blocked
    cabin.refresh_from_db()
    assert (cabin.available_seats, cabin.held_seats, cabin.blocked_seats) == (177, 2, 1)
