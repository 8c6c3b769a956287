"""The big tables' changelists (bookings, cabins, room nights) count by
PostgreSQL's estimate when unfiltered (config/admin_pagination.py): no
COUNT(*) over the table on every page. Here the paginator's threshold is
lowered to 0, so a handful of rows, once ANALYZE has counted them, stands in
for a year of them."""

from datetime import date, timedelta

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Booking
from config.admin_pagination import EstimatedCountPaginator
from flights.models import FlightInventory
from hotels.models import RoomNight
from tests.factories import RoomTypeFactory, put_nights_on_sale

pytestmark = pytest.mark.django_db

NIGHTS = reverse("admin:hotels_roomnight_changelist")


@pytest.fixture
def client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def estimated(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 0)


def counts_of(client, url: str, table: str, **params) -> tuple[list[str], str]:
    """The COUNT statements over `table` the page ran, and the page."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    counts = [
        query["sql"]
        for query in captured
        if "COUNT(" in query["sql"].upper() and f'FROM "{table}"' in query["sql"]
    ]
    return counts, response.content.decode()


def seven_nights():
    put_nights_on_sale(RoomTypeFactory(), date.today() + timedelta(days=1), nights=7)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hotels_roomnight")


def test_an_unfiltered_changelist_counts_by_the_estimate(client, estimated):
    seven_nights()
    counts, page = counts_of(client, NIGHTS, "hotels_roomnight")
    assert counts == []
    assert "7 room nights" in page


def test_a_filtered_changelist_counts_exactly_and_once(client, estimated):
    """Exactly, through the filter's index; and not the table's total as
    well (`show_full_result_count = False`)."""
    seven_nights()
    tomorrow = date.today() + timedelta(days=1)
    counts, page = counts_of(
        client,
        NIGHTS,
        "hotels_roomnight",
        date__gte=str(tomorrow),
        date__lt=str(tomorrow + timedelta(days=2)),
    )
    assert len(counts) == 1
    assert "2 room nights" in page


def test_a_small_table_is_counted_exactly(client):
    seven_nights()
    counts, page = counts_of(client, NIGHTS, "hotels_roomnight")
    assert len(counts) == 1
    assert "7 room nights" in page


def test_the_nights_page_reads_no_night_beyond_its_page(client, estimated):
    """One statement reads room nights, the page's own (through the
    (date, ...) index): no date hierarchy reading every distinct year of the
    table, no count."""
    seven_nights()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(NIGHTS)
    assert response.status_code == 200
    reads = [query["sql"] for query in captured if 'FROM "hotels_roomnight"' in query["sql"]]
    assert len(reads) == 1, reads


@pytest.mark.parametrize("model", [Booking, FlightInventory, RoomNight])
def test_every_big_tables_changelist_uses_it(model):
    admin = site._registry[model]
    assert admin.paginator is EstimatedCountPaginator
    assert admin.show_full_result_count is False
