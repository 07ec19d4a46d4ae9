"""What the dispatcher knows about a batch when it decides: plain facts built from rows.

The rules in `flows.decide` take plain data; this module reads it from the claimed rows, with
one query per batch for the frequency cap whatever the batch size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .conf import ChannelSettings
from .constants import TRANSACTIONAL_FLOWS, Consent, Flow, Status
from .flows import AFTER_CONFIRMATION, MessageFacts, RecipientFacts, Timings, is_marketing
from .models import Message, Recipient
from .scheduling import purchase_time
from .timezones import zones_for

RecentSends = dict[int, list[datetime]]
COUNTED_STATUSES = (Status.SENT, Status.DELIVERED)


def recent_marketing_sends(
    messages: Iterable[Message], channels: Mapping[str, ChannelSettings | None], now: datetime
) -> RecentSends:
    """When marketing texts went to the batch's recipients within the longest cap period."""
    recipient_ids = {
        message.recipient_id
        for message in messages
        if message.recipient_id is not None and is_marketing(message.flow)
    }
    periods = [Timings.of(channel).cap_period for channel in channels.values() if channel]
    if not recipient_ids or not periods:
        return {}
    rows = (
        Message.objects.filter(
            recipient_id__in=recipient_ids,
            sent_at__gt=now - max(periods),
            status__in=COUNTED_STATUSES,
        )
        .exclude(flow__in=[flow.value for flow in TRANSACTIONAL_FLOWS])
        .values_list("recipient_id", "sent_at")
    )
    recent: RecentSends = defaultdict(list)
    for recipient_id, sent_at in rows:
        recent[recipient_id].append(sent_at)
    return recent


def note_sending(recent: RecentSends, message: Message, now: datetime) -> None:
    """Count a marketing text about to go out, so the rest of the batch respects the cap."""
    if message.recipient_id is not None and is_marketing(message.flow):
        recent.setdefault(message.recipient_id, []).append(now)


def recipient_facts(
    recipient: Recipient | None, channel: ChannelSettings | None, recent: RecentSends
) -> RecipientFacts | None:
    if recipient is None:
        return None
    return RecipientFacts(
        phone=recipient.phone,
        consent=Consent(recipient.consent),
        unreachable_code=recipient.unreachable_code,
        zones=recipient_zones(recipient, channel),
        last_order_at=recipient.last_order_at,
        recent_marketing=tuple(recent.get(recipient.pk, ())),
    )


def recipient_zones(recipient: Recipient, channel: ChannelSettings | None) -> tuple[ZoneInfo, ...]:
    """The address's zone; else the zones of the number's country (and region); else the
    zones of the channel's default country."""
    if recipient.time_zone:
        try:
            return (ZoneInfo(recipient.time_zone),)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zones = zones_for(recipient.country, recipient.country_area)
    if not zones and channel is not None:
        zones = zones_for(channel.default_country)
    return zones


def unconfirmed_orders(messages: Iterable[Message]) -> set[str]:
    """Orders of the batch whose confirmation has not gone out yet (one query, none when no
    text of the batch follows a confirmation). A confirmation claimed in this very batch
    counts as not gone out: it is only `sending`."""
    order_ids = {
        message.order_id
        for message in messages
        if message.flow in AFTER_CONFIRMATION and message.order_id
    }
    if not order_ids:
        return set()
    return set(
        Message.objects.filter(
            flow=Flow.ORDER_CONFIRMATION,
            order_id__in=order_ids,
            status__in=(Status.SCHEDULED, Status.SENDING),
        ).values_list("order_id", flat=True)
    )


def message_facts(message: Message, unconfirmed: set[str] | None = None) -> MessageFacts:
    return MessageFacts(
        purchase_at=purchase_time(message),
        expires_at=message.expires_at,
        transactional=bool(message.context.get("transactional")),
        confirmation_pending=message.order_id in (unconfirmed or set()),
    )
