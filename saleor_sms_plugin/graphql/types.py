"""The API's object types: messages, recipients, flows, statistics, errors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import graphene
from graphene import relay

from .. import conf, operations, registry, stats
from ..constants import TRANSACTIONAL_FLOWS, Consent, Flow, Status
from ..flows import Timings
from ..models import InboundMessage, Message, Recipient
from .pagination import paginate


class SmsFlow(graphene.Enum):
    """What a text is for: one of the plugin's flows (CUSTOM: written by staff or a custom
    flow registered in Python, TEST: a test text)."""

    class Meta:
        enum = Flow


class SmsMessageStatus(graphene.Enum):
    """Where a text is in its life: SCHEDULED -> SENDING -> SENT -> DELIVERED, UNDELIVERED or
    FAILED; or CANCELLED (by an event or staff) or SKIPPED (the rules said no) instead."""

    class Meta:
        enum = Status


class SmsConsent(graphene.Enum):
    """A number's consent to marketing texts."""

    class Meta:
        enum = Consent


class SmsErrorCode(graphene.Enum):
    """Why a mutation refused its input."""

    class Meta:
        enum = operations.ErrorCode


class SmsStatsDimension(graphene.Enum):
    """What statistics rows are grouped by."""

    class Meta:
        enum = stats.Dimension


class SmsError(graphene.ObjectType):
    """A problem with a mutation's input; `field` names the argument (null: the whole input)."""

    field = graphene.String()
    code = graphene.Field(SmsErrorCode, required=True)
    message = graphene.String()


class SmsMoney(graphene.ObjectType):
    amount = graphene.Float(required=True)
    currency = graphene.String(required=True)


def money(amount: Decimal, currency: str) -> SmsMoney:
    return SmsMoney(amount=float(amount), currency=currency)


class SmsReply(graphene.ObjectType):
    """A text the number sent to the store (STOP, START, HELP or a reply)."""

    channel = graphene.String(required=True)
    body = graphene.String(required=True)
    keyword = graphene.String(required=True, description="stop, start, help, or empty.")
    received_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_channel(root: InboundMessage, info: Any) -> str:
        return root.channel_slug


class SmsMessage(graphene.ObjectType):
    """One text: scheduled, sent once, then tracked to its final state."""

    class Meta:
        interfaces = (relay.Node,)

    channel = graphene.String(required=True)
    flow = graphene.Field(SmsFlow, required=True)
    custom_flow = graphene.String(description="The custom flow registered in Python, if any.")
    step = graphene.Int(required=True, description="Which text of a series (offers, win-back).")
    transactional = graphene.Boolean(
        required=True, description="Sent without consent to marketing texts."
    )
    status = graphene.Field(SmsMessageStatus, required=True)
    reason = graphene.String(
        required=True,
        description="Why it was skipped, cancelled, retried or failed, e.g. `missing_variable:"
        "discount`: its wording needs a value that was empty (an offer text without an offer).",
    )
    phone = graphene.String(description="The recipient's number; null once erased.")
    recipient = graphene.Field(lambda: SmsRecipient)
    order_id = graphene.String(required=True)
    order_number = graphene.String(required=True)
    customer_ref = graphene.String(required=True)
    body = graphene.String(required=True, description="The text as sent (empty before).")
    language = graphene.String(required=True)
    encoding = graphene.String(required=True, description="GSM-7 or UCS-2.")
    segments = graphene.Int(required=True)
    error_code = graphene.Int()
    error_message = graphene.String(required=True)
    provider_id = graphene.String()
    attempts = graphene.Int(required=True)
    due_at = graphene.DateTime(required=True)
    expires_at = graphene.DateTime()
    sent_at = graphene.DateTime()
    delivered_at = graphene.DateTime()
    clicked_at = graphene.DateTime()
    converted_at = graphene.DateTime()
    revenue = graphene.Field(SmsMoney, description="The order the text led to, if any.")
    created_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_channel(root: Message, info: Any) -> str:
        return root.channel_slug

    @staticmethod
    def resolve_custom_flow(root: Message, info: Any) -> str | None:
        return root.context.get(registry.CONTEXT_KEY)

    @staticmethod
    def resolve_transactional(root: Message, info: Any) -> bool:
        return root.flow in TRANSACTIONAL_FLOWS or bool(root.context.get("transactional"))

    @staticmethod
    def resolve_phone(root: Message, info: Any) -> str | None:
        return root.recipient.phone if root.recipient else None

    @staticmethod
    def resolve_revenue(root: Message, info: Any) -> SmsMoney | None:
        if root.revenue is None:
            return None
        return money(root.revenue, root.revenue_currency)


