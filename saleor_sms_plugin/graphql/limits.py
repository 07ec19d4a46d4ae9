"""What one GraphQL request may cost: its body's size, its depth, fields, aliases and time.

The shape of a query is checked on its syntax tree, before graphql-core validates it: validation
compares every pair of fields with the same name (its cost grows with their square: 5,000
`__typename` took 8 s) and its rules recurse through fragments. Fragments are followed once
each and their figures reused wherever they are spread, so a query that nests fragments in
fragments costs its text, not its expansion. Each limit is a `SALEOR_SMS_GRAPHQL_*` setting; a
request over one gets a `QueryRefused` error that names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from graphql.execution.executors.sync import SyncExecutor
from graphql.language import ast

from ..settings import get_setting

MAX_BODY_SIZE = "SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE"
MAX_DEPTH = "SALEOR_SMS_GRAPHQL_MAX_DEPTH"
MAX_FIELDS = "SALEOR_SMS_GRAPHQL_MAX_FIELDS"
MAX_ALIASES = "SALEOR_SMS_GRAPHQL_MAX_ALIASES"
TIME_BUDGET = "SALEOR_SMS_GRAPHQL_TIME_BUDGET"


class QueryRefused(GraphQLError):
    """A request over one of the limits: `code` says which kind, `setting` names the limit."""

    def __init__(self, code: str, setting: str, limit: float, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.setting = setting
        self.limit = limit


def body_too_large(size: int, limit: int, setting: str = MAX_BODY_SIZE) -> QueryRefused:
    return QueryRefused(
        "RequestTooLarge",
        setting,
        limit,
        f"The request body is {size} bytes; the limit is {limit} bytes ({setting}).",
    )


def too_deep(limit: int) -> QueryRefused:
    return QueryRefused(
        "QueryTooDeep",
        MAX_DEPTH,
        limit,
        f"The query nests fields and fragments more than {limit} levels deep ({MAX_DEPTH}).",
    )


@dataclass(frozen=True)
class QueryLimits:
    """The limits in force; 0 turns one off."""

    max_body_size: int
    max_depth: int
    max_fields: int
    max_aliases: int
    time_budget: float  # seconds

    @classmethod
    def from_settings(cls) -> QueryLimits:
        return cls(
            max_body_size=get_setting(MAX_BODY_SIZE),
            max_depth=get_setting(MAX_DEPTH),
            max_fields=get_setting(MAX_FIELDS),
            max_aliases=get_setting(MAX_ALIASES),
            time_budget=get_setting(TIME_BUDGET).total_seconds(),
        )

    def check_body_size(self, size: int) -> None:
        if self.max_body_size and size > self.max_body_size:
            raise body_too_large(size, self.max_body_size)

    def check_document(self, document: ast.Document) -> None:
        """Raise QueryRefused when the document is deeper or selects more than allowed."""
        if not (self.max_depth or self.max_fields or self.max_aliases):
            return
        cost = DocumentCost.of(document, self.max_depth)
        if self.max_fields and cost.fields > self.max_fields:
            raise QueryRefused(
                "TooManyFields",
                MAX_FIELDS,
                self.max_fields,
                f"The query selects {cost.fields} fields (a fragment's counted wherever it is "
                f"spread); the limit is {self.max_fields} ({MAX_FIELDS}).",
            )
        if self.max_aliases and cost.aliases > self.max_aliases:
            raise QueryRefused(
                "TooManyAliases",
                MAX_ALIASES,
                self.max_aliases,
                f"The query has {cost.aliases} aliases (a fragment's counted wherever it is "
                f"spread); the limit is {self.max_aliases} ({MAX_ALIASES}).",
            )

    def unreadable_nesting(self) -> QueryRefused:
        """The error for a query nested too deeply for graphql-core's parser to read."""
        return QueryRefused(
            "QueryTooDeep",
            MAX_DEPTH,
            self.max_depth,
            f"The query nests too deeply to be read; at most {self.max_depth or 'a few hundred'}"
            f" levels of fields and fragments ({MAX_DEPTH}).",
        )

    def deadline(self) -> TimeBudget:
        """The time budget of a request starting now."""
        return TimeBudget(self.time_budget)


