"""The one way inventory counters move, shared by flight cabins and room
nights: one statement that locks the rows in primary-key order and moves the
units between two counter columns, `SET held = held + n` (what `F()` does),
on the rows as they are once locked.

It is written in SQL rather than with the ORM because every hold and every
cancel runs it, and on the rows a rush contends for: as one statement the
rows stay locked from this statement to the commit, one round trip, and the
ORM's query building (most of a request's CPU when profiled) is skipped.
"""

from collections.abc import Mapping

from django.db import connection
from django.db.models import Model

_MOVE_SQL = """
WITH moves AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(units)s::integer[]) AS m(id, n)
), locked AS MATERIALIZED (
    SELECT id FROM {table} WHERE id IN (SELECT id FROM moves) ORDER BY id FOR NO KEY UPDATE
)
UPDATE {table} AS inv
SET {source} = inv.{source} - moves.n, {target} = inv.{target} + moves.n
FROM moves JOIN locked ON locked.id = moves.id
WHERE inv.id = moves.id {only_if_available}
RETURNING inv.id
"""


def move_units(
    model: type[Model],
    units_by_row: Mapping[int, int],
    *,
    source: str,
    target: str,
    only_if_available: bool = False,
) -> set[int]:
    """Move `units_by_row[pk]` units from the `source` counter field to the
    `target` counter field of each row; returns the primary keys of the rows
    moved. The rows are locked in primary-key order first (FOR NO KEY UPDATE:
    the counters are not a key, so inserting a booking item that references a
    row is not blocked), so two callers never deadlock. With
    `only_if_available`, a row whose `source` counter holds fewer units than
    asked is left as it is (and is missing from the result): the caller rolls
    back. Otherwise the database's CheckConstraints refuse a move that would
    make a counter negative. The caller runs it inside transaction.atomic()."""
    if not units_by_row:
        return set()
    fields = model._meta
    source_column = fields.get_field(source).column
    sql = _MOVE_SQL.format(
        table=connection.ops.quote_name(fields.db_table),
        source=connection.ops.quote_name(source_column),
        target=connection.ops.quote_name(fields.get_field(target).column),
        only_if_available=(
            f"AND inv.{connection.ops.quote_name(source_column)} >= moves.n"
            if only_if_available
            else ""
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(units_by_row), "units": list(units_by_row.values())})
        return {pk for (pk,) in cursor.fetchall()}
