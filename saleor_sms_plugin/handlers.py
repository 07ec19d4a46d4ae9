"""The core's event API: what the plugin (or any event source) calls when something happens."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from . import consent, event_inbox, flows, links, privacy, scheduling, task_queue
from .conf import ChannelSettings, get_channel_settings
from .constants import Consent, Flow, SkipReason, Status
from .dispatch import cancel_pending
from .events import CustomerSnapshot, FulfillmentSnapshot, OrderSnapshot
from .models import Message, Recipient
from .phones import PhoneNumberRejected, normalize_phone
from .scheduling import schedule_for_order

#: The inbox's kind for an order reported with its whole snapshot (`record_order_placed`).
ORDER_PLACED = "core.order_placed"


def record_order_placed(order: OrderSnapshot) -> bool:
    """Record a new order in the event inbox: `on_order_placed` runs in a worker once the
    caller's transaction commits, so the caller does one INSERT. False for an order recorded
    before (nothing happens)."""
    return event_inbox.record_event(
        ORDER_PLACED, order.id, channel_slug=order.channel_slug, payload=order.to_json()
    )


@event_inbox.handles(ORDER_PLACED)
def _order_placed_from_inbox(event: event_inbox.RecordedEvent) -> None:
    on_order_placed(OrderSnapshot.from_json(event.payload))


def on_order_placed(order: OrderSnapshot) -> list[Message]:
    """Schedule the texts a new order triggers; texts due now go out once the order commits.

    A new order stops the customer's pending offers and win-back texts of earlier orders; one
    placed from an offer link's checkout counts as that text's conversion first, and starts
    no offers within the channel's pause after such a purchase.
    """
    links.record_conversion(order)
    channel = get_channel_settings(order.channel_slug)
    if channel is None or not channel.active:
        return []
    scheduling.stop_purchase_follow_ups(order.customer_ref, except_order_id=order.id)
    created = _consent_from_order(order, channel)
    planned = flows.plan_order_placed(order, channel, _offer_purchases(order, channel))
    created += schedule_for_order(order, planned)
    enqueue_due(created)
    return created


def _offer_purchases(order: OrderSnapshot, channel: ChannelSettings) -> list[datetime]:
    pause = flows.Timings.of(channel).offer_pause
    if not pause or not channel.flow_enabled(Flow.POST_PURCHASE_OFFER):
        return []
    return links.offer_purchases(order, since=order.created_at - pause)


def _consent_from_order(order: OrderSnapshot, channel: ChannelSettings) -> list[Message]:
    found = consent.consent_in_metadata(
        channel,
        (order.metadata, consent.Source.CHECKOUT),
        (order.customer_metadata, consent.Source.CUSTOMER),
    )
    if found is None:
        return []
    try:
        recipient = scheduling.recipient_for_order(order)
    except PhoneNumberRejected:
        return []
    return _record_consent(recipient, channel, *found)


def _record_consent(
    recipient: Recipient,
    channel: ChannelSettings,
    given: Consent,
    source: str,
    welcomed: bool = False,
) -> list[Message]:
    """Record a consent change; a new opt-in is confirmed by text where the channel wants it."""
    if not consent.record_consent(recipient, given, source) or given != Consent.OPTED_IN:
        return []
    assert recipient.consent_changed_at is not None
    planned = flows.plan_opt_in_confirmation(
        recipient.pk, channel, recipient.consent_changed_at, welcomed=welcomed
    )
    return scheduling.schedule_for_recipient(recipient, channel.channel_slug, planned)


def on_offer_converted(order_id: str) -> int:
    """A shopper bought through an offer of `order_id`: its remaining offers are cancelled."""
    return scheduling.stop_offers(order_id, SkipReason.CONVERTED)


def on_order_cancelled(order_id: str) -> int:
    """Cancel everything still pending for a cancelled order; returns how many texts."""
    return cancel_pending(order_id=order_id, reason=SkipReason.ORDER_CANCELLED)


def on_fulfillment_created(fulfillment: FulfillmentSnapshot) -> list[Message]:
    """A shipping confirmation (with tracking when known) and a later review request."""
    channel = get_channel_settings(fulfillment.order.channel_slug)
    if channel is None or not channel.active:
        return []
    planned = flows.plan_fulfillment(fulfillment, channel, timezone.now())
    created = schedule_for_order(fulfillment.order, planned)
    enqueue_due(created)
    return created


def on_tracking_updated(fulfillment: FulfillmentSnapshot) -> list[Message]:
    """Text a fulfillment's new tracking number (on the pending shipping text if possible)."""
    channel = get_channel_settings(fulfillment.order.channel_slug)
    if channel is None or not channel.active:
        return []
    changed = scheduling.schedule_tracking_update(fulfillment, channel, timezone.now())
    enqueue_due(changed)
    return changed


