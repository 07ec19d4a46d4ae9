"""Starting win-back for customers who bought before the plugin was installed.

A store hands over its past customers (number, last purchase, consent it holds for texts) and
each gets the first win-back text, due a week after that purchase or now if that is past. The
rows go in with COPY into a temporary table and two INSERT ... SELECT statements, so a million
customers take seconds, not hours. Repeating an import schedules nothing twice (dedupe keys),
never overwrites a recipient's consent, and never moves a newer purchase backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from .conf import get_channel_settings
from .constants import Consent, Flow, Status
from .flows import Timings
from .models import Message, Recipient

CHUNK = 200_000
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class PastCustomer:
    customer_ref: str
    phone: str  # E.164, as `phones.normalize_phone` writes it
    last_order_id: str
    last_purchase_at: datetime
    country: str = ""
    language: str = ""
    # The store holds this customer's consent to marketing texts.
    consented: bool = False


def start_win_back(
    channel_slug: str, customers: Iterable[PastCustomer], now: datetime | None = None
) -> int:
    """Schedule the first win-back text of each past customer; returns how many were new."""
    channel = get_channel_settings(channel_slug)
    if channel is None:
        raise ValueError(f"unknown channel {channel_slug!r}")
    timings = Timings.of(channel)
    now = now or timezone.now()
    scheduled = 0
    for chunk in _chunks(iter(customers), CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            _copy_into_temporary_table(cursor, chunk)
            _insert_recipients(cursor, now)
            scheduled += _insert_first_texts(cursor, channel_slug, timings, now)
    return scheduled


def _chunks(items: Iterator[PastCustomer], size: int) -> Iterator[list[PastCustomer]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _copy_into_temporary_table(cursor: CursorWrapper, customers: list[PastCustomer]) -> None:
    cursor.execute(
        "CREATE TEMPORARY TABLE sms_past_customer (customer_ref text, phone text, "
        "order_id text, purchase_at timestamptz, country text, language text, consented bool) "
        "ON COMMIT DROP"
    )
    raw = cursor.cursor  # psycopg's own cursor, for COPY
    with raw.copy("COPY sms_past_customer FROM STDIN") as copy:
        for customer in customers:
            copy.write_row(
                (
                    customer.customer_ref,
                    customer.phone,
                    customer.last_order_id,
                    customer.last_purchase_at,
                    customer.country.upper(),
                    customer.language,
                    customer.consented,
                )
            )
    cursor.execute("ANALYZE sms_past_customer")


def _insert_recipients(cursor: CursorWrapper, now: datetime) -> None:
    table = Recipient._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} AS r (phone, country, country_area, language, customer_ref, "  # noqa: S608
        "consent, consent_source, consent_changed_at, time_zone, last_order_at, "
        "created_at, updated_at) "
        "SELECT DISTINCT ON (phone) phone, country, '', language, customer_ref, "
        "CASE WHEN consented THEN %s ELSE %s END, CASE WHEN consented THEN %s ELSE '' END, "
        "CASE WHEN consented THEN %s::timestamptz END, '', purchase_at, %s, %s "
        "FROM sms_past_customer ORDER BY phone, purchase_at DESC "
        "ON CONFLICT (phone) DO UPDATE SET last_order_at = GREATEST(r.last_order_at, "
        "EXCLUDED.last_order_at)",
        [Consent.OPTED_IN.value, Consent.UNKNOWN.value, IMPORT_SOURCE, now, now, now],
    )


def _insert_first_texts(
    cursor: CursorWrapper, channel_slug: str, timings: Timings, now: datetime
) -> int:
    table, recipients = Message._meta.db_table, Recipient._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} (channel_slug, flow, step, dedupe_key, order_id, order_number, "  # noqa: S608
        "customer_ref, recipient_id, context, language, body, encoding, segments, status, "
        "reason, error_message, due_at, attempts, created_at, updated_at) "
        "SELECT %s, %s, 1, %s || p.customer_ref || ':' || p.order_id || ':1', p.order_id, '', "
        "p.customer_ref, r.id, jsonb_build_object('purchase_at', to_json(p.purchase_at)), "
        "'', '', '', 0, %s, '', '', GREATEST(p.purchase_at + %s, %s), 0, %s, %s "
        f"FROM sms_past_customer p JOIN {recipients} r ON r.phone = p.phone "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        [
            channel_slug,
            Flow.WIN_BACK.value,
            f"{Flow.WIN_BACK.value}:",
            Status.SCHEDULED.value,
            timings.win_back_first,
            now,
            now,
            now,
        ],
    )
    return int(cursor.rowcount)
