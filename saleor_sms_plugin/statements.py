"""SQL written out once, for the few paths where composing a query costs more than running it.

Django's ORM spends about a millisecond of CPU composing a query with joins, several times
what PostgreSQL spends answering a lookup by key. The busiest requests (an offer link's click)
compose their statements once per process from the models' own table and column names, and
turn rows into model instances through `Model.from_db` with each field's converters, as the
ORM does. Fields not read are deferred: they load on first use, like those of `.only()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


def quoted(model: type[Model], field: str | None = None) -> str:
    """A model's table, or one of its fields' column, quoted for the model's database."""
    quote = connections[router.db_for_read(model)].ops.quote_name
    if field is None:
        return quote(model._meta.db_table)
    column = model._meta.get_field(field).column
    assert column is not None, f"{model.__name__}.{field} has no column"
    return quote(column)


@dataclass(frozen=True)
class Columns:
    """Some of a model's concrete fields, in the model's order, read through a table alias."""

    model: type[Model]
    alias: str
    fields: tuple[Field[Any, Any], ...]

    @classmethod
    def of(cls, model: type[Model], alias: str, attnames: Sequence[str]) -> Columns:
        wanted = set(attnames)
        fields = tuple(f for f in model._meta.concrete_fields if f.attname in wanted)
        missing = wanted - {f.attname for f in fields}
        if missing:
            raise LookupError(f"{model.__name__} has no columns {sorted(missing)}")
        return cls(model, alias, fields)

    @property
    def table(self) -> str:
        return f"{quoted(self.model)} {self.alias}"

    def __len__(self) -> int:
        return len(self.fields)

    def select_list(self) -> str:
        return ", ".join(f"{self.alias}.{quoted(self.model, f.name)}" for f in self.fields)

    def column(self, field: str) -> str:
        return f"{self.alias}.{quoted(self.model, field)}"

    def values(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """The row's values as the ORM hands them to a model (JSON parsed, and so on)."""
        converted = []
        for field, value in zip(self.fields, row, strict=True):
            for converter in field.get_db_converters(connection):
                value = converter(value, field.cached_col, connection)
            converted.append(value)
        return converted

    def instance(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> Model:
        attnames = [f.attname for f in self.fields]
        return self.model.from_db(connection.alias, attnames, self.values(row, connection))


def first_row(model: type[Model], sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row of a read about `model`, on the database the ORM would read it from."""
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
