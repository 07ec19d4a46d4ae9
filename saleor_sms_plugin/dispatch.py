"""Sending due messages: claim, decide, render, send, record.

A batch costs a constant number of queries whatever its size: one UPDATE claims the rows
(`FOR UPDATE SKIP LOCKED`, so dispatchers running side by side never share a row), one
SELECT loads them, one UPDATE stores the rendered texts, and one UPDATE records every outcome.
Each UPDATE is conditional on the row still being `sending` under the batch's claim token, so
a late or repeated worker cannot overwrite what another recorded; a batch that outlives a
third of the lease renews its hold, and a text goes out only while its batch holds the row
(leases.py).

Texts left `sending` by a worker that died are settled by `recover_all`, its own periodic
task: it takes their rows over and asks the provider about them concurrently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import facts, flows, scheduling
from .backends import Lookup, OutgoingSms, SendResult, get_backend
from .composing import MessageDraft, compose, missing_variable_reason, segment_figures
from .conf import ChannelSettings, get_channel_settings
from .constants import TRANSACTIONAL_FLOWS, Consent, Flow, SkipReason, Status
from .exceptions import (
    InvalidRecipient,
    LeaseLost,
    RecipientOptedOut,
    SmsError,
    TransientSmsError,
    UncertainDelivery,
)
from .leases import Lease
from .models import Message, Recipient
from .settings import get_setting
from .signals import message_sending, message_sent, message_status_changed
from .texts import MissingVariables

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
MAX_RETRY_DELAY = timedelta(hours=1)
TABLE = Message._meta.db_table


@dataclass
class Outcome:
    """What happens to one claimed message; `None` fields leave the column unchanged."""

    message_id: int
    status: Status
    reason: str = ""
    body: str | None = None
    language: str | None = None
    encoding: str | None = None
    segments: int | None = None
    provider_id: str | None = None
    error_code: int | None = None
    error_message: str = ""
    due_at: datetime | None = None
    sent_at: datetime | None = None
    # Deferring to quiet hours is not an attempt to send.
    refund_attempt: bool = False


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    unconfirmed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status == Status.SENT:
            self.sent += 1
        elif outcome.status == Status.SKIPPED:
            self.skipped += 1
        elif outcome.status == Status.FAILED:
            self.failed += 1
        elif outcome.status == Status.SCHEDULED and outcome.refund_attempt:
            self.deferred += 1
        elif outcome.status == Status.SCHEDULED:
            self.retried += 1
        elif outcome.status == Status.SENDING:
            self.unconfirmed += 1


def dispatch_due(
    *, batch_size: int = DEFAULT_BATCH_SIZE, now: datetime | None = None
) -> BatchReport:
    """Claim up to `batch_size` due messages and send them."""
    now = now or timezone.now()
    return process(claim_due(batch_size, now), now)


def dispatch_all(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    time_budget: float | None = None,
    loops: int | None = None,
) -> int:
    """Send due messages batch after batch until none is left or `time_budget` seconds passed.

    `loops` batch loops run side by side (`SALEOR_SMS_DISPATCH_LOOPS`, 3 by default), the
    calling thread being one of them: while one waits for the provider's answers, another
    claims, renders and records. SKIP LOCKED keeps their batches apart, exactly as for two
    dispatchers in two processes. Returns how many messages were claimed.
    """

    def batch() -> tuple[int, bool]:
        report = dispatch_due(batch_size=batch_size)
        return report.claimed, report.claimed >= batch_size

    return _loops_side_by_side(batch, loops, time_budget)


def _loops_side_by_side(
    batch: Callable[[], tuple[int, bool]], loops: int | None, time_budget: float | None
) -> int:
    """Run `batch` in `loops` loops side by side (`SALEOR_SMS_DISPATCH_LOOPS` by default), the
    calling thread being one, each until `batch` says there is no more or `time_budget`
    seconds passed; `batch` returns (a count, whether to go on). Returns the counts' sum."""
    loops = loops or get_setting("SALEOR_SMS_DISPATCH_LOOPS")
    deadline = time.monotonic() + time_budget if time_budget is not None else None

    def loop() -> int:
        total = 0
        while deadline is None or time.monotonic() < deadline:
            count, more = batch()
            total += count
            if not more:
                break
        return total

    def side_loop() -> int:
        try:
            return loop()
        finally:
            connection.close()  # this thread's own database connection

    if loops <= 1:
        return loop()
    with ThreadPoolExecutor(loops - 1, thread_name_prefix="sms-dispatch") as pool:
        others = [pool.submit(side_loop) for _ in range(loops - 1)]
        return loop() + sum(other.result() for other in others)


