"""Starting win-back for customers who bought before the plugin was installed.

A store hands over its past customers (number, last purchase, consent it holds for texts) and
each gets the first win-back text, due a week after that purchase or now if that is past. Each
chunk of customers goes in with COPY into a temporary table and one INSERT ... SELECT that
creates the recipients and their texts together; chunks run on several connections at once, so
a million customers take well under a minute. Repeating an import schedules nothing twice
(dedupe keys), never overwrites a recipient's consent, and never moves a newer purchase back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db import connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from .conf import get_channel_settings
from .constants import Consent, Flow, Status
from .flows import Timings
from .models import Message, Recipient

CHUNK = 50_000
PARALLEL = 2
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


@dataclass(frozen=True)
class _Import:
    channel_slug: str
    timings: Timings
    now: datetime


def start_win_back(
    channel_slug: str,
    customers: Iterable[PastCustomer],
    now: datetime | None = None,
    parallel: int = PARALLEL,
) -> int:
    """Schedule the first win-back text of each past customer; returns how many were new.

    Each chunk commits on its own (on its own connection when `parallel` > 1), so an import
    that stops half-way can simply be run again. Inside a transaction the import runs on the
    caller's connection, one chunk after another, and commits with it.
    """
    channel = get_channel_settings(channel_slug)
    if channel is None:
        raise ValueError(f"unknown channel {channel_slug!r}")
    job = _Import(channel_slug, Timings.of(channel), now or timezone.now())
    chunks = _chunks(iter(customers), CHUNK)
    if parallel <= 1 or connection.in_atomic_block:
        return sum(_import_chunk(job, chunk) for chunk in chunks)
    return _import_in_parallel(job, chunks, parallel)


def _import_in_parallel(job: _Import, chunks: Iterator[list[PastCustomer]], parallel: int) -> int:
    scheduled = 0
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        running: set[Future[int]] = set()
        for chunk in chunks:
            # Bounded: at most one chunk waits per connection, however long the input.
            if len(running) >= parallel:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                scheduled += sum(future.result() for future in done)
            running.add(pool.submit(_import_chunk_on_own_connection, job, chunk))
        scheduled += sum(future.result() for future in running)
    return scheduled


def _import_chunk_on_own_connection(job: _Import, chunk: list[PastCustomer]) -> int:
    try:
        return _import_chunk(job, chunk)
    finally:
        connections.close_all()  # this thread's connection


def _import_chunk(job: _Import, chunk: list[PastCustomer]) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")  # sort a chunk in memory, not on disk
        _copy_into_temporary_table(cursor, chunk)
        return _insert_recipients_and_texts(cursor, job)


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


def _insert_recipients_and_texts(cursor: CursorWrapper, job: _Import) -> int:
    # One statement: the recipients' INSERT returns their ids to the texts' INSERT, so no
    # lookup of the whole recipient table. An existing recipient keeps its consent; only its
    # last purchase may move forward.
    recipients, messages = Recipient._meta.db_table, Message._meta.db_table
    cursor.execute(
        f"WITH recipient AS (INSERT INTO {recipients} AS r (phone, country, country_area, "  # noqa: S608
        "language, customer_ref, consent, consent_source, consent_changed_at, time_zone, "
        "last_order_at, created_at, updated_at) "
        "SELECT DISTINCT ON (phone) phone, country, '', language, customer_ref, "
        "CASE WHEN consented THEN %(opted_in)s ELSE %(unknown)s END, "
        "CASE WHEN consented THEN %(source)s ELSE '' END, "
        "CASE WHEN consented THEN %(now)s::timestamptz END, '', purchase_at, %(now)s, %(now)s "
        "FROM sms_past_customer ORDER BY phone, purchase_at DESC "
        "ON CONFLICT (phone) DO UPDATE SET last_order_at = GREATEST(r.last_order_at, "
        "EXCLUDED.last_order_at) RETURNING r.id, r.phone) "
        f"INSERT INTO {messages} (channel_slug, flow, step, dedupe_key, order_id, order_number, "
        "customer_ref, recipient_id, context, language, body, encoding, segments, status, "
        "reason, error_message, due_at, attempts, created_at, updated_at) "
        "SELECT %(channel)s, %(flow)s, 1, %(key_prefix)s || p.customer_ref || ':' || p.order_id "
        "|| ':1', p.order_id, '', p.customer_ref, recipient.id, "
        "jsonb_build_object('purchase_at', to_json(p.purchase_at)), '', '', '', 0, "
        "%(scheduled)s, '', '', GREATEST(p.purchase_at + %(first)s, %(now)s), 0, %(now)s, "
        "%(now)s FROM sms_past_customer p JOIN recipient ON recipient.phone = p.phone "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        {
            "opted_in": Consent.OPTED_IN.value,
            "unknown": Consent.UNKNOWN.value,
            "source": IMPORT_SOURCE,
            "now": job.now,
            "channel": job.channel_slug,
            "flow": Flow.WIN_BACK.value,
            "key_prefix": f"{Flow.WIN_BACK.value}:",
            "scheduled": Status.SCHEDULED.value,
            "first": job.timings.win_back_first,
        },
    )
    return int(cursor.rowcount)
