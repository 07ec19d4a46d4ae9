"""What store staff do by hand: test texts, custom texts, win-back campaigns, cancelling texts,
recording consent and retrying failures. The GraphQL mutations call these; so may Python code.

Each function checks its input before it changes anything and raises `OperationError` naming
the field at fault and an `ErrorCode`. State changes are conditional UPDATEs, as everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.utils import timezone

from . import dispatch, handlers, scheduling
from .composing import MessageDraft, message_language, message_variables
from .conf import ChannelSettings, get_channel_settings
from .consent import Source
from .constants import Consent, Flow, SkipReason, Status
from .flows import PlannedMessage, Timings
from .models import Message, Recipient
from .phones import PhoneNumberRejected, normalize_phone
from .signals import message_sending
from .texts import render_text

# Twilio refuses bodies longer than this.
MAX_TEXT_LENGTH = 1600
MAX_INACTIVE_DAYS = 3650
RETRY_BATCH = 1000
CANCELLED_BY_STAFF = "cancelled_by_staff"
RETRIED_BY_STAFF = "retried_by_staff"
# Failures that a new attempt cannot fix: the number said STOP or cannot receive texts.
FINAL_FAILURES = (SkipReason.OPTED_OUT.value, SkipReason.INVALID_PHONE.value)


class ErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    NOT_FOUND = "not_found"
    INVALID_PHONE = "invalid_phone"
    CHANNEL_NOT_FOUND = "channel_not_found"
    CHANNEL_INACTIVE = "channel_inactive"
    FLOW_DISABLED = "flow_disabled"
    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    NOT_CANCELLABLE = "not_cancellable"


class OperationError(ValueError):
    """An operation refused its input; `field` names the argument at fault (None: all)."""

    def __init__(self, message: str, *, code: ErrorCode, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


# Test texts ---------------------------------------------------------------------------------


def send_test_message(
    channel_slug: str,
    phone: str,
    text: str | None = None,
    *,
    country: str = "",
    requested_by: str = "",
) -> Message:
    """Send a test text now, through the channel's provider settings; returns it as recorded.

    Without `text` the catalogue's test text goes out, in the channel's language. A test is
    transactional (no opt-in needed; a number that opted out still gets nothing) and tried
    once: a failure is recorded on the message (status, error code and message) instead of
    being retried.
    """
    channel = active_channel(channel_slug)
    if text is not None:
        text = _checked_text(text)
    recipient = _recipient(phone, country or channel.default_country)
    now = timezone.now()
    row = Message(
        channel_slug=channel.channel_slug,
        flow=Flow.TEST.value,
        dedupe_key=f"{Flow.TEST}:{uuid.uuid4().hex}",
        recipient=recipient,
        customer_ref=recipient.customer_ref,
        context={TEST_TEXT_KEY: text, "requested_by": requested_by},
        due_at=now,
    )
    # One transaction: no dispatcher elsewhere sees the row before this process sends it.
    with transaction.atomic():
        [message] = scheduling.insert_new([row])
        dispatch.send_message(message.pk)
        Message.objects.filter(pk=message.pk, status=Status.SCHEDULED).update(
            status=Status.FAILED, reason="test_not_retried", updated_at=timezone.now()
        )
    return Message.objects.select_related("recipient").get(pk=message.pk)


TEST_TEXT_KEY = "test_text"


@receiver(message_sending, dispatch_uid="saleor_sms_plugin.operations.test_text")
def _use_the_test_text(sender: Any, message: Message, draft: MessageDraft, **kwargs: Any) -> None:
    """A test text with its own words sends them instead of the catalogue's test text."""
    if message.flow == Flow.TEST and message.context.get(TEST_TEXT_KEY):
        draft.body = message.context[TEST_TEXT_KEY]


# Custom texts -------------------------------------------------------------------------------


