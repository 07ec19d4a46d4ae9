"""Turning planned texts into Message rows, once, whatever happens to the hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from .constants import Status
from .events import OrderSnapshot
from .flows import PlannedMessage
from .models import Message, Recipient
from .phones import NormalizedPhone, PhoneNumberRejected, first_textable
from .signals import message_scheduled


def recipient_for_order(order: OrderSnapshot) -> Recipient:
    """The recipient row for the order's phone number, created on first sight.

    Raises PhoneNumberRejected when the order has no number that can receive texts.
    """
    phone = first_textable(order.phone_candidates())
    return upsert_recipient(
        phone,
        language=order.language_code,
        customer_ref=order.customer_ref,
        country_area=_country_area(order, phone),
    )


def upsert_recipient(
    phone: NormalizedPhone,
    *,
    language: str = "",
    customer_ref: str = "",
    country_area: str = "",
) -> Recipient:
    recipient, created = Recipient.objects.get_or_create(
        phone=phone.e164,
        defaults={
            "country": phone.country,
            "country_area": country_area,
            "language": language,
            "customer_ref": customer_ref,
        },
    )
    changes = {
        name: value
        for name, value in (
            ("language", language),
            ("customer_ref", customer_ref),
            ("country_area", country_area),
        )
        if value and getattr(recipient, name) != value
    }
    if not created and changes:
        Recipient.objects.filter(pk=recipient.pk).update(**changes)
        for name, value in changes.items():
            setattr(recipient, name, value)
    return recipient


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
        Message(
            channel_slug=order.channel_slug,
            flow=item.flow.value,
            step=item.step,
            dedupe_key=item.dedupe_key,
            order_id=order.id,
            order_number=order.number,
            customer_ref=order.customer_ref,
            recipient=recipient,
            context=base_context,
            status=status,
            reason=reason,
            due_at=item.due_at,
        )
        for item in planned
    ]
    return insert_new(rows)


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
