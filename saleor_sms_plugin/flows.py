"""Which texts a store sends, when, and whether a due text may go out now: pure rules.

Planning functions turn an event into `PlannedMessage`s (flow, step, due time, dedupe key);
`decide` looks at one due message and says Send, Skip (for good) or Defer (until a time).
Nothing here touches the database, Celery or the provider.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from . import conf
from .conf import ChannelSettings
from .constants import TRANSACTIONAL_FLOWS, Consent, Flow, SkipReason
from .events import FulfillmentSnapshot, OrderSnapshot
from .quiet_hours import SendingWindow, next_opening

OFFER_WINDOW = timedelta(minutes=conf.OFFER_WINDOW_MINUTES)
WIN_BACK_VARIANTS = 4
# Texts that answer something the shopper just did go out at any hour.
ANY_HOUR_FLOWS = frozenset(
    {Flow.ORDER_CONFIRMATION, Flow.OPT_IN_CONFIRMATION, Flow.TEST, Flow.CUSTOM}
)
# Texts that follow up a purchase; a newer purchase makes them pointless.
PURCHASE_FOLLOW_UPS = frozenset({Flow.POST_PURCHASE_OFFER, Flow.WIN_BACK})
# Texts of an order that never reach the phone before its confirmation: they wait for it.
AFTER_CONFIRMATION = frozenset({Flow.THANK_YOU, Flow.POST_PURCHASE_OFFER})
# How long such a text waits before it looks again; the dispatcher releases it at once when
# the confirmation is recorded, so this only matters if that release is lost.
CONFIRMATION_HOLD = timedelta(minutes=1)
AWAITING_CONFIRMATION = "awaiting_confirmation"
DEFERRED = "deferred"
# Saleor often adds the tracking number just after creating the fulfillment: a shipping text
# without one waits this long, so that the number rides on it instead of a second text.
TRACKING_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class Timings:
    """A channel's flow timings, frequency cap and sending window."""

    offer_delays: tuple[timedelta, ...]
    # After a purchase through an offer link, no offer of a new series is due this long.
    offer_pause: timedelta
    thank_you_with_confirmation: bool
    thank_you_delay: timedelta
    win_back_first: timedelta
    win_back_interval: timedelta
    win_back_max: int
    review_delay: timedelta
    loyalty_delay: timedelta
    window: SendingWindow
    cap_texts: int
    cap_period: timedelta

    @classmethod
    def of(cls, channel: ChannelSettings) -> Timings:
        return cls.from_values(channel.values)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Timings:
        """Timings from parsed configuration values (`conf.parse_values`)."""
        return cls(
            offer_delays=tuple(timedelta(minutes=m) for m in values[conf.OFFER_DELAYS_MINUTES]),
            offer_pause=timedelta(hours=values[conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS]),
            thank_you_with_confirmation=values[conf.THANK_YOU_WITH_CONFIRMATION],
            thank_you_delay=timedelta(minutes=values[conf.THANK_YOU_DELAY_MINUTES]),
            win_back_first=timedelta(days=values[conf.WIN_BACK_FIRST_DAYS]),
            win_back_interval=timedelta(days=values[conf.WIN_BACK_INTERVAL_DAYS]),
            win_back_max=values[conf.WIN_BACK_MAX_TEXTS],
            review_delay=timedelta(days=values[conf.REVIEW_DELAY_DAYS]),
            loyalty_delay=timedelta(days=values[conf.LOYALTY_INVITE_DELAY_DAYS]),
            window=SendingWindow(values[conf.SEND_WINDOW_START], values[conf.SEND_WINDOW_END]),
            cap_texts=values[conf.FREQUENCY_CAP_TEXTS],
            cap_period=timedelta(days=values[conf.FREQUENCY_CAP_DAYS]),
        )


@dataclass(frozen=True)
class PlannedMessage:
    flow: Flow
    step: int
    due_at: datetime
    dedupe_key: str
    expires_at: datetime | None = None
    # Extra message context: the purchase a follow-up belongs to, texts riding along, ...
    context: dict[str, Any] = field(default_factory=dict)