def send_message(message_id: int, now: datetime | None = None) -> BatchReport:
    """Send one message now if it is scheduled and due; a no-op otherwise."""
    now = now or timezone.now()
    return process(claim_ids([message_id], now), now)


def claim_due(limit: int, now: datetime) -> Lease:
    return _claim(
        f"SELECT id FROM {TABLE} WHERE status = %s AND due_at <= %s "  # noqa: S608 (table name)
        "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
        [Status.SCHEDULED.value, now, limit],
        now,
    )


def claim_ids(ids: Sequence[int], now: datetime) -> Lease:
    return _claim(
        f"SELECT id FROM {TABLE} WHERE id = ANY(%s) AND status = %s AND due_at <= %s "  # noqa: S608
        "FOR UPDATE SKIP LOCKED",
        [list(ids), Status.SCHEDULED.value, now],
        now,
    )


def _claim(select_sql: str, params: list[Any], now: datetime) -> Lease:
    sql = (
        f"UPDATE {TABLE} SET status = %s, claimed_at = %s, renewed_at = NULL, "  # noqa: S608
        "updated_at = %s, attempts = attempts + 1, claim_token = claim_token + 1 "
        f"WHERE id IN ({select_sql}) RETURNING id, claim_token"
    )
    return _lease(sql, [Status.SENDING.value, now, now, *params])


def _lease(sql: str, params: list[Any]) -> Lease:
    """The lease on the rows a claiming statement returns, as (id, claim token) each."""
    duration = get_setting("SALEOR_SMS_SENDING_LEASE")
    confirmed = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return Lease(dict(cursor.fetchall()), duration, confirmed)


def process(lease: Lease, now: datetime) -> BatchReport:
    """Decide, render, send and record the claimed messages."""
    report = BatchReport(claimed=len(lease))
    if not lease:
        return report
    messages = list(Message.objects.filter(id__in=lease.ids).select_related("recipient"))
    channels = _channel_settings({message.channel_slug for message in messages})
    ready: list[tuple[Message, MessageDraft]] = []
    recent = facts.recent_marketing_sends(messages, channels, now)
    unconfirmed = facts.unconfirmed_orders(messages)
    for message in messages:
        outcome, draft = _prepare(
            message, channels.get(message.channel_slug), now, recent, unconfirmed
        )
        if outcome is not None:
            report.add(outcome)
        else:
            assert draft is not None
            ready.append((message, draft))
    stored = _store_drafts(ready, lease)
    for outcome in _send(ready, channels, now, stored, lease):
        report.add(outcome)
    with transaction.atomic():
        # A follow-up exists exactly when the text before it is recorded as sent.
        record(report.outcomes, now, tokens=lease.tokens)
        scheduling.schedule_follow_ups(_sent(messages, report.outcomes), channels, now)
        _release_after_confirmations(messages, report.outcomes, now)
    _after_recording(messages, report.outcomes)
    return report


def _sent(messages: Iterable[Message], outcomes: Iterable[Outcome]) -> list[Message]:
    sent_ids = {outcome.message_id for outcome in outcomes if outcome.status == Status.SENT}
    return [message for message in messages if message.id in sent_ids]