class SmsMessageConnection(relay.Connection):
    class Meta:
        node = SmsMessage

    total_count = graphene.Int(required=True)

    @staticmethod
    def resolve_total_count(root: Any, info: Any) -> int:
        return int(root.queryset.count())


class SmsRecipient(graphene.ObjectType):
    """A phone number texts go to, with its consent and its history."""

    class Meta:
        interfaces = (relay.Node,)

    phone = graphene.String(description="E.164; null once erased.")
    country = graphene.String(required=True)
    language = graphene.String(required=True)
    customer_ref = graphene.String(required=True)
    consent = graphene.Field(SmsConsent, required=True)
    consent_source = graphene.String(
        required=True,
        description="Where the consent came from: checkout_metadata, customer_metadata, api, "
        "start_reply, stop_reply, carrier or import.",
    )
    consent_changed_at = graphene.DateTime()
    unreachable = graphene.Boolean(
        required=True, description="The provider said the number can never receive texts."
    )
    last_order_at = graphene.DateTime()
    erased_at = graphene.DateTime()
    created_at = graphene.DateTime(required=True)
    messages = relay.ConnectionField(
        SmsMessageConnection, description="Texts to this number, newest first."
    )
    replies = graphene.List(
        graphene.NonNull(SmsReply),
        required=True,
        limit=graphene.Int(default_value=20),
        description="Texts from this number, newest first.",
    )

    @staticmethod
    def resolve_unreachable(root: Recipient, info: Any) -> bool:
        return root.unreachable_code is not None

    @staticmethod
    def resolve_messages(root: Recipient, info: Any, **kwargs: Any) -> Any:
        queryset = Message.objects.filter(recipient=root).select_related("recipient")
        return paginate(queryset, SmsMessageConnection, **kwargs)

    @staticmethod
    def resolve_replies(root: Recipient, info: Any, limit: int) -> list[InboundMessage]:
        limit = max(0, min(limit, 100))
        return list(InboundMessage.objects.filter(recipient=root).order_by("-pk")[:limit])


class FlowStart(StrEnum):
    ORDER_PLACED = "order_placed"
    ORDER_SHIPPED = "order_shipped"
    ACCOUNT_CREATED = "account_created"
    CONSENT_GIVEN = "consent_given"
    TRIGGERED = "triggered"


class SmsFlowStart(graphene.Enum):
    """What a flow's delays count from."""

    class Meta:
        enum = FlowStart


class SmsFlowSettings(graphene.ObjectType):
    """One flow in a channel: on or off, and when its texts go out."""

    flow = graphene.Field(SmsFlow, required=True)
    enabled = graphene.Boolean(required=True)
    transactional = graphene.Boolean(required=True)
    description = graphene.String(required=True)
    starts = graphene.Field(SmsFlowStart, required=True)
    delays_minutes = graphene.List(
        graphene.NonNull(graphene.Int),
        required=True,
        description="When each text of the flow is due, in minutes after the start.",
    )
    expires_after_minutes = graphene.Int(
        description="Texts not sent within this time are skipped (offers)."
    )


class SmsCustomFlow(graphene.ObjectType):
    """A flow registered in Python (`saleor_sms_plugin.registry`)."""

    name = graphene.String(required=True)
    transactional = graphene.Boolean(required=True)
    delays_minutes = graphene.List(graphene.NonNull(graphene.Int), required=True)


class SmsChannelFlows(graphene.ObjectType):
    """A channel's flows, sending window and frequency cap."""

    channel = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    send_window_start = graphene.String(required=True, description="HH:MM, recipient's time.")
    send_window_end = graphene.String(required=True)
    frequency_cap_texts = graphene.Int(required=True)
    frequency_cap_days = graphene.Int(required=True)
    flows = graphene.List(graphene.NonNull(SmsFlowSettings), required=True)
    custom_flows = graphene.List(graphene.NonNull(SmsCustomFlow), required=True)
    stats_url = graphene.String(description="The statistics page; null without a public URL.")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def channel_flows(channel: conf.ChannelSettings) -> SmsChannelFlows:
    timings = Timings.of(channel)
    return SmsChannelFlows(
        channel=channel.channel_slug,
        active=channel.active,
        send_window_start=timings.window.opens.strftime("%H:%M"),
        send_window_end=timings.window.closes.strftime("%H:%M"),
        frequency_cap_texts=timings.cap_texts,
        frequency_cap_days=timings.cap_period.days,
        flows=[
            _flow_settings(channel, timings, flow, description)
            for flow, _, description in conf.CONFIGURABLE_FLOWS
        ],
        custom_flows=[
            SmsCustomFlow(
                name=flow.name,
                transactional=flow.transactional,
                delays_minutes=[_minutes(delay) for delay in flow.delays],
            )
            for flow in registry.registered_flows()
        ],
        stats_url=channel.stats_url or None,
    )


