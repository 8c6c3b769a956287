"""The bookings admin: who may see it, that nothing is edited by hand, and
that its actions go through the services (the counters move with them)."""

from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import services
from bookings.models import Actor, Booking, BookingStatus
from tests.factories import FlightInventoryFactory, UserFactory
from tests.holds import hold_through_services, make_overdue

CHANGELIST = reverse("admin:bookings_booking_changelist")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(booking) -> str:
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def seats(cabin) -> tuple[int, int, int]:
    cabin.refresh_from_db()
    return cabin.available_seats, cabin.held_seats, cabin.booked_seats


def run_action(client, action: str, bookings) -> list[str]:
    response = client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [b.pk for b in bookings], "index": 0},
    )
    assert response.status_code == 302, response.content[:500]
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Who may see it ---------------------------------------------------------------------


def test_changelist_lists_bookings_with_their_effective_status(superuser, shopper, cabin):
    held = hold_through_services(shopper, cabin, seats=2)
    overdue = hold_through_services(UserFactory(), cabin)
    make_overdue(overdue)

    page = client_of(superuser).get(CHANGELIST).content.decode()

    assert held.reference in page and overdue.reference in page
    assert shopper.username in page
    assert "258.00 EUR" in page
    row_of_overdue = page[page.index(overdue.reference) :].split("</tr>")[0]
    assert "Expired" in row_of_overdue and "overdue" in row_of_overdue
    row_of_held = page[page.index(held.reference) :].split("</tr>")[0]
    assert "Held" in row_of_held and " min " in row_of_held


def test_changelist_and_change_view_render_for_each_staff_role(
    superuser, agent, inventory_manager, shopper, cabin, room_type
):
    booking = hold_through_services(shopper, cabin, room_type=room_type)
    for user in (superuser, agent, inventory_manager):
        client = client_of(user)
        assert client.get(CHANGELIST).status_code == 200
        page = client.get(change_url(booking))
        assert page.status_code == 200
        html = page.content.decode()
        assert booking.reference in html
        assert str(cabin.flight) in html  # the flight item inline
        assert room_type.hotel.name in html  # the hotel item inline
        assert "Status history" in html or "status history" in html


def test_customers_and_anonymous_are_sent_to_the_login(shopper, cabin):
    booking = hold_through_services(shopper, cabin)
    for client in (client_of(shopper), Client()):
        for url in (CHANGELIST, change_url(booking)):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_a_role_is_refused(bare_staff, shopper, cabin):
    booking = hold_through_services(shopper, cabin)
    client = client_of(bare_staff)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(booking)).status_code == 403


def test_search_finds_by_reference_username_name_and_email(superuser, shopper, cabin):
    mine = hold_through_services(shopper, cabin)
    other = hold_through_services(UserFactory(email="someone@example.net"), cabin)
    client = client_of(superuser)
    for term in (mine.reference.lower(), shopper.username, "Lovelace", "ada@example.org"):
        page = client.get(CHANGELIST, {"q": term}).content.decode()
        assert mine.reference in page, term
        assert other.reference not in page, term


def test_status_filter_reads_an_overdue_hold_as_expired(superuser, cabin):
    overdue = hold_through_services(UserFactory(), cabin)
    make_overdue(overdue)
    live = hold_through_services(UserFactory(), cabin)
    client = client_of(superuser)
    expired_page = client.get(CHANGELIST, {"status": "expired"}).content.decode()
    held_page = client.get(CHANGELIST, {"status": "held"}).content.decode()
    assert overdue.reference in expired_page and live.reference not in expired_page
    assert live.reference in held_page and overdue.reference not in held_page


def test_changelist_costs_the_same_queries_for_3_or_30_bookings(superuser):
    cabin = FlightInventoryFactory(total_seats=100)
    client = client_of(superuser)
    client.get(CHANGELIST)  # session, content types: warm

    def queries_with(count: int) -> int:
        while Booking.objects.count() < count:
            hold_through_services(UserFactory(), cabin)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    few = queries_with(3)
    many = queries_with(30)
    assert few == many
    assert many <= 8
    # Facets (a count per filter choice) stay off, even when asked for.
    with CaptureQueriesContext(connection) as captured:
        client.get(CHANGELIST, {"_facets": "True"})
    assert len(captured) == many


# --- Nothing is edited by hand --------------------------------------------------------


