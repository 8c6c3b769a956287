"""One demo user per staff group, for `seed_demo`."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from bookings.staff_groups import BOOKING_AGENTS, INVENTORY_MANAGERS, ensure_staff_groups

DEMO_STAFF = [("agent", BOOKING_AGENTS), ("inventory", INVENTORY_MANAGERS)]


def ensure_demo_staff(passwords: dict[str, str]) -> list[tuple[str, str]]:
    """Create (or bring back in line) the demo booking agent and inventory
    manager with the given passwords (by username); returns their (username,
    password). Running it again with the same passwords changes nothing, and
    leaves their sessions alone."""
    ensure_staff_groups()
    User = get_user_model()
    credentials = []
    for username, group_name in DEMO_STAFF:
        password = passwords[username]
        user, _ = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        changed = not user.is_staff or user.is_superuser or not user.is_active
        user.is_staff, user.is_superuser, user.is_active = True, False, True
        if not user.check_password(password):
            user.set_password(password)
            changed = True
        if changed:
            user.save()
        user.groups.set([Group.objects.get(name=group_name)])
        credentials.append((username, password))
    return credentials