def _release_after_confirmations(
    messages: Iterable[Message], outcomes: Iterable[Outcome], now: datetime
) -> None:
    """Texts held back for an order's confirmation go out once it is recorded: sent, or
    settled without sending (skipped, failed)."""
    settled = {
        outcome.message_id
        for outcome in outcomes
        if outcome.status in (Status.SENT, Status.SKIPPED, Status.FAILED)
    }
    order_ids = {
        message.order_id
        for message in messages
        if message.id in settled and message.flow == Flow.ORDER_CONFIRMATION and message.order_id
    }
    released = scheduling.release_after_confirmation(order_ids, now)
    if released:
        from .handlers import enqueue_after_commit  # handlers imports this module

        enqueue_after_commit(released)


def _channel_settings(slugs: Iterable[str]) -> dict[str, ChannelSettings | None]:
    return {slug: get_channel_settings(slug) for slug in slugs}


def _prepare(
    message: Message,
    channel: ChannelSettings | None,
    now: datetime,
    recent: facts.RecentSends,
    unconfirmed: set[str],
) -> tuple[Outcome | None, MessageDraft | None]:
    decision = flows.decide(
        Flow(message.flow),
        facts.recipient_facts(message.recipient, channel, recent),
        channel,
        now,
        facts.message_facts(message, unconfirmed),
    )
    if isinstance(decision, flows.Skip):
        return Outcome(message.id, Status.SKIPPED, reason=decision.reason.value), None
    if isinstance(decision, flows.Defer):
        return Outcome(
            message.id,
            Status.SCHEDULED,
            reason=decision.reason,
            due_at=decision.until,
            refund_attempt=True,
        ), None
    assert channel is not None
    try:
        draft = compose(message, channel)
    except MissingVariables as missing:
        logger.warning("Message %s is not sent: %s", message.id, missing)
        return Outcome(message.id, Status.SKIPPED, reason=missing_variable_reason(missing)), None
    message_sending.send(sender=Message, message=message, draft=draft)
    if draft.vetoed_because:
        return Outcome(message.id, Status.SKIPPED, reason=SkipReason.VETOED.value), None
    facts.note_sending(recent, message, now)
    return None, draft


def _store_drafts(ready: list[tuple[Message, MessageDraft]], lease: Lease) -> dict[int, Outcome]:
    """The drafts stored, by message id: only for rows the batch still holds."""
    # The body is stored before sending so that a worker that dies mid-batch leaves enough
    # behind to ask the provider whether the text went out (see recover_stale).
    outcomes = []
    for message, draft in ready:
        encoding, segments = segment_figures(draft.body)
        outcomes.append(
            Outcome(
                message.id,
                Status.SENDING,
                body=draft.body,
                language=draft.language,
                encoding=encoding,
                segments=segments,
            )
        )
    stored = record(outcomes, timezone.now(), tokens=lease.tokens, keep_status=True)
    lease.drop({outcome.message_id for outcome in outcomes} - stored)
    return {outcome.message_id: outcome for outcome in outcomes if outcome.message_id in stored}


def _send(
    ready: list[tuple[Message, MessageDraft]],
    channels: dict[str, ChannelSettings | None],
    now: datetime,
    stored: dict[int, Outcome],
    lease: Lease,
) -> list[Outcome]:
    """Send the stored drafts; a text whose row the batch lost is not sent and gets no
    outcome (whoever took the row over decides)."""
    by_channel: dict[str, list[tuple[Message, MessageDraft]]] = {}
    for message, draft in ready:
        if message.id in stored:
            by_channel.setdefault(message.channel_slug, []).append((message, draft))
    outcomes: list[Outcome] = []
    for slug, items in by_channel.items():
        channel = channels[slug]
        assert channel is not None
        backend = get_backend(channel)
        batch = [
            OutgoingSms(
                to=message.recipient.phone or "",
                body=draft.body,
                status_callback=status_callback_url(channel, message.id),
                message_id=message.id,
            )
            for message, draft in items
        ]
        results = backend.send_many(batch, lease)
        for (message, _), result in zip(items, results, strict=True):
            if not isinstance(result, LeaseLost):
                outcomes.append(_outcome_of_send(message, stored[message.id], result, now))
    return outcomes


