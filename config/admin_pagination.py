"""Changelists of the big tables without counting them: Django's admin counts
every row for its "N results" and its page links, a full scan of a year of
bookings or room nights on every unfiltered page. Unfiltered, PostgreSQL's
own estimate (`pg_class.reltuples`, kept by autovacuum's ANALYZE) is close
enough for a page count; a filtered list is counted exactly, through the
indexes its filters use."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    # Below this many rows counting is cheap and exact counts read better.
    exact_up_to = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = table_estimate(queryset.model._meta.db_table, using=queryset.db)
            if estimate > self.exact_up_to:
                return estimate
        return super().count


def table_estimate(table: str, *, using: str = "default") -> int:
    """PostgreSQL's estimate of the rows of `table`; -1 before its first ANALYZE."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return -1 if row is None else row[0]
