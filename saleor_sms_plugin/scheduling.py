"""Turning planned texts into Message rows, once, whatever happens to the hooks.

Every planned text carries a dedupe key that is unique in the table, so a hook delivered twice,
a retried task or two workers racing schedule each text once. Cancelling is one conditional
UPDATE on rows still `scheduled`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import flows
from .conf import ChannelSettings
from .constants import Flow, SkipReason, Status
from .events import AddressSnapshot, CustomerSnapshot, FulfillmentSnapshot, OrderSnapshot
from .flows import PlannedMessage
from .models import Message, Recipient
from .phones import NormalizedPhone, PhoneNumberRejected, first_textable
from .signals import message_scheduled
from .timezones import zone_name_for


def recipient_for_order(order: OrderSnapshot) -> Recipient:
    """The recipient row for the order's phone number, created on first sight.

    Raises PhoneNumberRejected when the order has no number that can receive texts.
    """
    phone = first_textable(order.phone_candidates())
    home = home_address(order.shipping_address, order.billing_address)
    recipient = upsert_recipient(
        phone,
        language=order.language_code,
        customer_ref=order.customer_ref,
        country_area=_country_area(order, phone),
        time_zone=zone_name_for(home.country, home.country_area) if home else "",
    )
    note_purchase(recipient, order.created_at)
    return recipient


def recipient_for_customer(customer: CustomerSnapshot) -> Recipient:
    """The recipient row for a customer account's number (default address first).

    Raises PhoneNumberRejected when the account has no number that can receive texts.
    """
    phone = first_textable(customer.phone_candidates())
    home = home_address(customer.default_address, *customer.addresses)
    return upsert_recipient(
        phone,
        language=customer.language_code,
        customer_ref=customer.customer_ref,
        country_area=home.country_area if home and home.country.upper() == phone.country else "",
        time_zone=zone_name_for(home.country, home.country_area) if home else "",
    )


def upsert_recipient(
    phone: NormalizedPhone,
    *,
    language: str = "",
    customer_ref: str = "",
    country_area: str = "",
    time_zone: str = "",
) -> Recipient:
    recipient, created = Recipient.objects.get_or_create(
        phone=phone.e164,
        defaults={
            "country": phone.country,
            "country_area": country_area,
            "language": language,
            "customer_ref": customer_ref,
            "time_zone": time_zone,
        },
    )
    changes = {
        name: value
        for name, value in (
            ("language", language),
            ("customer_ref", customer_ref),
            ("country_area", country_area),
            ("time_zone", time_zone),
        )
        if value and getattr(recipient, name) != value
    }
    if not created and changes:
        Recipient.objects.filter(pk=recipient.pk).update(**changes)
        for name, value in changes.items():
            setattr(recipient, name, value)
    return recipient


def home_address(*addresses: AddressSnapshot | None) -> AddressSnapshot | None:
    """The first address with a country: where the shopper lives, for their clock."""
    return next((address for address in addresses if address and address.country), None)


def note_purchase(recipient: Recipient, purchased_at: datetime) -> None:
    """Remember the newest purchase from this number (never moves backwards)."""
    Recipient.objects.filter(
        Q(last_order_at__isnull=True) | Q(last_order_at__lt=purchased_at), pk=recipient.pk
    ).update(last_order_at=purchased_at)


def _country_area(order: OrderSnapshot, phone: NormalizedPhone) -> str:
    for address in (order.shipping_address, order.billing_address):
        if address and address.country.upper() == phone.country and address.country_area:
            return address.country_area
    return ""


def schedule_for_order(
    order: OrderSnapshot,
    planned: Sequence[PlannedMessage],
    context: dict[str, Any] | None = None,
) -> list[Message]:
    """Store the planned texts of an order; returns the rows created by this call.

    Planned texts whose dedupe key already exists are left alone, so a hook delivered twice
    schedules once. When the order has no textable number, the texts are recorded as
    skipped with the reason, never raised to the caller.
    """
    if not planned:
        return []
    try:
        recipient: Recipient | None = recipient_for_order(order)
        status, reason = Status.SCHEDULED, ""
    except PhoneNumberRejected as rejection:
        recipient, status, reason = None, Status.SKIPPED, rejection.reason.value
    base_context = {"order": order.to_json(), **(context or {})}
    rows = [
        message_row(
            item,
            channel_slug=order.channel_slug,
            recipient=recipient,
            context=base_context,
            order_id=order.id,
            order_number=order.number,
            customer_ref=order.customer_ref,
            status=status,
            reason=reason,
        )
        for item in planned
    ]
    return insert_new(rows)


def schedule_for_recipient(
    recipient: Recipient,
    channel_slug: str,
    planned: Sequence[PlannedMessage],
    context: dict[str, Any] | None = None,
) -> list[Message]:
    """Store texts that belong to a number rather than an order (welcome, opt-in)."""
    rows = [
        message_row(
            item,
            channel_slug=channel_slug,
            recipient=recipient,
            context=context or {},
            customer_ref=recipient.customer_ref,
        )
        for item in planned
    ]
    return insert_new(rows)


def message_row(
    item: PlannedMessage,
    *,
    channel_slug: str,
    recipient: Recipient | None,
    context: Mapping[str, Any],
    order_id: str = "",
    order_number: str = "",
    customer_ref: str = "",
    status: Status = Status.SCHEDULED,
    reason: str = "",
) -> Message:
    return Message(
        channel_slug=channel_slug,
        flow=item.flow.value,
        step=item.step,
        dedupe_key=item.dedupe_key,
        order_id=order_id,
        order_number=order_number,
        customer_ref=customer_ref,
        recipient=recipient,
        context={**context, **item.context},
        status=status,
        reason=reason,
        due_at=item.due_at,
        expires_at=item.expires_at,
    )


def insert_new(rows: Sequence[Message]) -> list[Message]:
    """Insert the rows whose dedupe key is new; returns the rows this call created.

    Each insert runs in its own savepoint, so a concurrent duplicate of one row neither
    fails the others nor gets reported as created twice.
    """
    created: list[Message] = []
    for row in rows:
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            continue
        created.append(row)
    for message in created:
        message_scheduled.send(sender=Message, message=message)
    return created


def insert_new_in_bulk(rows: Sequence[Message]) -> list[Message]:
    """Like `insert_new`, in one statement: `INSERT ... ON CONFLICT DO NOTHING RETURNING`."""
    if not rows:
        return []
    now = timezone.now()
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    params: list[Any] = []
    for row in rows:
        row.created_at = row.updated_at = now
        params.extend(f.get_db_prep_save(f.value_from_object(row), connection) for f in fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({columns}) "  # noqa: S608 - names from the model
        f"VALUES {', '.join([placeholders] * len(rows))} "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {key: pk for pk, key in cursor.fetchall()}
    created = [row for row in rows if row.dedupe_key in ids]
    for row in created:
        row.pk = ids[row.dedupe_key]
        message_scheduled.send(sender=Message, message=row)
    return created


# Stopping flows ---------------------------------------------------------------------------


def stop_purchase_follow_ups(
    customer_ref: str, *, except_order_id: str = "", reason: SkipReason = SkipReason.NEW_ORDER
) -> int:
    """Cancel a customer's pending offers and win-back texts (they bought again)."""
    if not customer_ref:
        return 0
    return (
        Message.objects.filter(
            status=Status.SCHEDULED,
            customer_ref=customer_ref,
            flow__in=[flow.value for flow in flows.PURCHASE_FOLLOW_UPS],
        )
        .exclude(order_id=except_order_id)
        .update(status=Status.CANCELLED, reason=reason.value, updated_at=timezone.now())
    )


