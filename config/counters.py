"""The one way inventory counters move, shared by flight cabins and room
nights: `F()` expressions in one UPDATE, on rows the caller has locked."""

from collections.abc import Mapping

from django.db.models import Case, F, IntegerField, Model, Value, When


def move_units(
    model: type[Model], units_by_row: Mapping[int, int], *, source: str, target: str
) -> None:
    """Move `units_by_row[pk]` units from the `source` counter field to the
    `target` counter field of each row, in one UPDATE. The database's
    CheckConstraints refuse a move that would make a counter negative."""
    if not units_by_row:
        return
    amount = _amount(units_by_row)
    model.objects.filter(pk__in=list(units_by_row)).update(
        **{source: F(source) - amount, target: F(target) + amount}
    )


def _amount(units_by_row: Mapping[int, int]):
    """How many units each row moves: a constant when they all move the same
    number (the usual case: one cabin, or every night of a stay), which is
    much cheaper to compile than a CASE over the rows."""
    amounts = set(units_by_row.values())
    if len(amounts) == 1:
        return Value(amounts.pop())
    return Case(
        *(When(pk=pk, then=Value(n)) for pk, n in units_by_row.items()),
        output_field=IntegerField(),
    )