def on_customer_created(customer: CustomerSnapshot, channel_slug: str) -> list[Message]:
    """Record the new account's consent and welcome it (once, whichever channel asks first)."""
    channel = get_channel_settings(channel_slug)
    if channel is None or not channel.active:
        return []
    try:
        recipient = scheduling.recipient_for_customer(customer)
    except PhoneNumberRejected:
        return []
    found = consent.consent_in_metadata(channel, (customer.metadata, consent.Source.CUSTOMER))
    now = timezone.now()
    consented = found is not None and found[0] == Consent.OPTED_IN
    welcome = scheduling.schedule_for_recipient(
        recipient, channel_slug, flows.plan_welcome(customer.customer_ref, channel, consented, now)
    )
    created = _record_consent(recipient, channel, *found, welcomed=bool(welcome)) if found else []
    enqueue_due(welcome + created)
    return welcome + created


def on_customer_updated(customer: CustomerSnapshot, channel_slug: str) -> list[Message]:
    """Pick up a consent change in the account's metadata."""
    channel = get_channel_settings(channel_slug)
    if channel is None or not channel.active:
        return []
    found = consent.consent_in_metadata(channel, (customer.metadata, consent.Source.CUSTOMER))
    if found is None:
        return []
    try:
        recipient = scheduling.recipient_for_customer(customer)
    except PhoneNumberRejected:
        return []
    created = _record_consent(recipient, channel, *found)
    enqueue_due(created)
    return created


def on_customer_deleted(customer: CustomerSnapshot) -> privacy.Erasure:
    """Erase the customer's phone numbers and texts (staff deleted the account)."""
    return privacy.erase_customer(
        (customer.customer_ref, customer.email.lower()), customer.phone_candidates()
    )


def on_account_deleted(customer: CustomerSnapshot) -> privacy.Erasure:
    """Erase the customer's phone numbers and texts (the customer deleted the account)."""
    return on_customer_deleted(customer)


def grant_consent(
    phone: str, channel_slug: str, *, country: str = "", source: str = consent.Source.API
) -> Recipient:
    """Opt a number in to marketing texts (GraphQL or Python); confirmed by text if enabled.

    Raises PhoneNumberRejected for a number that cannot receive texts.
    """
    recipient = scheduling.upsert_recipient(normalize_phone(phone, country or None))
    channel = get_channel_settings(channel_slug)
    if channel is None:
        consent.record_consent(recipient, Consent.OPTED_IN, source)
        return recipient
    enqueue_due(_record_consent(recipient, channel, Consent.OPTED_IN, source))
    return recipient


def withdraw_consent(
    phone: str, *, country: str = "", source: str = consent.Source.API
) -> Recipient:
    """Opt a number out of marketing texts; its pending marketing texts are cancelled.

    Raises PhoneNumberRejected for a number that cannot receive texts.
    """
    recipient = scheduling.upsert_recipient(normalize_phone(phone, country or None))
    consent.record_consent(recipient, Consent.OPTED_OUT, source)
    return recipient


def enqueue_due(messages: list[Message]) -> None:
    """Send due messages from a worker after the current transaction commits.

    The caller never waits on the broker (`task_queue.enqueue`): if the broker does not take
    the task, or loses it, the periodic dispatcher still finds the row.
    """
    now = timezone.now()
    enqueue_after_commit(
        message.id
        for message in messages
        if message.status == Status.SCHEDULED and message.due_at <= now
    )


def enqueue_after_commit(message_ids: Iterable[int]) -> None:
    """Send these messages from a worker after the current transaction commits (at once
    outside one). If the broker loses the task, the periodic dispatcher still finds the row."""
    for message_id in message_ids:
        transaction.on_commit(functools.partial(_enqueue_send, message_id))


def _enqueue_send(message_id: int) -> None:
    from .tasks import send_message_task

    # Not taken by the broker: the periodic dispatcher sends the stored message.
    task_queue.enqueue(send_message_task, message_id)