def status_callback_url(channel: ChannelSettings, message_id: int) -> str:
    url = channel.callback_url("twilio/status")
    return f"{url}?message={message_id}" if url else ""


def _outcome_of_send(
    message: Message, stored: Outcome, result: SendResult | SmsError, now: datetime
) -> Outcome:
    """`stored` is the draft as recorded before sending: body, language, segments."""
    outcome = replace(stored, status=Status.SENT)
    if isinstance(result, SendResult):
        outcome.provider_id, outcome.sent_at = result.provider_id, now
        outcome.segments = result.segments or stored.segments
        return outcome
    outcome.error_code, outcome.error_message = result.code, str(result)[:1000]
    if isinstance(result, UncertainDelivery):
        # Left `sending`: after the lease, `recover_stale` asks the provider whether it went
        # out, exactly as for a worker that died between sending and recording.
        logger.warning(
            "Message %s: %s; the provider is asked before it is sent again", message.id, result
        )
        outcome.status, outcome.reason = Status.SENDING, "unconfirmed"
        return outcome
    if result.retryable and message.attempts < max_attempts():
        outcome.status, outcome.reason = Status.SCHEDULED, "retrying"
        outcome.due_at = now + retry_delay(message.attempts)
        return outcome
    logger.warning("Message %s failed: %s", message.id, result)
    outcome.status = Status.FAILED
    outcome.reason = "retries_exhausted" if result.retryable else _failure_reason(result)
    return outcome


def _failure_reason(error: SmsError) -> str:
    if isinstance(error, RecipientOptedOut):
        return SkipReason.OPTED_OUT.value
    if isinstance(error, InvalidRecipient):
        return SkipReason.INVALID_PHONE.value
    return "provider_error"


