"""departure_date becomes a stored generated column: PostgreSQL computes it
from departure_at, so no write (bulk, raw SQL, the admin) can leave it out of
step. A column cannot be altered into a generated one, so it is dropped and
added again, with the unique constraint and the indexes that use it; existing
rows get their value when the column is added. Backwards, the plain column
comes back nullable, is filled, then made NOT NULL again."""

from django.db import migrations, models

import flights.models


class Migration(migrations.Migration):
    dependencies = [
        ("flights", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="flight", name="flight_number_unique_per_day"),
        migrations.RemoveIndex(model_name="flight", name="flight_route_day"),
        migrations.RemoveIndex(model_name="flight", name="flight_day"),
        migrations.AlterField(
            model_name="flight",
            name="departure_date",
            field=models.DateField(editable=False, null=True),
        ),
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql="UPDATE flights_flight SET departure_date = "
            "(departure_at AT TIME ZONE 'UTC')::date",
        ),
        migrations.RemoveField(model_name="flight", name="departure_date"),
        migrations.AddField(
            model_name="flight",
            name="departure_date",
            field=models.GeneratedField(
                db_persist=True,
                expression=flights.models.UtcDate("departure_at"),
                output_field=models.DateField(),
            ),
        ),
        migrations.AddConstraint(
            model_name="flight",
            constraint=models.UniqueConstraint(
                fields=("flight_number", "departure_date"), name="flight_number_unique_per_day"
            ),
        ),
        migrations.AddIndex(
            model_name="flight",
            index=models.Index(
                fields=["origin", "destination", "departure_date"], name="flight_route_day"
            ),
        ),
        migrations.AddIndex(
            model_name="flight",
            index=models.Index(fields=["departure_date"], name="flight_day"),
        ),
    ]
