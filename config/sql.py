"""Model instances from a hand-written query, for the few queries every hold
and cancel runs (README, Performance).

The ORM spends far more CPU building and compiling a query than PostgreSQL
spends running one of these (profiled: most of a hold's CPU), and a
`RawQuerySet` still maps its columns to fields on every run. `load` selects
the model's columns in a fixed order and builds the instances with
`Model.from_db`, as the ORM itself does, so they behave like any other.
"""

from functools import cache
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def columns(model: type[Model]) -> tuple[list[str], list[str]]:
    """The attribute names and the column names of `model`'s concrete fields."""
    fields = model._meta.concrete_fields
    return [field.attname for field in fields], [field.column for field in fields]


@cache
def select_list(model: type[Model], alias: str) -> str:
    """`alias.col, ...` for every concrete field of `model`, in `load`'s order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(column)}" for column in columns(model)[1])


def load(model: type[M], rest_of_query: str, params, *, alias: str) -> list[M]:
    """`SELECT <model's columns of alias> <rest_of_query>` as instances of
    `model`; `rest_of_query` starts with FROM and names the table `alias`."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_list(model, alias)} {rest_of_query}", params)
        return [build(model, row) for row in cursor.fetchall()]


def build(model: type[M], row) -> M:
    """An instance of `model` from its columns as `select_list` orders them
    (more columns may follow: they are left out)."""
    names = columns(model)[0]
    values = list(row[: len(names)])
    for i, expression, convert in _converters(model):
        values[i] = convert(values[i], expression, connection)
    return model.from_db(connection.alias, names, values)


@cache
def json_list(model: type[Model], alias: str) -> str:
    """SQL for one JSON array of `alias`'s columns as text, to read rows of a
    related table inside another query (`json_agg(...)`); `from_json` reads it."""
    quote = connection.ops.quote_name
    return "json_build_array({})".format(
        ", ".join(f"{alias}.{quote(column)}::text" for column in columns(model)[1])
    )


def from_json(model: type[M], values: list) -> M:
    """An instance of `model` from what `json_list` built: each field's
    `to_python` reads PostgreSQL's text form (numbers, decimals, dates, text;
    not booleans, which PostgreSQL writes as 'true' and Django reads as 't')."""
    fields = model._meta.concrete_fields
    values = [
        None if value is None else field.to_python(value)
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, columns(model)[0], values)


@cache
def _converters(model: type[Model]) -> list:
    """The fields' own conversions of what the database returns (a JSONField's
    `from_db_value`), which the ORM applies before `from_db`."""
    return [
        (i, field.get_col(model._meta.db_table), convert)
        for i, field in enumerate(model._meta.concrete_fields)
        for convert in field.get_db_converters(connection)
    ]