def send_custom_message(
    channel_slug: str,
    phone: str,
    text: str,
    *,
    transactional: bool = False,
    country: str = "",
    order_id: str = "",
    order_number: str = "",
    idempotency_key: str = "",
    requested_by: str = "",
) -> Message:
    """Schedule a text written by staff to one number, sent as soon as a worker picks it up.

    A marketing text (the default) goes only to a number that opted in, and carries the opt-out
    line. A transactional text (about an order the customer placed: a delay, a question about
    the address) needs no opt-in, but never goes to a number that opted out. The same
    `idempotency_key` schedules once: a repeated call returns the first message.
    """
    channel = active_channel(channel_slug)
    text = _checked_text(text)
    recipient = _recipient(phone, country or channel.default_country)
    if recipient.consent == Consent.OPTED_OUT:
        raise OperationError(
            "The number opted out of texts.", code=ErrorCode.OPTED_OUT, field="phone"
        )
    if not transactional and recipient.consent != Consent.OPTED_IN:
        raise OperationError(
            "The number has not agreed to marketing texts; send a transactional text about "
            "an order, or record the customer's consent first.",
            code=ErrorCode.NO_CONSENT,
            field="phone",
        )
    key = f"{Flow.CUSTOM}:{idempotency_key or uuid.uuid4().hex}"
    row = Message(
        channel_slug=channel.channel_slug,
        flow=Flow.CUSTOM.value,
        dedupe_key=key,
        recipient=recipient,
        customer_ref=recipient.customer_ref,
        order_id=order_id,
        order_number=order_number,
        context={"transactional": transactional, "requested_by": requested_by},
        due_at=timezone.now(),
    )
    row.language = message_language(row, channel)
    row.body = text if transactional else f"{text}\n{_opt_out_line(row, channel)}"
    created = scheduling.insert_new([row])
    handlers.enqueue_due(created)
    return Message.objects.select_related("recipient").get(dedupe_key=key)


def _opt_out_line(message: Message, channel: ChannelSettings) -> str:
    variables = message_variables(message, channel, message.language)
    return render_text(
        "opt_out_line",
        message.language,
        variables,
        override=channel.text_override("opt_out_line"),
    )


# Win-back campaigns -------------------------------------------------------------------------

CAMPAIGN = "campaign"


def schedule_win_back_campaign(
    channel_slug: str,
    *,
    inactive_days: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> int:
    """Text every customer of the channel who has not bought for `inactive_days` (default: the
    channel's first win-back delay); returns how many texts were (or, dry, would be) scheduled.

    Only numbers that opted in, can receive texts and have no win-back text pending count.
    Each gets one text, once per day however often the campaign is started; a purchase
    cancels it like any win-back text. The periodic dispatcher sends them in batches, within
    the recipients' sending window and the frequency cap.
    """
    channel = active_channel(channel_slug)
    if not channel.flow_enabled(Flow.WIN_BACK):
        raise OperationError(
            "Turn on the win-back flow for this channel first.",
            code=ErrorCode.FLOW_DISABLED,
            field="channel",
        )
    timings = Timings.of(channel)
    if inactive_days is None:
        inactive_days = timings.win_back_first.days
    if not 1 <= inactive_days <= MAX_INACTIVE_DAYS:
        raise OperationError(
            f"Must be from 1 to {MAX_INACTIVE_DAYS} days.",
            code=ErrorCode.INVALID,
            field="inactive_days",
        )
    now = now or timezone.now()
    rows = [
        _campaign_row(candidate, channel_slug, now)
        for candidate in _lapsed_customers(channel_slug, now - timedelta(days=inactive_days))
    ]
    if dry_run:
        taken = set(
            Message.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).values_list(
                "dedupe_key", flat=True
            )
        )
        return sum(1 for row in rows if row.dedupe_key not in taken)
    return len(scheduling.insert_new_in_bulk(rows))


def _lapsed_customers(channel_slug: str, cutoff: datetime) -> list[dict[str, Any]]:
    """Per number that opted in and last bought before `cutoff`: its latest order text in the
    channel (which order, which customer), one query."""
    pending_win_back = Message.objects.filter(
        recipient_id=OuterRef("recipient_id"), flow=Flow.WIN_BACK, status=Status.SCHEDULED
    )
    return list(
        Message.objects.filter(
            channel_slug=channel_slug,
            recipient__consent=Consent.OPTED_IN,
            recipient__phone__isnull=False,
            recipient__unreachable_code__isnull=True,
            recipient__last_order_at__lt=cutoff,
        )
        .exclude(order_id="")
        .filter(~Exists(pending_win_back))
        .order_by("recipient_id", "-created_at")
        .distinct("recipient_id")
        .values("recipient_id", "order_id", "order_number", "customer_ref", "context")
    )


def _campaign_row(candidate: dict[str, Any], channel_slug: str, now: datetime) -> Message:
    planned = PlannedMessage(
        Flow.WIN_BACK,
        1,
        now,
        f"{Flow.WIN_BACK}:{CAMPAIGN}:{channel_slug}:{candidate['recipient_id']}:{now.date()}",
        # No purchase time: a campaign text starts no series of follow-ups.
        context={CAMPAIGN: True},
    )
    row = scheduling.message_row(
        planned,
        channel_slug=channel_slug,
        recipient=None,
        context={"order": candidate["context"].get("order", {})},
        order_id=candidate["order_id"],
        order_number=candidate["order_number"],
        customer_ref=candidate["customer_ref"],
    )
    row.recipient_id = candidate["recipient_id"]
    return row