# The cost of a document ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    fields: int = 0
    aliases: int = 0
    depth: int = 0  # levels of fields and fragments, the selections' own included

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.fields + other.fields,
            self.aliases + other.aliases,
            max(self.depth, other.depth),
        )

    def nested(self, fields: int = 0, aliases: int = 0) -> Cost:
        """This cost one level down, under a field or a fragment."""
        return Cost(self.fields + fields, self.aliases + aliases, self.depth + 1)


class DocumentCost:
    """Fields, aliases and depth of every operation and fragment of a document.

    Raises QueryRefused (depth) as soon as a selection lies deeper than `max_depth`, so the
    walk never goes deeper than the limit, and GraphQLError for a fragment that spreads itself.
    """

    def __init__(self, document: ast.Document, max_depth: int) -> None:
        self.max_depth = max_depth
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, ast.FragmentDefinition)
        }
        self.memo: dict[str, Cost] = {}
        self.path: list[str] = []

    @classmethod
    def of(cls, document: ast.Document, max_depth: int) -> Cost:
        walk = cls(document, max_depth)
        total = Cost()
        for definition in document.definitions:
            if isinstance(definition, ast.OperationDefinition):
                total += walk.selections(definition.selection_set, 0)
        # Fragments no operation spreads are validated too, so they count as well.
        for name in walk.fragments:
            if name not in walk.memo:
                total += walk.fragment(name, 0)
        return total

    def selections(self, selection_set: ast.SelectionSet | None, level: int) -> Cost:
        """The cost of a selection set whose selections lie at `level` + 1."""
        if selection_set is None:
            return Cost()
        if self.max_depth and level >= self.max_depth:
            raise too_deep(self.max_depth)
        cost = Cost()
        for selection in selection_set.selections:
            cost += self.selection(selection, level + 1)
        return cost

    def selection(self, selection: Any, level: int) -> Cost:
        if isinstance(selection, ast.Field):
            inner = self.selections(selection.selection_set, level)
            return inner.nested(fields=1, aliases=int(selection.alias is not None))
        if isinstance(selection, ast.InlineFragment):
            return self.selections(selection.selection_set, level).nested()
        name = selection.name.value
        if name not in self.fragments:
            return Cost()  # validation names it
        if name in self.path:
            # graphql-core's validation would recurse around the cycle until Python stops it.
            via = self.path[self.path.index(name) + 1 :]
            through = f" via {', '.join(via)}" if via else ""
            raise GraphQLError(f'Cannot spread fragment "{name}" within itself{through}.')
        cost = self.fragment(name, level)
        if self.max_depth and level + cost.depth > self.max_depth:
            raise too_deep(self.max_depth)
        return cost.nested()

    def fragment(self, name: str, level: int) -> Cost:
        """A fragment's own cost (without the level of its spread), computed once."""
        if name not in self.memo:
            self.path.append(name)
            try:
                self.memo[name] = self.selections(self.fragments[name].selection_set, level)
            finally:
                self.path.pop()
        return self.memo[name]


# The time budget ------------------------------------------------------------------------------


class TimeBudget(SyncExecutor):
    """graphql-core's synchronous executor, resolving each field only while the budget lasts.

    A resolver already running is not interrupted; the budget stops the next field. In a
    mutation it stops the next mutation: one that ran answers in full, since what it did is
    done. (An executor rather than a middleware: graphql-core calls it for every field
    anyway, where a middleware added a quarter to the time of GraphiQL's introspection.)
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds if seconds > 0 else None

    @property
    def spent(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def check(self) -> None:
        if self.spent:
            raise QueryRefused(
                "TimeBudgetExceeded",
                TIME_BUDGET,
                self.seconds,
                f"The request ran over its time budget of {self.seconds:g} s ({TIME_BUDGET}).",
            )

    def execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        info = args[1]  # graphql-core resolves a field with (source, info, **arguments)
        if info.operation.operation != "mutation" or len(info.path) == 1:
            self.check()
        return fn(*args, **kwargs)