# Planning ---------------------------------------------------------------------------------


def plan_order_placed(
    order: OrderSnapshot, channel: ChannelSettings, offer_purchases: Sequence[datetime] = ()
) -> list[PlannedMessage]:
    """The texts an order triggers, in the order they are due.

    `offer_purchases`: when the customer bought through an offer link lately (this order
    itself, if it is such a purchase, at its own time); see `plan_offers`.
    """
    timings = Timings.of(channel)
    placed = order.created_at
    planned: list[PlannedMessage] = []
    confirmation = channel.flow_enabled(Flow.ORDER_CONFIRMATION)
    thank_you_rides = confirmation and timings.thank_you_with_confirmation
    if confirmation:
        planned.append(
            PlannedMessage(
                Flow.ORDER_CONFIRMATION,
                0,
                placed,
                f"{Flow.ORDER_CONFIRMATION}:{order.id}",
                context={"append_texts": [Flow.THANK_YOU.value]}
                if thank_you_rides and channel.flow_enabled(Flow.THANK_YOU)
                else {},
            )
        )
    if channel.flow_enabled(Flow.THANK_YOU) and not thank_you_rides:
        planned.append(
            PlannedMessage(
                Flow.THANK_YOU, 0, placed + timings.thank_you_delay, f"{Flow.THANK_YOU}:{order.id}"
            )
        )
    if channel.flow_enabled(Flow.POST_PURCHASE_OFFER):
        planned.extend(plan_offers(order, timings, offer_purchases))
    if channel.flow_enabled(Flow.WIN_BACK):
        planned.append(plan_win_back(order.customer_ref, order.id, placed, 1, timings))
    if channel.flow_enabled(Flow.LOYALTY_INVITE) and order.user_id:
        planned.append(
            PlannedMessage(
                Flow.LOYALTY_INVITE,
                0,
                placed + timings.loyalty_delay,
                f"{Flow.LOYALTY_INVITE}:{order.customer_ref}",
            )
        )
    return sorted(planned, key=lambda item: item.due_at)


def plan_offers(
    order: OrderSnapshot, timings: Timings, offer_purchases: Sequence[datetime] = ()
) -> list[PlannedMessage]:
    """At most three offers, all inside the 24 hours after the order.

    A purchase through an offer link starts no new series: an offer due within the pause
    after such a purchase (`offer_purchases`, `Timings.offer_pause`) is left out.
    """
    expires = order.created_at + OFFER_WINDOW
    return [
        PlannedMessage(
            Flow.POST_PURCHASE_OFFER,
            step,
            order.created_at + delay,
            f"{Flow.POST_PURCHASE_OFFER}:{order.id}:{step}",
            expires_at=expires,
            context={"purchase_at": order.created_at.isoformat()},
        )
        for step, delay in enumerate(timings.offer_delays[: conf.MAX_OFFERS], start=1)
        if delay < OFFER_WINDOW
        and not in_offer_pause(order.created_at + delay, offer_purchases, timings.offer_pause)
    ]


def in_offer_pause(due_at: datetime, offer_purchases: Sequence[datetime], pause: timedelta) -> bool:
    """True when an offer due then falls within the pause after a purchase through an offer."""
    return any(bought <= due_at < bought + pause for bought in offer_purchases)


def plan_win_back(
    customer_ref: str, order_id: str, purchase_at: datetime, step: int, timings: Timings
) -> PlannedMessage:
    """Win-back text number `step` after the purchase at `purchase_at`."""
    due = purchase_at + timings.win_back_first + timings.win_back_interval * (step - 1)
    return PlannedMessage(
        Flow.WIN_BACK,
        step,
        due,
        f"{Flow.WIN_BACK}:{customer_ref}:{order_id}:{step}",
        context={"purchase_at": purchase_at.isoformat()},
    )