def max_attempts() -> int:
    return int(get_setting("SALEOR_SMS_MAX_ATTEMPTS"))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, ... capped at an hour."""
    base: timedelta = get_setting("SALEOR_SMS_RETRY_DELAY")
    return min(base * (2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "varchar"),
    ("reason", "varchar"),
    ("body", "text"),
    ("language", "varchar"),
    ("encoding", "varchar"),
    ("segments", "integer"),
    ("provider_id", "varchar"),
    ("error_code", "integer"),
    ("error_message", "text"),
    ("due_at", "timestamptz"),
    ("sent_at", "timestamptz"),
    ("refund", "integer"),
)
NULLABLE_KEEP = {"body", "language", "encoding", "segments", "provider_id", "due_at", "sent_at"}


def record(
    outcomes: Sequence[Outcome],
    now: datetime,
    *,
    tokens: Mapping[int, int],
    keep_status: bool = False,
) -> set[int]:
    """Store outcomes of claimed messages in one UPDATE; returns the ids of the rows changed.

    Only rows still `sending` under the claim token in `tokens` change: what a status callback
    or another worker already recorded, or a row another worker took over, is never touched.
    """
    if not outcomes:
        return set()
    # One array per column (unnest), not one placeholder per value: the statement text stays
    # the same whatever the batch size, and the driver does not parse thousands of them.
    columns: list[list[Any]] = [[] for _ in range(len(COLUMNS) + 2)]
    for outcome in outcomes:
        for column, value in zip(
            columns,
            (
                outcome.message_id,
                tokens[outcome.message_id],
                outcome.status.value,
                outcome.reason,
                outcome.body,
                outcome.language,
                outcome.encoding,
                outcome.segments,
                outcome.provider_id,
                outcome.error_code,
                outcome.error_message,
                outcome.due_at,
                outcome.sent_at,
                1 if outcome.refund_attempt else 0,
            ),
            strict=True,
        ):
            column.append(value)
    assignments = [
        f"{name} = COALESCE(v.{name}, m.{name})" if name in NULLABLE_KEEP else f"{name} = v.{name}"
        for name, _ in COLUMNS
        if name not in {"refund"} and not (keep_status and name in {"status", "reason"})
    ]
    assignments.append("attempts = m.attempts - v.refund")
    assignments.append("updated_at = %s")
    arrays = ", ".join(["%s::bigint[]", "%s::bigint[]"] + [f"%s::{kind}[]" for _, kind in COLUMNS])
    names = ", ".join(["id", "claim_token"] + [name for name, _ in COLUMNS])
    sql = (
        f"UPDATE {TABLE} AS m SET {', '.join(assignments)} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({names}) "
        "WHERE m.id = v.id AND m.claim_token = v.claim_token AND m.status = %s RETURNING m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *columns, Status.SENDING.value])  # SET comes before FROM
        return {row[0] for row in cursor.fetchall()}


def _after_recording(messages: list[Message], outcomes: list[Outcome]) -> None:
    by_id = {message.id: message for message in messages}
    for outcome in outcomes:
        message = by_id[outcome.message_id]
        if outcome.status == Status.SENT:
            message.status, message.provider_id = Status.SENT, outcome.provider_id
            message.body = outcome.body or message.body
            message_sent.send(sender=Message, message=message)
        elif outcome.status in (Status.FAILED, Status.SKIPPED):
            message_status_changed.send(
                sender=Message,
                message_id=message.id,
                status=outcome.status.value,
                previous_status=Status.SENDING.value,
                error_code=outcome.error_code,
            )
        if outcome.status == Status.FAILED and message.recipient_id:
            _flag_recipient(message, outcome)


def _flag_recipient(message: Message, outcome: Outcome) -> None:
    if outcome.reason == SkipReason.OPTED_OUT:
        opt_out(message.recipient_id, source="carrier")
    elif outcome.reason == SkipReason.INVALID_PHONE:
        Recipient.objects.filter(pk=message.recipient_id).update(
            unreachable_code=outcome.error_code
        )
        cancel_pending(recipient_id=message.recipient_id, reason=SkipReason.INVALID_PHONE)


def opt_out(recipient_id: int, *, source: str) -> int:
    """Record an opt-out and cancel every pending marketing text; returns texts cancelled."""
    Recipient.objects.filter(pk=recipient_id).update(
        consent=Consent.OPTED_OUT, consent_source=source, consent_changed_at=timezone.now()
    )
    return cancel_pending(
        recipient_id=recipient_id, reason=SkipReason.OPTED_OUT, marketing_only=True
    )


def cancel_pending(
    *,
    reason: SkipReason | str,
    recipient_id: int | None = None,
    order_id: str | None = None,
    flows_to_cancel: Iterable[str] | None = None,
    marketing_only: bool = False,
) -> int:
    """Cancel scheduled texts matching the filters; returns how many were cancelled."""
    queryset = Message.objects.filter(status=Status.SCHEDULED)
    if recipient_id is not None:
        queryset = queryset.filter(recipient_id=recipient_id)
    if order_id is not None:
        queryset = queryset.filter(order_id=order_id)
    if flows_to_cancel is not None:
        queryset = queryset.filter(flow__in=list(flows_to_cancel))
    if marketing_only:
        queryset = queryset.exclude(flow__in=[flow.value for flow in TRANSACTIONAL_FLOWS])
    return queryset.update(status=Status.CANCELLED, reason=str(reason), updated_at=timezone.now())


def recover_stale(now: datetime | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Settle up to `batch_size` messages left `sending` past their lease by a worker that
    died (or could not finish); returns how many were settled.

    Their rows are taken over (a new claim token, so their last holder can change nothing),
    then the provider is asked whether each text went out, `SALEOR_SMS_CONCURRENCY` questions
    at a time on the sending threads. If it did, the message is recorded as sent; if not, it
    is scheduled again. Nothing is sent twice and nothing is lost.
    """
    return _recover_batch(now or timezone.now(), batch_size).settled


