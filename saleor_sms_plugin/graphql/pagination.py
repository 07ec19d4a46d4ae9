"""Relay cursor pagination on querysets, newest first, by keyset on the primary key.

A page costs one query whatever its position (`WHERE id < cursor ORDER BY id DESC LIMIT n+1`);
`totalCount` costs one COUNT, only when asked for. Cursors are opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import QuerySet
from graphene import relay
from graphql import GraphQLError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
CURSOR_PREFIX = "sms:"


def to_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{pk}".encode()).decode()


def from_cursor(cursor: str) -> int:
    """The primary key a cursor stands for; raises GraphQLError for a cursor we did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from error
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        raise GraphQLError(f"Invalid cursor: {cursor!r}")
    return int(text[len(CURSOR_PREFIX) :])


def page_size(first: int | None, last: int | None) -> int:
    if first is not None and last is not None:
        raise GraphQLError("Pass either `first` or `last`, not both.")
    size = first if first is not None else last
    if size is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"Requesting {size} records exceeds the limit of {MAX_PAGE_SIZE} records per page."
        )
    return size


def paginate(
    queryset: QuerySet[Any],
    connection_type: Any,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    **_: Any,
) -> Any:
    """One page of `queryset` (newest first) as an instance of `connection_type`.

    `first`/`after` walk towards older rows, `last`/`before` towards newer ones.
    """
    size = page_size(first, last)
    window = queryset
    if after is not None:
        window = window.filter(pk__lt=from_cursor(after))
    if before is not None:
        window = window.filter(pk__gt=from_cursor(before))
    backwards = last is not None
    ordered = window.order_by("pk" if backwards else "-pk")
    rows = list(ordered[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    edges = [connection_type.Edge(node=row, cursor=to_cursor(row.pk)) for row in rows]
    page_info = relay.PageInfo(
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
        # Keyset pages know about the side they move towards; the other side has rows
        # exactly when the client came from there with a cursor.
        has_next_page=has_more if not backwards else before is not None,
        has_previous_page=has_more if backwards else after is not None,
    )
    connection = connection_type(edges=edges, page_info=page_info)
    connection.queryset = queryset
    return connection