def next_win_back(
    customer_ref: str,
    order_id: str,
    purchase_at: datetime,
    sent_step: int,
    timings: Timings,
    sent_at: datetime | None = None,
) -> PlannedMessage | None:
    """The win-back text after `sent_step`, or None once the maximum is reached.

    It is due an interval after the purchase's cadence, and never sooner than an interval
    after the text just sent (a cadence started late, for past customers, keeps its spacing).
    """
    if sent_step >= timings.win_back_max:
        return None
    planned = plan_win_back(customer_ref, order_id, purchase_at, sent_step + 1, timings)
    if sent_at is not None and planned.due_at < sent_at + timings.win_back_interval:
        return dataclasses.replace(planned, due_at=sent_at + timings.win_back_interval)
    return planned


def text_variant(flow: Flow | str, step: int) -> int:
    """Which of a flow's numbered texts a step uses: win-back rotates through its variants."""
    if flow == Flow.WIN_BACK:
        return (max(step, 1) - 1) % WIN_BACK_VARIANTS + 1
    return max(step, 1)


def plan_fulfillment(
    fulfillment: FulfillmentSnapshot, channel: ChannelSettings, now: datetime
) -> list[PlannedMessage]:
    """A shipping confirmation (unless staff chose not to notify) and a review request."""
    shipped_at = fulfillment.created_at or now
    planned: list[PlannedMessage] = []
    if channel.flow_enabled(Flow.SHIPPING_CONFIRMATION) and fulfillment.notify_customer:
        planned.append(
            PlannedMessage(
                Flow.SHIPPING_CONFIRMATION,
                0,
                now if fulfillment.tracking_number else now + TRACKING_GRACE,
                f"{Flow.SHIPPING_CONFIRMATION}:{fulfillment.id}",
                context={"variables": tracking_variables(fulfillment.tracking_number, channel)},
            )
        )
    if channel.flow_enabled(Flow.REVIEW_REQUEST):
        planned.append(
            PlannedMessage(
                Flow.REVIEW_REQUEST,
                0,
                shipped_at + Timings.of(channel).review_delay,
                f"{Flow.REVIEW_REQUEST}:{fulfillment.order.id}",
            )
        )
    return planned


def plan_tracking_update(
    fulfillment: FulfillmentSnapshot, channel: ChannelSettings, now: datetime
) -> PlannedMessage | None:
    """A shipping confirmation carrying a new tracking number."""
    if not fulfillment.tracking_number or not channel.flow_enabled(Flow.SHIPPING_CONFIRMATION):
        return None
    return PlannedMessage(
        Flow.SHIPPING_CONFIRMATION,
        1,
        now,
        f"{Flow.SHIPPING_CONFIRMATION}:{fulfillment.id}:{fulfillment.tracking_number}",
        context={"variables": tracking_variables(fulfillment.tracking_number, channel)},
    )


def tracking_variables(tracking_number: str, channel: ChannelSettings) -> dict[str, str]:
    """The tracking number and the link the channel's template builds from it."""
    if not tracking_number:
        return {"tracking_number": "", "tracking_url": ""}
    template = channel.values.get(conf.TRACKING_URL_TEMPLATE, "")
    return {
        "tracking_number": tracking_number,
        "tracking_url": tracking_url(template, tracking_number),
    }


def tracking_url(template: str, tracking_number: str) -> str:
    if not template:
        return ""
    return template.replace("{tracking_number}", quote(tracking_number, safe=""))


def plan_welcome(
    customer_ref: str, channel: ChannelSettings, consented: bool, now: datetime
) -> list[PlannedMessage]:
    """A welcome for a new account that agreed to texts (once per customer)."""
    if not consented or not channel.flow_enabled(Flow.WELCOME):
        return []
    return [PlannedMessage(Flow.WELCOME, 0, now, f"{Flow.WELCOME}:{customer_ref}")]


