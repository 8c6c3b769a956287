"""Inventory managers may now add flights, cabins, hotels, room types and room
nights in the back office (bookings/staff_groups.py): apply the groups'
permissions as listed there again. Going back leaves the extra permissions;
nothing depends on their absence."""

from django.db import migrations

from bookings.staff_groups import ensure_staff_groups


def apply_staff_groups(apps, schema_editor):
    ensure_staff_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0005_periodic_tasks"),
    ]

    operations = [
        migrations.RunPython(apply_staff_groups, migrations.RunPython.noop),
    ]
