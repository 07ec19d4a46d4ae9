"""The statements an offer link's click runs, composed once per process (see `statements`).

A click reads its link with the message and the message's recipient in one statement, and
stores itself and marks the message clicked in another.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.db import connections, router

from .models import LinkClick, Message, OfferLink, Recipient
from .statements import Columns, quoted

#: What opening a link needs; the rest of each row loads if something asks for it.
LINK_FIELDS = (
    "id",
    "key",
    "message_id",
    "channel_slug",
    "offer_id",
    "voucher_code",
    "expires_at",
    "checkout_id",
    "checkout_token",
    "checkout_lines",
    "prepare_state",
)
MESSAGE_FIELDS = (
    "id",
    "channel_slug",
    "flow",
    "step",
    "order_id",
    "order_number",
    "customer_ref",
    "recipient_id",
    "context",
    "language",
    "status",
)
RECIPIENT_FIELDS = ("id", "language", "time_zone", "country")


@cache
def _link_lookup() -> tuple[str, Columns, Columns, Columns]:
    link = Columns.of(OfferLink, "l", LINK_FIELDS)
    message = Columns.of(Message, "m", MESSAGE_FIELDS)
    recipient = Columns.of(Recipient, "r", RECIPIENT_FIELDS)
    sql = (
        f"SELECT {link.select_list()}, {message.select_list()}, {recipient.select_list()} "  # noqa: S608 - names from the models
        f"FROM {link.table} JOIN {message.table} "
        f"ON {message.column('id')} = {link.column('message')} "
        f"LEFT JOIN {recipient.table} ON {recipient.column('id')} = {message.column('recipient')} "
        f"WHERE {link.column('key')} = %s AND {link.column('channel_slug')} = %s"
    )
    return sql, link, message, recipient


def find_link(key: str, channel_slug: str) -> OfferLink | None:
    """The channel's link with this key, its message and the message's recipient loaded."""
    sql, link_columns, message_columns, recipient_columns = _link_lookup()
    connection = connections[router.db_for_read(OfferLink)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, channel_slug])
        row = cursor.fetchone()
    if row is None:
        return None
    message_at = len(link_columns)
    recipient_at = message_at + len(message_columns)
    link = link_columns.instance(row[:message_at], connection)
    message = message_columns.instance(row[message_at:recipient_at], connection)
    recipient = (
        recipient_columns.instance(row[recipient_at:], connection)
        if row[recipient_at] is not None
        else None
    )
    Message.recipient.field.set_cached_value(message, recipient)
    OfferLink.message.field.set_cached_value(link, message)
    assert isinstance(link, OfferLink)
    return link


@cache
def _click_statements() -> tuple[str, str]:
    insert = (
        f"INSERT INTO {quoted(LinkClick)} ({quoted(LinkClick, 'link')}, "  # noqa: S608 - names from the models
        f"{quoted(LinkClick, 'clicked_at')}, {quoted(LinkClick, 'device')}) VALUES (%s, %s, %s)"
    )
    clicked_at = quoted(Message, "clicked_at")
    insert_and_mark = (
        f"WITH click AS ({insert}) "  # noqa: S608 - names from the models
        f"UPDATE {quoted(Message)} SET {clicked_at} = %s, {quoted(Message, 'updated_at')} = %s "
        f"WHERE {quoted(Message, 'id')} = %s AND {clicked_at} IS NULL"
    )
    return insert, insert_and_mark


def insert_click(link_id: int, device: str, now: datetime, message_id: int | None) -> bool:
    """Store a click; with `message_id`, also mark that message clicked if it was not yet.

    One statement either way. Returns True when this click marked the message.
    """
    insert, insert_and_mark = _click_statements()
    with connections[router.db_for_write(LinkClick)].cursor() as cursor:
        if message_id is None:
            cursor.execute(insert, [link_id, now, device])
            return False
        cursor.execute(insert_and_mark, [link_id, now, device, now, now, message_id])
        return bool(cursor.rowcount)