def plan_opt_in_confirmation(
    recipient_id: int, channel: ChannelSettings, consented_at: datetime, welcomed: bool = False
) -> list[PlannedMessage]:
    """The confirmation of one opt-in; a welcome sent at the same time stands in for it."""
    if welcomed or not channel.flow_enabled(Flow.OPT_IN_CONFIRMATION):
        return []
    return [
        PlannedMessage(
            Flow.OPT_IN_CONFIRMATION,
            0,
            consented_at,
            f"{Flow.OPT_IN_CONFIRMATION}:{recipient_id}:{consented_at.isoformat()}",
        )
    ]


# Deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientFacts:
    phone: str | None
    consent: Consent
    unreachable_code: int | None = None
    # Candidate time zones (several when the region is unknown), () when unknown.
    zones: tuple[ZoneInfo, ...] = ()
    last_order_at: datetime | None = None
    # When marketing texts last went to this number, within the cap period.
    recent_marketing: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class MessageFacts:
    purchase_at: datetime | None = None
    expires_at: datetime | None = None
    # A custom text staff marked as transactional (e.g. a delay notice): no opt-in needed.
    transactional: bool = False
    # The order's confirmation has not gone out yet (AFTER_CONFIRMATION texts wait for it).
    confirmation_pending: bool = False


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Skip:
    reason: SkipReason


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str = DEFERRED


Decision = Send | Skip | Defer


def decide(
    flow: Flow,
    recipient: RecipientFacts | None,
    channel: ChannelSettings | None,
    now: datetime,
    message: MessageFacts | None = None,
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
    message = message or MessageFacts()
    marketing = is_marketing(flow) and not (flow == Flow.CUSTOM and message.transactional)
    if marketing and recipient.consent != Consent.OPTED_IN:
        return Skip(SkipReason.NO_CONSENT)
    if message.expires_at and now >= message.expires_at:
        return Skip(SkipReason.WINDOW_PASSED)
    if superseded(flow, message.purchase_at, recipient.last_order_at):
        return Skip(SkipReason.NEW_ORDER)
    if message.confirmation_pending and flow in AFTER_CONFIRMATION:
        return _wait(
            now + CONFIRMATION_HOLD,
            message.expires_at,
            SkipReason.WINDOW_PASSED,
            AWAITING_CONFIRMATION,
        )
    return _timing(flow, marketing, recipient, Timings.of(channel), now, message.expires_at)


def _timing(
    flow: Flow,
    marketing: bool,
    recipient: RecipientFacts,
    timings: Timings,
    now: datetime,
    expires_at: datetime | None,
) -> Decision:
    if marketing:
        free_at = cap_frees_at(recipient.recent_marketing, now, timings)
        if free_at is not None:
            return _wait(free_at, expires_at, SkipReason.FREQUENCY_CAP)
    if flow not in ANY_HOUR_FLOWS:
        opening = next_opening(now, recipient.zones, timings.window)
        if opening > now:
            return _wait(opening, expires_at, SkipReason.WINDOW_PASSED)
    return Send()


def _wait(
    until: datetime, expires_at: datetime | None, reason: SkipReason, waits_for: str = DEFERRED
) -> Decision:
    if expires_at is not None and until >= expires_at:
        return Skip(reason)
    return Defer(until, waits_for)


def is_marketing(flow: Flow | str) -> bool:
    """Marketing texts need consent, count against the frequency cap and carry an opt-out line."""
    return flow not in TRANSACTIONAL_FLOWS


def superseded(flow: Flow, purchase_at: datetime | None, last_order_at: datetime | None) -> bool:
    """True for a purchase follow-up when the customer has bought again since."""
    return (
        flow in PURCHASE_FOLLOW_UPS
        and purchase_at is not None
        and last_order_at is not None
        and last_order_at > purchase_at
    )


def cap_frees_at(recent: Sequence[datetime], now: datetime, timings: Timings) -> datetime | None:
    """When the frequency cap lets one more marketing text through; None if it does now."""
    if timings.cap_texts <= 0:
        return None
    window_start = now - timings.cap_period
    inside = sorted(moment for moment in recent if moment > window_start)
    if len(inside) < timings.cap_texts:
        return None
    return inside[-timings.cap_texts] + timings.cap_period
