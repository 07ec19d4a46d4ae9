"""Which texts a store sends, when, and whether a due text may go out now: pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .conf import ChannelSettings
from .constants import TRANSACTIONAL_FLOWS, Consent, Flow, SkipReason
from .events import OrderSnapshot


@dataclass(frozen=True)
class PlannedMessage:
    flow: Flow
    step: int
    due_at: datetime
    dedupe_key: str


def plan_order_placed(order: OrderSnapshot, channel: ChannelSettings) -> list[PlannedMessage]:
    """The texts an order triggers, in the order they are due."""
    planned: list[PlannedMessage] = []
    if channel.flow_enabled(Flow.ORDER_CONFIRMATION):
        planned.append(
            PlannedMessage(
                flow=Flow.ORDER_CONFIRMATION,
                step=0,
                due_at=order.created_at,
                dedupe_key=f"{Flow.ORDER_CONFIRMATION}:{order.id}",
            )
        )
    return planned


@dataclass(frozen=True)
class RecipientFacts:
    phone: str | None
    consent: Consent
    unreachable_code: int | None = None


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Skip:
    reason: SkipReason


@dataclass(frozen=True)
class Defer:
    until: datetime


Decision = Send | Skip | Defer


def decide(
    flow: Flow,
    recipient: RecipientFacts | None,
    channel: ChannelSettings | None,
    now: datetime,
) -> Decision:
    """Whether a due text goes out now, is skipped for good, or waits."""
    if channel is None or not channel.active:
        return Skip(SkipReason.CHANNEL_INACTIVE)
    if flow not in (Flow.CUSTOM, Flow.TEST) and not channel.flow_enabled(flow):
        return Skip(SkipReason.FLOW_DISABLED)
    if recipient is None or not recipient.phone:
        return Skip(SkipReason.NO_PHONE)
    if recipient.unreachable_code:
        return Skip(SkipReason.INVALID_PHONE)
    if recipient.consent == Consent.OPTED_OUT:
        return Skip(SkipReason.OPTED_OUT)
    if flow not in TRANSACTIONAL_FLOWS and recipient.consent != Consent.OPTED_IN:
        return Skip(SkipReason.NO_CONSENT)
    return Send()