# Cancelling and retrying --------------------------------------------------------------------


def cancel_scheduled_message(message_id: int) -> Message:
    """Cancel one text that has not been sent yet; returns it as recorded."""
    changed = Message.objects.filter(pk=message_id, status=Status.SCHEDULED).update(
        status=Status.CANCELLED, reason=CANCELLED_BY_STAFF, updated_at=timezone.now()
    )
    message = Message.objects.select_related("recipient").filter(pk=message_id).first()
    if message is None:
        raise OperationError("No such message.", code=ErrorCode.NOT_FOUND, field="id")
    if not changed:
        raise OperationError(
            f"The message is {message.status}: only scheduled messages can be cancelled.",
            code=ErrorCode.NOT_CANCELLABLE,
            field="id",
        )
    return message


def retry_failed_messages(
    *, channel_slug: str | None = None, message_ids: Sequence[int] | None = None
) -> list[Message]:
    """Schedule failed texts again, now, with their attempts reset; returns them.

    Texts that failed because the number opted out or cannot receive texts stay failed. At
    most RETRY_BATCH texts per call; the rules are checked again when each is sent.
    """
    now = timezone.now()
    failed = Message.objects.filter(status=Status.FAILED).exclude(reason__in=FINAL_FAILURES)
    if channel_slug:
        failed = failed.filter(channel_slug=channel_slug)
    if message_ids is not None:
        failed = failed.filter(pk__in=list(message_ids))
    with transaction.atomic():
        ids = list(
            failed.order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:RETRY_BATCH]
        )
        Message.objects.filter(pk__in=ids, status=Status.FAILED).update(
            status=Status.SCHEDULED,
            reason=RETRIED_BY_STAFF,
            due_at=now,
            attempts=0,
            provider_id=None,
            error_code=None,
            error_message="",
            sent_at=None,
            claimed_at=None,
            updated_at=now,
        )
        retried = list(Message.objects.filter(pk__in=ids).select_related("recipient"))
        handlers.enqueue_due(retried)
    return retried


# Consent ------------------------------------------------------------------------------------


def set_consent(
    phone: str,
    consent: Consent | str,
    *,
    channel_slug: str,
    country: str = "",
    source: str = Source.API,
) -> Recipient:
    """Record a number's consent to marketing texts.

    An opt-in is confirmed by text where the channel sends opt-in confirmations; an opt-out
    cancels the number's pending marketing texts.
    """
    try:
        consent = Consent(consent)
    except ValueError as error:
        raise OperationError(
            f"Unknown consent {consent!r}.", code=ErrorCode.INVALID, field="consent"
        ) from error
    if consent == Consent.UNKNOWN:
        raise OperationError(
            "Consent can be given or withdrawn, not forgotten.",
            code=ErrorCode.INVALID,
            field="consent",
        )
    channel = get_channel_settings(channel_slug)
    country = country or (channel.default_country if channel else "")
    try:
        if consent == Consent.OPTED_IN:
            recipient = handlers.grant_consent(phone, channel_slug, country=country, source=source)
        else:
            recipient = handlers.withdraw_consent(phone, country=country, source=source)
    except PhoneNumberRejected as error:
        raise OperationError(str(error), code=ErrorCode.INVALID_PHONE, field="phone") from error
    recipient.refresh_from_db()
    return recipient


# Shared checks ------------------------------------------------------------------------------


def active_channel(channel_slug: str) -> ChannelSettings:
    channel = get_channel_settings(channel_slug)
    if channel is None:
        raise OperationError(
            f"No channel {channel_slug!r} is configured.",
            code=ErrorCode.CHANNEL_NOT_FOUND,
            field="channel",
        )
    if not channel.active:
        raise OperationError(
            "The plugin is not active in this channel.",
            code=ErrorCode.CHANNEL_INACTIVE,
            field="channel",
        )
    return channel


def _checked_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise OperationError("Write the text to send.", code=ErrorCode.REQUIRED, field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise OperationError(
            f"A text may have at most {MAX_TEXT_LENGTH} characters.",
            code=ErrorCode.INVALID,
            field="text",
        )
    return text


def _recipient(phone: str, country: str) -> Recipient:
    try:
        normalized = normalize_phone(phone, country or None)
    except PhoneNumberRejected as error:
        raise OperationError(str(error), code=ErrorCode.INVALID_PHONE, field="phone") from error
    return scheduling.upsert_recipient(normalized)


def find_recipient(phone: str, country: str = "") -> Recipient | None:
    """The recipient row of a number written in any format, if the plugin knows it."""
    try:
        normalized = normalize_phone(phone, country or None)
    except PhoneNumberRejected:
        return None
    return Recipient.objects.filter(phone=normalized.e164).first()
