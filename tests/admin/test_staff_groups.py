"""The staff groups of a fresh database, and the demo staff of the seed."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from bookings.demo_staff import ensure_demo_staff
from bookings.staff_groups import BOOKING_AGENTS, INVENTORY_MANAGERS, STAFF_GROUPS


def permissions_of(group_name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["0002_staff_groups", "0006_inventory_managers_can_add"])
def test_the_migrations_create_both_groups_on_their_historical_models(name):
    loader = MigrationExecutor(connection).loader
    migration = loader.get_migration("bookings", name)
    state = loader.project_state(("bookings", name))
    Group.objects.all().delete()

    create_groups = next(op for op in migration.operations if hasattr(op, "code")).code
    create_groups(state.apps, None)

    assert permissions_of(BOOKING_AGENTS) == set(STAFF_GROUPS[BOOKING_AGENTS])
    assert permissions_of(INVENTORY_MANAGERS) == set(STAFF_GROUPS[INVENTORY_MANAGERS])


def test_what_each_group_may_do(agent, inventory_manager):
    assert agent.has_perm("bookings.view_booking")
    assert agent.has_perm("bookings.cancel_booking")
    assert not agent.has_perm("flights.change_flightinventory")
    assert not agent.has_perm("hotels.change_roomnight")
    assert not agent.has_perm("bookings.change_booking")

    assert inventory_manager.has_perm("bookings.view_booking")
    assert not inventory_manager.has_perm("bookings.cancel_booking")
    for permission in (
        "flights.change_flight",
        "flights.change_flightinventory",
        "hotels.change_hotel",
        "hotels.change_roomtype",
        "hotels.change_roomnight",
    ):
        assert inventory_manager.has_perm(permission)
    assert not inventory_manager.has_perm("flights.delete_flight")
    assert not inventory_manager.has_perm("hotels.delete_roomnight")


@pytest.mark.parametrize(
    "model",
    [
        "flights.flight",
        "flights.flightinventory",
        "hotels.hotel",
        "hotels.roomtype",
        "hotels.roomnight",
    ],
)
def test_inventory_managers_may_add_and_change_inventory_and_agents_may_not(
    agent, inventory_manager, model
):
    app, name = model.split(".")
    for action in ("view", "add", "change"):
        assert inventory_manager.has_perm(f"{app}.{action}_{name}")
        assert not agent.has_perm(f"{app}.{action}_{name}")
    assert not inventory_manager.has_perm(f"{app}.delete_{name}")


@pytest.mark.django_db
def test_demo_staff_can_log_in_and_a_second_run_changes_nothing():
    passwords = {"agent": "agent-test-pass", "inventory": "inventory-test-pass"}
    first = ensure_demo_staff(passwords)
    assert [username for username, _ in first] == ["agent", "inventory"]
    client = Client()
    for username, password in first:
        assert client.login(username=username, password=password)
        assert client.get(reverse("admin:dashboard")).status_code == 200
    users = get_user_model().objects.filter(username__in=["agent", "inventory"])
    hashes = dict(users.values_list("username", "password"))

    assert ensure_demo_staff(passwords) == first
    assert dict(users.values_list("username", "password")) == hashes  # sessions survive
    agent = users.get(username="agent")
    assert list(agent.groups.values_list("name", flat=True)) == [BOOKING_AGENTS]
    assert agent.is_staff and not agent.is_superuser
    assert users.get(username="inventory").has_perm("flights.change_flightinventory")


@pytest.mark.django_db
def test_demo_staff_takes_back_a_demoted_user():
    passwords = {"agent": "agent-test-pass", "inventory": "inventory-test-pass"}
    ensure_demo_staff(passwords)
    get_user_model().objects.filter(username="agent").update(is_staff=False, is_active=False)
    ensure_demo_staff(passwords)
    agent = get_user_model().objects.get(username="agent")
    assert agent.is_staff and agent.is_active
