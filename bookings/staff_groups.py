"""The staff roles of the back office, as Django groups.

A data migration creates them, so every fresh database has them; the demo
seed and the tests call `ensure_staff_groups` too, since a flushed test
database has lost what migrations wrote. Each call makes a group's
permissions exactly what is listed here.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

BOOKING_AGENTS = "Booking agents"
INVENTORY_MANAGERS = "Inventory managers"

# What anyone who may look at bookings needs, the inlines included.
VIEW_BOOKINGS = [
    "bookings.view_booking",
    "bookings.view_flightitem",
    "bookings.view_hotelitem",
    "bookings.view_bookingstatuschange",
]

STAFF_GROUPS: dict[str, list[str]] = {
    BOOKING_AGENTS: [*VIEW_BOOKINGS, "bookings.cancel_booking"],
    INVENTORY_MANAGERS: [
        *VIEW_BOOKINGS,
        # Adding is creating flights with their cabins, cabins on a flight,
        # hotels with room types, and putting nights on sale; the admin does
        # each through the inventory services. Nothing is ever deleted.
        *(
            f"{app}.{action}_{model}"
            for app, model in (
                ("flights", "flight"),
                ("flights", "flightinventory"),
                ("hotels", "hotel"),
                ("hotels", "roomtype"),
                ("hotels", "roomnight"),
            )
            for action in ("view", "add", "change")
        ),
    ],
}


def ensure_staff_groups(apps=global_apps) -> None:
    """Create or update the groups. `apps` is a migration's historical
    registry when called from one."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Permissions are normally created after `migrate` (post_migrate): make
    # sure the ones named here exist already.
    for label in ("bookings", "flights", "hotels"):
        app_config = apps.get_app_config(label)
        stub = getattr(app_config, "models_module", None) is None  # a migration's app
        if stub:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if stub:
            app_config.models_module = None
    for name, codes in STAFF_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def remove_staff_groups(apps=global_apps) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=list(STAFF_GROUPS)).delete()