def stop_offers(order_id: str, reason: SkipReason = SkipReason.CONVERTED) -> int:
    """Cancel the pending offers of one order (e.g. the shopper bought through one)."""
    return Message.objects.filter(
        status=Status.SCHEDULED, order_id=order_id, flow=Flow.POST_PURCHASE_OFFER
    ).update(status=Status.CANCELLED, reason=reason.value, updated_at=timezone.now())


def stop_offers_after_conversion(sender: object, message_id: int, **kwargs: object) -> None:
    """Receiver of `signals.conversion`: a purchase through an offer ends that order's offers."""
    order_id = (
        Message.objects.filter(pk=message_id, flow=Flow.POST_PURCHASE_OFFER)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id:
        stop_offers(order_id, SkipReason.CONVERTED)


def release_after_confirmation(order_ids: Iterable[str], now: datetime) -> list[int]:
    """Make the texts held back for these orders' confirmations due now; returns their ids."""
    order_ids = list(order_ids)
    if not order_ids:
        return []
    held = Message.objects.filter(
        status=Status.SCHEDULED,
        order_id__in=order_ids,
        flow__in=[flow.value for flow in flows.AFTER_CONFIRMATION],
        reason=flows.AWAITING_CONFIRMATION,
    )
    ids = list(held.values_list("pk", flat=True))
    if ids:
        held.filter(pk__in=ids).update(due_at=now, reason="", updated_at=now)
    return ids


# Shipping -----------------------------------------------------------------------------------


def schedule_tracking_update(
    fulfillment: FulfillmentSnapshot, channel: ChannelSettings, now: datetime
) -> list[Message]:
    """Give a new tracking number to the shopper.

    When the first shipping text has not gone out yet, it takes the number; otherwise a
    new text carries it (once per tracking number).
    """
    planned = flows.plan_tracking_update(fulfillment, channel, now)
    if planned is None:
        return []
    first_key = f"{Flow.SHIPPING_CONFIRMATION}:{fulfillment.id}"
    pending = Message.objects.filter(dedupe_key=first_key, status=Status.SCHEDULED).first()
    if pending is not None:
        context = {**pending.context, **planned.context}
        updated = Message.objects.filter(pk=pending.pk, status=Status.SCHEDULED).update(
            context=context, due_at=min(pending.due_at, now), updated_at=now
        )
        if updated:
            pending.context, pending.due_at = context, min(pending.due_at, now)
            return [pending]
    if not Message.objects.filter(dedupe_key=first_key).exists():
        return []  # the shipment was never announced (staff chose not to notify)
    return schedule_for_order(fulfillment.order, [planned])


# Follow-ups ---------------------------------------------------------------------------------


def schedule_follow_ups(
    sent: Iterable[Message], channels: Mapping[str, ChannelSettings | None], sent_at: datetime
) -> list[int]:
    """The next win-back text for each win-back text just sent, in one INSERT; returns new ids.

    The new row copies its predecessor (channel, order, customer, recipient, context), so only
    the step, key and due time travel as parameters, whatever the batch size.
    """
    timings: dict[str, flows.Timings] = {}
    planned: list[tuple[int, PlannedMessage]] = []
    for message in sent:
        channel = channels.get(message.channel_slug)
        purchase_at = purchase_time(message)
        if message.flow != Flow.WIN_BACK or channel is None or purchase_at is None:
            continue
        if message.channel_slug not in timings:
            timings[message.channel_slug] = flows.Timings.of(channel)
        following = flows.next_win_back(
            message.customer_ref,
            message.order_id,
            purchase_at,
            message.step,
            timings[message.channel_slug],
            sent_at,
        )
        if following is not None:
            planned.append((message.pk, following))
    return _insert_follow_ups(planned, sent_at)


def _insert_follow_ups(planned: Sequence[tuple[int, PlannedMessage]], now: datetime) -> list[int]:
    if not planned:
        return []
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (channel_slug, flow, step, dedupe_key, order_id, "  # noqa: S608
            "order_number, customer_ref, recipient_id, context, language, body, encoding, "
            "segments, status, reason, error_message, due_at, attempts, created_at, updated_at) "
            "SELECT m.channel_slug, m.flow, v.step, v.dedupe_key, m.order_id, m.order_number, "
            "m.customer_ref, m.recipient_id, m.context - 'variables', '', '', '', 0, %s, '', '', "
            "v.due_at, 0, %s, %s FROM unnest(%s::bigint[], %s::integer[], %s::text[], "
            "%s::timestamptz[]) AS v(source_id, step, dedupe_key, due_at) "
            f"JOIN {table} m ON m.id = v.source_id "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [
                Status.SCHEDULED.value,
                now,
                now,
                [source_id for source_id, _ in planned],
                [item.step for _, item in planned],
                [item.dedupe_key for _, item in planned],
                [item.due_at for _, item in planned],
            ],
        )
        created = [row[0] for row in cursor.fetchall()]
    if created and message_scheduled.has_listeners(Message):
        for message in Message.objects.filter(pk__in=created):
            message_scheduled.send(sender=Message, message=message)
    return created


def purchase_time(message: Message) -> datetime | None:
    """The purchase a follow-up belongs to, as stored in its context."""
    raw = message.context.get("purchase_at")
    return datetime.fromisoformat(raw) if raw else None