def test_posting_to_the_change_view_changes_nothing(superuser, shopper, cabin):
    booking = hold_through_services(shopper, cabin, seats=2)
    before = Booking.objects.filter(pk=booking.pk).values().get()
    response = client_of(superuser).post(
        change_url(booking),
        {
            "status": "confirmed",
            "total_price": "1.00",
            "currency": "USD",
            "payment_reference": "forged",
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 403
    assert Booking.objects.filter(pk=booking.pk).values().get() == before
    assert seats(cabin) == (8, 2, 0)


def test_the_change_view_has_no_input_field_and_no_save_button(superuser, shopper, cabin):
    booking = hold_through_services(shopper, cabin)
    html = client_of(superuser).get(change_url(booking)).content.decode()
    assert 'name="_save"' not in html
    for field in ("status", "total_price", "expires_at", "customer", "payment_reference"):
        assert f'name="{field}"' not in html
        assert f'name="{field}_0"' not in html
    assert 'name="flight_items-0-seats"' not in html


def test_no_add_and_no_delete(superuser, shopper, cabin):
    booking = hold_through_services(shopper, cabin)
    client = client_of(superuser)
    assert client.get(reverse("admin:bookings_booking_add")).status_code == 403
    delete_url = reverse("admin:bookings_booking_delete", args=[booking.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Booking.objects.filter(pk=booking.pk).exists()
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "delete_selected" not in {name for name, _ in actions}


# --- Actions --------------------------------------------------------------------------


def test_release_or_cancel_moves_counters_and_reports_each_booking(agent, cabin):
    held = hold_through_services(UserFactory(), cabin, seats=2)
    confirmed = hold_through_services(UserFactory(), cabin, seats=3)
    services.confirm_booking(booking=confirmed, payment_reference="pay-1", actor=confirmed.customer)
    already = hold_through_services(UserFactory(), cabin, seats=1)
    services.cancel_booking(booking=already, actor=already.customer)
    assert seats(cabin) == (5, 2, 3)

    lines = run_action(client_of(agent), "release_or_cancel", [held, confirmed, already])

    assert seats(cabin) == (10, 0, 0)
    statuses = dict(Booking.objects.values_list("reference", "status"))
    assert statuses[held.reference] == BookingStatus.RELEASED
    assert statuses[confirmed.reference] == BookingStatus.CANCELLED
    assert statuses[already.reference] == BookingStatus.RELEASED
    assert f"{held.reference}: held → released" in lines
    assert f"{confirmed.reference}: confirmed → cancelled" in lines
    assert f"{already.reference}: already released, unchanged" in lines
    change = Booking.objects.get(pk=held.pk).history.latest("at")
    assert change.actor == agent and change.actor_kind == Actor.STAFF


def test_release_of_an_overdue_hold_expires_it(agent, cabin):
    overdue = hold_through_services(UserFactory(), cabin, seats=4)
    make_overdue(overdue)
    lines = run_action(client_of(agent), "release_or_cancel", [overdue])
    assert f"{overdue.reference}: held → expired" in lines
    assert seats(cabin) == (10, 0, 0)


def test_inventory_managers_may_not_cancel(inventory_manager, cabin):
    booking = hold_through_services(UserFactory(), cabin, seats=2)
    client = client_of(inventory_manager)
    assert client.get(CHANGELIST).context["action_form"] is None  # no action offered
    client.post(
        CHANGELIST, {"action": "release_or_cancel", "_selected_action": [booking.pk], "index": 0}
    )
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.HELD
    assert seats(cabin) == (8, 2, 0)


def test_expire_overdue_now_runs_the_sweep_and_reports_the_selected(agent, cabin):
    overdue = hold_through_services(UserFactory(), cabin, seats=2)
    make_overdue(overdue)
    unselected_overdue = hold_through_services(UserFactory(), cabin, seats=1)
    make_overdue(unselected_overdue)
    live = hold_through_services(UserFactory(), cabin, seats=3)
    confirmed = hold_through_services(UserFactory(), cabin, seats=1)
    services.confirm_booking(booking=confirmed, payment_reference="p", actor=confirmed.customer)
    assert seats(cabin) == (3, 6, 1)

    lines = run_action(client_of(agent), "expire_overdue_now", [overdue, live, confirmed])

    assert seats(cabin) == (6, 3, 1)
    statuses = dict(Booking.objects.values_list("reference", "status"))
    assert statuses[overdue.reference] == BookingStatus.EXPIRED
    assert statuses[unselected_overdue.reference] == BookingStatus.EXPIRED
    assert statuses[live.reference] == BookingStatus.HELD
    assert lines[0] == "The sweep expired 2 overdue holds in all."
    assert f"{overdue.reference}: held → expired" in lines
    assert any(line.startswith(f"{live.reference}: held, not overdue") for line in lines)
    assert f"{confirmed.reference}: already confirmed, unchanged" in lines
    change = Booking.objects.get(pk=overdue.pk).history.latest("at")
    assert change.actor_kind == Actor.SYSTEM