def recover_all(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    time_budget: float | None = None,
    loops: int | None = None,
) -> int:
    """Settle stale messages batch after batch, in batch loops side by side as `dispatch_all`
    sends, until none is left, the provider cannot be asked, or `time_budget` seconds passed;
    returns how many were settled."""

    def batch() -> tuple[int, bool]:
        report = _recover_batch(timezone.now(), batch_size)
        # Rows the provider could not be asked about were given back: the next run asks.
        return report.settled, report.taken >= batch_size and not report.unsettled

    return _loops_side_by_side(batch, loops, time_budget)


@dataclass
class RecoveryReport:
    """Rows taken over; settled (recorded sent, or scheduled again); given back unasked."""

    taken: int = 0
    settled: int = 0
    unsettled: int = 0


def _recover_batch(now: datetime, batch_size: int) -> RecoveryReport:
    lease = _take_over_stale(now, batch_size)
    if not lease:
        return RecoveryReport()
    stale = list(Message.objects.filter(id__in=lease.ids).select_related("recipient"))
    channels = _channel_settings({message.channel_slug for message in stale})
    outcomes, unsettled = _settle_stale(stale, channels, lease, now)
    with transaction.atomic():
        settled = record(outcomes, now, tokens=lease.tokens)
        scheduling.schedule_follow_ups(_sent(stale, outcomes), channels, now)
        _release_after_confirmations(stale, outcomes, now)
    lease.release(unsettled)
    return RecoveryReport(len(lease), len(settled), len(unsettled))


def _take_over_stale(now: datetime, limit: int) -> Lease:
    """Claim rows nobody renewed for a whole lease, oldest claims first."""
    cutoff = now - get_setting("SALEOR_SMS_SENDING_LEASE")
    return _lease(
        f"UPDATE {TABLE} SET claim_token = claim_token + 1, renewed_at = %s "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {TABLE} WHERE status = %s AND claimed_at < %s "
        "AND (renewed_at IS NULL OR renewed_at < %s) ORDER BY claimed_at LIMIT %s "
        "FOR UPDATE SKIP LOCKED) RETURNING id, claim_token",
        [now, Status.SENDING.value, cutoff, cutoff, limit],
    )


def _settle_stale(
    stale: list[Message],
    channels: dict[str, ChannelSettings | None],
    lease: Lease,
    now: datetime,
) -> tuple[list[Outcome], list[int]]:
    """Outcomes for the stale messages, and the ids of those the provider could not be
    asked about."""
    outcomes: list[Outcome] = []
    by_channel: dict[str, list[Message]] = {}
    for message in stale:
        if not message.body or channels[message.channel_slug] is None or not message.recipient:
            # Nothing was stored to send, or nobody is left to ask about (the channel is
            # gone, the recipient erased): scheduled again, to be decided when due.
            outcomes.append(_not_sent(message))
        else:
            by_channel.setdefault(message.channel_slug, []).append(message)
    unsettled: list[int] = []
    for slug, messages in by_channel.items():
        channel = channels[slug]
        assert channel is not None
        lookups = [_lookup(message, now) for message in messages]
        for message, found in zip(
            messages, get_backend(channel).find_sent_many(lookups, lease), strict=True
        ):
            if isinstance(found, LeaseLost):
                continue  # another recovery took it over
            if isinstance(found, SmsError):
                if not isinstance(found, TransientSmsError):
                    logger.warning("Could not look up stale message %s: %s", message.id, found)
                unsettled.append(message.id)  # asked again on the next run
            else:
                outcomes.append(_found(message, found) if found else _not_sent(message))
    return outcomes, unsettled


def _lookup(message: Message, now: datetime) -> Lookup:
    assert message.recipient is not None
    since = (message.claimed_at or now) - timedelta(minutes=1)
    return Lookup(message.recipient.phone or "", message.body, since, message.id)


def _found(message: Message, provider_id: str) -> Outcome:
    return Outcome(
        message.id,
        Status.SENT,
        reason="recovered",
        provider_id=provider_id,
        sent_at=message.claimed_at,
    )


def _not_sent(message: Message) -> Outcome:
    return Outcome(message.id, Status.SCHEDULED, reason="recovered", refund_attempt=True)
