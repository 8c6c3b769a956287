"""The permission to cancel bookings for customers, the "Booking agents" and
"Inventory managers" groups (bookings/staff_groups.py), and an index for the
dashboard's last-24-hours figures."""

from django.conf import settings
from django.db import migrations, models

from bookings.staff_groups import ensure_staff_groups, remove_staff_groups


def create_groups(apps, schema_editor):
    ensure_staff_groups(apps)


def delete_groups(apps, schema_editor):
    remove_staff_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_initial"),
        ("flights", "0001_initial"),
        ("hotels", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="booking",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [("cancel_booking", "Can release or cancel bookings for customers")],
            },
        ),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["created_at"], name="booking_created"),
        ),
        migrations.RunPython(create_groups, delete_groups),
    ]
