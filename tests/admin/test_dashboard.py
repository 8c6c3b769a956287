"""The operations dashboard: who may see it, exact figures on a small known
data set, and a number of queries that does not grow with the data."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings import dashboard as figures
from bookings import services
from bookings.dashboard import Units
from bookings.models import Booking, SweepRun
from bookings.reconciliation import reconcile
from flights.models import Flight
from locking import locks, metrics
from tests.factories import (
    FlightFactory,
    FlightInventoryFactory,
    RoomNightFactory,
    RoomTypeFactory,
    UserFactory,
)
from tests.holds import hold_through_services, make_overdue

DASHBOARD = reverse("admin:dashboard")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</td>', html, re.S)
    assert match, name
    return " ".join(match.group(1).split())


def row_numbers(html: str, row_id: str) -> list[int]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]


def noon(day) -> datetime:
    return datetime.combine(day, time(12), UTC)


def depart_at_noon(cabin, day) -> None:
    Flight.objects.filter(pk=cabin.flight_id).update(
        departure_at=noon(day), arrival_at=noon(day) + timedelta(hours=2)
    )


def flight_on(day, **cabins):
    """A flight departing at noon (UTC) on `day`, with these cabins. Holds
    refuse a flight that has departed: `depart_as_planned` moves one made for
    a day that is already under way to its noon once its holds are made."""
    noon = datetime.combine(day, time(12), UTC)
    departure = max(noon, timezone.now() + timedelta(hours=1))
    flight = FlightFactory(departure_at=departure, arrival_at=departure + timedelta(hours=2))
    flight.planned_departure = noon
    return {
        cabin_class: FlightInventoryFactory(
            flight=flight, cabin_class=cabin_class, total_seats=seats, price=Decimal("100.00")
        )
        for cabin_class, seats in cabins.items()
    }


@pytest.fixture
def known_data(db):
    """Inventory inside and just outside the 30-day horizon, and one booking
    of each fate. The expected figures are spelled out in the tests."""
    today = timezone.now().date()
    today_flight = flight_on(today, economy=10, business=4)
    later = flight_on(today + timedelta(days=5), economy=20)["economy"]
    flight_on(today + timedelta(days=30), economy=50)  # past the horizon
    yesterday = flight_on(today - timedelta(days=1), economy=7)
    room_type = RoomTypeFactory()
    for offset, rooms in ((0, 5), (1, 5), (29, 2), (30, 9), (-1, 4)):
        night = today + timedelta(days=offset)
        RoomNightFactory(room_type=room_type, date=night, total_rooms=rooms)
    customer = UserFactory  # each booking its own customer: no active-hold limit

    # Swept: overdue, then expired by a sweep run.
    swept = hold_through_services(customer(), later, seats=1)
    make_overdue(swept)
    assert services.expire_overdue_holds() == 1
    # Still held.
    hold_through_services(customer(), today_flight["economy"], seats=2)
    # Confirmed: 3 seats later and a room tonight and tomorrow night.
    confirmed = services.hold_booking(
        customer=customer(),
        items=[
            services.FlightRequest(later.flight_id, "economy", 3),
            services.HotelRequest(room_type.pk, today, today + timedelta(days=2), 1),
        ],
    ).booking
    services.confirm_booking(booking=confirmed, payment_reference="pay", actor=confirmed.customer)
    # Released by its customer.
    released = hold_through_services(customer(), today_flight["economy"], seats=1)
    services.cancel_booking(booking=released, actor=released.customer)
    # Overdue but not swept yet: still counted as held seats.
    make_overdue(hold_through_services(customer(), today_flight["business"], seats=1))
    # Expiring within 5 minutes.
    soon = hold_through_services(customer(), later, seats=1)
    Booking.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(minutes=3))
    # Confirmed, then cancelled.
    cancelled = hold_through_services(customer(), later, seats=1)
    services.confirm_booking(booking=cancelled, payment_reference="p2", actor=cancelled.customer)
    services.cancel_booking(booking=cancelled, actor=cancelled.customer)
    # Confirmed two days ago: outside the 24-hour window, its seats still booked.
    old = hold_through_services(customer(), later, seats=2)
    services.confirm_booking(booking=old, payment_reference="p3", actor=old.customer)
    two_days = timedelta(days=2)
    Booking.objects.filter(pk=old.pk).update(
        created_at=old.created_at - two_days, expires_at=old.expires_at - two_days
    )
    depart_at_noon(today_flight["economy"], today)
    depart_at_noon(yesterday["economy"], today - timedelta(days=1))
    return {"today": today, "swept": swept}


# --- Figures --------------------------------------------------------------------------


def test_inventory_figures_today_and_over_30_days(known_data):
    today = known_data["today"]
    seats = figures.seat_figures(today)
    rooms = figures.room_figures(today)

    assert seats.today == Units(total=14, available=11, held=3, booked=0)
    assert seats.horizon == Units(total=34, available=25, held=4, booked=5)
    assert len(seats.by_day) == 30
    assert seats.by_day[0] == (today, seats.today)
    assert seats.by_day[5] == (today + timedelta(days=5), Units(20, 14, 1, 5))
    assert seats.by_day[1] == (today + timedelta(days=1), Units())

    assert rooms.today == Units(total=5, available=4, held=0, booked=1)
    assert rooms.horizon == Units(total=12, available=10, held=0, booked=2)
    assert rooms.by_day[29] == (today + timedelta(days=29), Units(2, 2, 0, 0))


def test_holds_and_conversion(known_data):
    now = timezone.now()
    assert figures.hold_figures(now) == figures.HoldFigures(active=2, expiring_soon=1, overdue=1)
    conversion = figures.conversion(now)
    assert conversion == figures.Conversion(
        created=7, confirmed=2, cancelled=1, released=1, expired=2, still_held=2
    )
    assert conversion.rate_decided == pytest.approx(2 / 5)
    assert conversion.rate_overall == pytest.approx(2 / 7)


def test_holds_per_hour(known_data):
    now = timezone.now()
    per_hour = figures.holds_per_hour(now)
    assert len(per_hour) == 24
    assert per_hour[-1][0] == now.replace(minute=0, second=0, microsecond=0)
    assert [hour for hour, _ in per_hour] == sorted(hour for hour, _ in per_hour)
    # Every booking but the two-day-old one; the two made overdue are an hour back.
    assert sum(n for _, n in per_hour) == 7
    assert per_hour[-1][1] + per_hour[-2][1] == 7
    assert per_hour[-1][1] >= 5


def test_last_sweep_is_the_latest_sweep_run(known_data):
    run = SweepRun.objects.get()
    assert figures.last_sweep() == figures.SweepReport(
        at=run.finished_at, expired=1, outcome="Finished", error=""
    )
    expired = services.expire_overdue_holds()
    latest = SweepRun.objects.order_by("-started_at").first()
    assert figures.last_sweep().at == latest.finished_at
    assert figures.last_sweep().expired == expired


def test_last_reconcile_is_the_latest_reconciliation_run(known_data):
    reconcile()
    report = figures.last_reconcile()
    assert (report.drift, report.outcome) == (0, "Finished")


def test_no_sweep_yet(db):
    assert figures.last_sweep() is None
    assert figures.last_reconcile() is None


def test_lock_timeouts_are_counted_across_processes_in_redis(db):
    now = timezone.now()
    before = metrics.process_lock_timeouts().get("customer", 0)
    with locks.acquire(locks.customer_key(1)):
        for _ in range(2):
            with pytest.raises(locks.LockTimeout), locks.acquire(locks.customer_key(1), wait=0.01):
                pass
    # An hour ago still counts; 25 hours ago does not.
    metrics.count_lock_timeout("cabin", now=now - timedelta(hours=1))
    metrics.count_lock_timeout("cabin", now=now - timedelta(hours=25))

    assert metrics.recent_lock_timeouts(hours=24, now=now) == {"cabin": 1, "customer": 2}
    assert metrics.process_lock_timeouts()["customer"] == before + 2


# --- The page -------------------------------------------------------------------------


def test_the_page_shows_the_figures(superuser, known_data):
    html = client_of(superuser).get(DASHBOARD).content.decode()

    assert row_numbers(html, "ops-seats") == [14, 11, 3, 0, 34, 25, 4, 5]
    assert row_numbers(html, "ops-roomnights") == [5, 4, 0, 1, 12, 10, 0, 2]
    assert figure(html, "active") == "2"
    assert figure(html, "expiring-soon") == "1"
    assert figure(html, "overdue") == "1"
    assert figure(html, "rate-decided") == "40.0%"
    assert figure(html, "rate-overall") == "28.6%"
    assert figure(html, "created") == "7"
    assert figure(html, "confirmed") == "2"
    assert figure(html, "expired") == "2"
    assert "expired 1" in figure(html, "sweep")
    assert figure(html, "reconcile") == "not run yet"
    reconcile()
    html = client_of(superuser).get(DASHBOARD).content.decode()
    assert figure(html, "reconcile").startswith("0 rows drifted")
    assert figure(html, "lock-timeouts").startswith("0 ")
    # Three inline charts, the held seats of today among the bars.
    assert html.count('<figure class="chart">') == 3
    assert html.count('<svg viewBox="0 0 720 220"') == 3
    assert f"<title>{known_data['today']:%d %b}: 3 held</title>" in html
    assert "<script" not in html.split('id="content-main"')[1]


def test_the_page_costs_the_same_queries_however_much_data(superuser, known_data):
    client = client_of(superuser)
    client.get(DASHBOARD)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DASHBOARD).status_code == 200
        return len(captured)

    before = page_queries()
    today = known_data["today"]
    for offset in range(0, 60, 3):
        cabin = flight_on(today + timedelta(days=offset), economy=30)["economy"]
        for _ in range(3):
            make_overdue(hold_through_services(UserFactory(), cabin, seats=2))
            hold_through_services(UserFactory(), cabin, seats=1)
    services.expire_overdue_holds()
    assert page_queries() == before
    # The session and the user, then one query for each of the 9 figures,
    # three for the webhooks and the outbox, and two for the payments.
    assert before <= 16, before


def test_the_page_is_for_staff_who_may_see_bookings(
    superuser, agent, inventory_manager, bare_staff, shopper
):
    for user in (superuser, agent, inventory_manager):
        response = client_of(user).get(DASHBOARD)
        assert response.status_code == 200
        assert b"Operations dashboard" in response.content
    assert client_of(bare_staff).get(DASHBOARD).status_code == 403
    for client in (client_of(shopper), Client()):
        response = client.get(DASHBOARD)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_to_the_dashboard(agent, bare_staff):
    link = f'href="{DASHBOARD}"'
    assert link in client_of(agent).get(reverse("admin:index")).content.decode()
    assert link not in client_of(bare_staff).get(reverse("admin:index")).content.decode()