def _flow_settings(
    channel: conf.ChannelSettings, timings: Timings, flow: Flow, description: str
) -> SmsFlowSettings:
    starts, delays = flow_timing(flow, timings)
    return SmsFlowSettings(
        flow=flow,
        enabled=channel.flow_enabled(flow),
        transactional=flow in TRANSACTIONAL_FLOWS,
        description=description,
        starts=starts,
        delays_minutes=[_minutes(delay) for delay in delays],
        expires_after_minutes=conf.OFFER_WINDOW_MINUTES
        if flow == Flow.POST_PURCHASE_OFFER
        else None,
    )


IMMEDIATELY = timedelta(0)


def flow_timing(flow: Flow, timings: Timings) -> tuple[FlowStart, list[timedelta]]:
    """What a flow's delays count from, and the delay of each of its texts."""
    start = FlowStart
    match flow:
        case Flow.THANK_YOU:
            rides = timings.thank_you_with_confirmation
            return start.ORDER_PLACED, [IMMEDIATELY if rides else timings.thank_you_delay]
        case Flow.POST_PURCHASE_OFFER:
            return start.ORDER_PLACED, list(timings.offer_delays)
        case Flow.WIN_BACK:
            return start.ORDER_PLACED, [
                timings.win_back_first + timings.win_back_interval * step
                for step in range(timings.win_back_max)
            ]
        case Flow.LOYALTY_INVITE:
            return start.ORDER_PLACED, [timings.loyalty_delay]
        case Flow.SHIPPING_CONFIRMATION:
            return start.ORDER_SHIPPED, [IMMEDIATELY]
        case Flow.REVIEW_REQUEST:
            return start.ORDER_SHIPPED, [timings.review_delay]
        case Flow.WELCOME:
            return start.ACCOUNT_CREATED, [IMMEDIATELY]
        case Flow.OPT_IN_CONFIRMATION:
            return start.CONSENT_GIVEN, [IMMEDIATELY]
        case Flow.ORDER_CONFIRMATION:
            return start.ORDER_PLACED, [IMMEDIATELY]
    return start.TRIGGERED, [IMMEDIATELY]


class SmsNotSentCount(graphene.ObjectType):
    """Texts of a group that did not go out, with one status and reason."""

    status = graphene.Field(SmsMessageStatus, required=True)
    reason = graphene.String(required=True, description="e.g. `missing_variable:discount`.")
    count = graphene.Int(required=True)


class SmsStatsRow(graphene.ObjectType):
    """Figures of one group of texts; a dimension not grouped by is null."""

    channel = graphene.String()
    flow = graphene.Field(SmsFlow)
    date = graphene.Date()
    scheduled = graphene.Int(required=True, description="Still to be sent.")
    sent = graphene.Int(required=True, description="Accepted by the provider.")
    delivered = graphene.Int(required=True)
    failed = graphene.Int(required=True, description="Failed or undelivered.")
    skipped = graphene.Int(required=True)
    cancelled = graphene.Int(required=True)
    clicked = graphene.Int(required=True)
    converted = graphene.Int(required=True)
    opt_outs = graphene.Int(required=True, description="Opt-outs after one of these texts.")
    segments = graphene.Int(required=True)
    not_sent = graphene.List(
        graphene.NonNull(SmsNotSentCount),
        required=True,
        description="Skipped, cancelled, failed and undelivered texts by status and reason.",
    )
    revenue = graphene.List(graphene.NonNull(SmsMoney), required=True)
    estimated_cost = graphene.Field(SmsMoney, required=True)
    delivery_rate = graphene.Float()
    click_rate = graphene.Float()
    conversion_rate = graphene.Float()


def stats_row(row: stats.Row) -> SmsStatsRow:
    figures = row.figures
    return SmsStatsRow(
        channel=row.channel,
        flow=row.flow,
        date=row.day,
        **{name: getattr(figures, name) for name in stats.COUNTS},
        not_sent=[
            SmsNotSentCount(status=Status(status), reason=reason, count=count)
            for (status, reason), count in sorted(figures.reasons.items())
        ],
        revenue=[money(amount, currency) for currency, amount in sorted(figures.revenue.items())],
        estimated_cost=money(figures.estimated_cost, stats.COST_CURRENCY),
        delivery_rate=figures.delivery_rate,
        click_rate=figures.click_rate,
        conversion_rate=figures.conversion_rate,
    )
