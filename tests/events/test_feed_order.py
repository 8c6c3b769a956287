"""The feed under concurrent writes: an event that commits after a reader has
moved past later ones still shows up after the reader's cursor. Two real
transactions on two connections, committing out of order."""

import threading

import pytest
from django.db import connection, transaction

from events import deliveries
from events.models import Event
from events.services import relay_pending
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

FEED = "/api/v1/events/"


def in_open_transaction(created: threading.Event, commit: threading.Event, out: list):
    """Write an event, then keep the transaction open until told to commit."""
    try:
        with transaction.atomic():
            out.append(Event.objects.create(type="booking.held", data={"booking": {}}))
            created.set()
            assert commit.wait(10)
    finally:
        connection.close()


def test_an_event_committed_late_appears_after_the_cursor_of_a_reader_who_passed_it(staff):
    client = client_for(staff)
    created, commit, out = threading.Event(), threading.Event(), []
    slow = threading.Thread(target=in_open_transaction, args=(created, commit, out))
    slow.start()
    try:
        assert created.wait(10)
        fast = Event.objects.create(type="booking.held", data={"booking": {}})  # commits first
        (late,) = out
        assert late.id < fast.id  # created first: paging by id would hide it

        relay_pending()
        page = client.get(FEED).json()
        assert [e["id"] for e in page["results"]] == [fast.id]
        cursor = page["results"][-1]["id"]
    finally:
        commit.set()
        slow.join()

    relay_pending()
    after = client.get(FEED, {"after": cursor}).json()["results"]
    assert [e["id"] for e in after] == [late.id]


def test_two_relays_never_interleave_their_sequences(monkeypatch):
    """A relay that has numbered its batch holds the others back until it
    commits, so the numbers it gave are below every later one in commit order."""
    Event.objects.create(type="booking.held", data={"booking": {}})
    numbered, release = threading.Event(), threading.Event()
    plan = deliveries.plan

    def slow_plan(events):
        if threading.current_thread().name == "first":
            numbered.set()
            assert release.wait(10)
        return plan(events)

    monkeypatch.setattr(deliveries, "plan", slow_plan)

    def relay():
        try:
            relay_pending()
        finally:
            connection.close()

    first = threading.Thread(target=relay, name="first")
    first.start()
    assert numbered.wait(10)
    second_event = Event.objects.create(type="booking.held", data={"booking": {}})
    second = threading.Thread(target=relay, name="second")
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first relay's lock
    release.set()
    first.join()
    second.join()
    sequences = dict(Event.objects.values_list("id", "sequence"))
    assert sorted(sequences.values()) == [1, 2]
    assert sequences[second_event.id] == 2
