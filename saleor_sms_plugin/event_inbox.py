"""The event inbox: what an event source reports, stored at once and handled in a worker.

A hook running inside the shopper's request records its event with one INSERT in the
request's transaction (`record_event`); a repeated report of the same (kind, key) records
nothing. Once the transaction commits, a task is handed to a worker without waiting on the
broker (`task_queue.enqueue`), and a periodic sweep (`process_due`) handles whatever that task
did not: the broker was down, the task was lost.

Each event is handled in a transaction that holds its row (`FOR UPDATE SKIP LOCKED`) and marks
it processed together with the handler's own writes, so a handler succeeds once per event
however many workers try. A failure rolls the handler's writes back and is recorded with its
error; the event is tried again after a backoff (30 s, doubled each time, at most an hour),
never dropped. So is an event of a kind no handler is registered for in the worker: it waits,
reported in the log, until code that handles it runs there.

Events are handled in no set order, and perhaps well after they happened: a handler reads the
current state of what it works on (an order may have been cancelled meanwhile).

Handlers are registered by kind, in a module every process imports (an app's `ready`):

    @event_inbox.handles("saleor.order_created")
    def order_created(event: event_inbox.RecordedEvent) -> None: ...
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import task_queue
from .models import InboxEvent
from .statements import quoted

logger = logging.getLogger(__name__)

MAX_KIND_LENGTH = 64
MAX_KEY_LENGTH = 255
MAX_PAYLOAD_BYTES = 64 * 1024
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
# Handled events are kept this long (to see what happened), then purged.
KEEP_PROCESSED = timedelta(days=7)
PURGE_BATCH_SIZE = 10_000
MAX_ERROR_LENGTH = 2000
# How JSON writes a NUL character: \u0000 not itself escaped (preceded by pairs of backslashes).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class InvalidEvent(ValueError):
    """An event that cannot be recorded: its kind, key or payload is not what the inbox keeps."""


@dataclass(frozen=True)
class RecordedEvent:
    """What a handler receives: the event as recorded."""

    id: int
    kind: str
    key: str
    channel_slug: str
    payload: dict[str, Any]
    recorded_at: datetime
    # This run's number: 1 the first time, 2 after one failure, ...
    attempt: int


EventHandler = Callable[[RecordedEvent], object]

_handlers: dict[str, EventHandler] = {}


def register_handler(kind: str, handler: EventHandler) -> None:
    """Make `handler` the one that handles events of `kind` in this process.

    The handler runs in a worker, in the transaction that marks the event processed: its
    writes commit with that mark and its `transaction.on_commit` callbacks run after it. An
    exception rolls its writes back and has the event tried again later, so anything else it
    does (a request to another service) may happen twice: defer it with `on_commit`.

    Registering the same function again changes nothing; another one for a handled kind
    raises ValueError, since an event is handled once, by one handler.
    """
    current = _handlers.get(kind)
    if current is not None and current is not handler:
        raise ValueError(f"events of kind {kind!r} are already handled by {current!r}")
    _handlers[kind] = handler


def handles(kind: str) -> Callable[[EventHandler], EventHandler]:
    """Decorator form of `register_handler`."""

    def register(handler: EventHandler) -> EventHandler:
        register_handler(kind, handler)
        return handler

    return register


def unregister_handler(kind: str) -> None:
    """Stop handling `kind` in this process (its events wait, kept, from now on)."""
    _handlers.pop(kind, None)


# Recording ----------------------------------------------------------------------------------


def record_event(kind: str, key: str, *, channel_slug: str, payload: dict[str, Any]) -> bool:
    """Record an event in the caller's transaction; a worker handles it once that commits.

    One INSERT: True when recorded, False when (kind, key) was recorded before (a repeated
    hook), in which case nothing else happens. The payload should be small (the ids a handler
    needs to load what it works on): at most 64 KiB of JSON. Raises InvalidEvent, recording
    nothing, for an empty or overlong kind or key or a payload that is not such JSON.
    """
    encoded = _encoded_payload(kind, payload)
    _check_names(kind, key, channel_slug)
    now = timezone.now()
    alias = router.db_for_write(InboxEvent)
    with connections[alias].cursor() as cursor:
        cursor.execute(_insert_statement(), [kind, key, channel_slug, encoded, now, now])
        row = cursor.fetchone()
    if row is None:
        return False
    transaction.on_commit(functools.partial(_publish, row[0]), using=alias)
    return True


def _check_names(kind: str, key: str, channel_slug: str) -> None:
    for name, value, limit in (
        ("kind", kind, MAX_KIND_LENGTH),
        ("key", key, MAX_KEY_LENGTH),
    ):
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            raise InvalidEvent(f"an event's {name} is a text of 1 to {limit} characters: {value!r}")
    if not isinstance(channel_slug, str) or len(channel_slug) > MAX_KEY_LENGTH:
        raise InvalidEvent(
            f"an event's channel slug is a text of at most 255 characters: {channel_slug!r}"
        )


def _encoded_payload(kind: str, payload: dict[str, Any]) -> str:
    if not isinstance(payload, dict):
        raise InvalidEvent(f"the payload of a {kind!r} event is a dict, not {type(payload)!r}")
    try:
        encoded = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidEvent(f"the payload of a {kind!r} event is not JSON: {error}") from error
    if _NUL_ESCAPE.search(encoded):  # PostgreSQL's jsonb has no place for a NUL character
        raise InvalidEvent(f"the payload of a {kind!r} event contains a NUL character")
    if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidEvent(
            f"the payload of a {kind!r} event is over {MAX_PAYLOAD_BYTES} bytes of JSON: "
            "record ids and load the rest in the handler"
        )
    return encoded


@functools.cache
def _insert_statement() -> str:
    columns = ", ".join(
        quoted(InboxEvent, name)
        for name in ("kind", "key", "channel_slug", "payload", "created_at", "next_attempt_at")
    )
    key = f"{quoted(InboxEvent, 'kind')}, {quoted(InboxEvent, 'key')}"
    return (
        f"INSERT INTO {quoted(InboxEvent)} ({columns}, {quoted(InboxEvent, 'attempts')}, "  # noqa: S608 - names from the model
        f"{quoted(InboxEvent, 'last_error')}) VALUES (%s, %s, %s, %s::jsonb, %s, %s, 0, '') "
        f"ON CONFLICT ({key}) DO NOTHING RETURNING {quoted(InboxEvent, 'id')}"
    )


def _publish(event_id: int) -> None:
    from .tasks import process_event_task

    # Not taken by the broker: the periodic sweep handles the event.
    task_queue.enqueue(process_event_task, event_id)


# Handling -----------------------------------------------------------------------------------


class Outcome(StrEnum):
    PROCESSED = "processed"
    FAILED = "failed"  # the handler raised: retried after a backoff
    UNHANDLED = "unhandled"  # no handler for its kind here: retried after a backoff
    NOT_DUE = "not_due"  # processed already, held by another worker, or waiting for its retry


@dataclass
class SweepReport:
    counts: dict[Outcome, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def processed(self) -> int:
        return self.counts.get(Outcome.PROCESSED, 0)

    @property
    def tried(self) -> int:
        return sum(self.counts.values())


def process_event(event_id: int, now: datetime | None = None) -> Outcome:
    """Handle one event if it is due and no other worker holds it (the after-commit task)."""
    with transaction.atomic(using=router.db_for_write(InboxEvent)):
        event = _claim(InboxEvent.objects.filter(pk=event_id), now or timezone.now())
        if event is None:
            return Outcome.NOT_DUE
        return _handle(event, now or timezone.now())


def process_due(*, time_budget: float | None = None, now: datetime | None = None) -> SweepReport:
    """Handle due events, oldest due first, one transaction each, until none is left or
    `time_budget` seconds have passed. Several workers may sweep at once."""
    started, report = time.monotonic(), SweepReport()
    due = InboxEvent.objects.order_by("next_attempt_at")
    while time_budget is None or time.monotonic() - started < time_budget:
        with transaction.atomic(using=router.db_for_write(InboxEvent)):
            event = _claim(due, now or timezone.now())
            if event is None:
                break
            report.add(_handle(event, now or timezone.now()))
    return report


def _claim(events: QuerySet[InboxEvent], now: datetime) -> InboxEvent | None:
    return (
        events.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True, next_attempt_at__lte=now)
        .first()
    )


def _handle(event: InboxEvent, now: datetime) -> Outcome:
    handler = _handlers.get(event.kind)
    if handler is None:
        retry_at = _record_failure(event, now, f"no handler is registered for {event.kind!r}")
        logger.error(
            "Event %s (%s %s) has no handler in this process; kept, tried again at %s",
            *(event.pk, event.kind, event.key, retry_at),
        )
        return Outcome.UNHANDLED
    try:
        with transaction.atomic(using=router.db_for_write(InboxEvent)):
            handler(_recorded(event))
    except Exception as error:  # any handler's failure: recorded and retried, never lost
        text = "".join(traceback.format_exception_only(error)).strip()
        retry_at = _record_failure(event, now, text)
        logger.exception(
            "Handling event %s (%s %s) failed; tried again at %s",
            *(event.pk, event.kind, event.key, retry_at),
        )
        return Outcome.FAILED
    InboxEvent.objects.filter(pk=event.pk).update(
        attempts=event.attempts + 1, processed_at=timezone.now(), last_error=""
    )
    return Outcome.PROCESSED


def _recorded(event: InboxEvent) -> RecordedEvent:
    return RecordedEvent(
        id=event.pk,
        kind=event.kind,
        key=event.key,
        channel_slug=event.channel_slug,
        payload=event.payload,
        recorded_at=event.created_at,
        attempt=event.attempts + 1,
    )


def _record_failure(event: InboxEvent, now: datetime, error: str) -> datetime:
    attempts = event.attempts + 1
    retry_at = now + retry_delay(attempts)
    InboxEvent.objects.filter(pk=event.pk).update(
        attempts=attempts, next_attempt_at=retry_at, last_error=error[:MAX_ERROR_LENGTH]
    )
    return retry_at


def retry_delay(failures: int) -> timedelta:
    """30 s after the first failure, doubled after each next one, at most an hour."""
    doublings = min(max(failures - 1, 0), 20)  # past the cap long before; no overflow
    return min(FIRST_RETRY_DELAY * 2**doublings, MAX_RETRY_DELAY)


def purge_processed(now: datetime | None = None) -> int:
    """Delete up to PURGE_BATCH_SIZE events handled more than KEEP_PROCESSED ago; returns how
    many. Unhandled events are never purged."""
    cutoff = (now or timezone.now()) - KEEP_PROCESSED
    oldest = InboxEvent.objects.filter(processed_at__lt=cutoff).values("pk")[:PURGE_BATCH_SIZE]
    deleted, _ = InboxEvent.objects.filter(pk__in=oldest).delete()
    return deleted
