"""The schema: queries for staff and apps, the mutations, and the committed SDL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphene import relay
from graphql import GraphQLError
from graphql_relay import from_global_id

from .. import operations, stats
from ..conf import get_channel_settings
from ..models import Message, Recipient
from .context import Context
from .mutations import Mutation
from .pagination import paginate
from .permissions import permission_required
from .sdl import print_sdl as print_schema
from .types import (
    SmsChannelFlows,
    SmsFlow,
    SmsMessage,
    SmsMessageConnection,
    SmsMessageStatus,
    SmsRecipient,
    SmsStatsDimension,
    SmsStatsRow,
    channel_flows,
    stats_row,
)

SDL_PATH = Path(__file__).resolve().parent.parent.parent / "schema.graphql"


class SmsDateTimeRangeInput(graphene.InputObjectType):
    gte = graphene.DateTime()
    lte = graphene.DateTime()


class SmsMessageFilterInput(graphene.InputObjectType):
    channel = graphene.String()
    flows = graphene.List(graphene.NonNull(SmsFlow))
    statuses = graphene.List(graphene.NonNull(SmsMessageStatus))
    reasons = graphene.List(
        graphene.NonNull(graphene.String),
        description="Reasons, whole (`missing_variable:discount`) or their kind before the "
        "colon (`missing_variable`).",
    )
    order = graphene.String(description="An order's ID (Saleor's global ID or UUID) or number.")
    phone = graphene.String(description="The recipient's number, in any format.")
    created_at = graphene.Field(SmsDateTimeRangeInput)
    sent_at = graphene.Field(SmsDateTimeRangeInput)


class SmsStatsFilterInput(graphene.InputObjectType):
    channel = graphene.String()
    flows = graphene.List(graphene.NonNull(SmsFlow))
    date_from = graphene.Date(description="Default: 29 days before `dateTo`.")
    date_to = graphene.Date(description="Default: today.")


def filter_messages(queryset: QuerySet[Message], filters: dict[str, Any], country: str) -> Any:
    if filters.get("channel"):
        queryset = queryset.filter(channel_slug=filters["channel"])
    if filters.get("flows"):
        queryset = queryset.filter(flow__in=filters["flows"])
    if filters.get("statuses"):
        queryset = queryset.filter(status__in=filters["statuses"])
    if filters.get("reasons"):
        queryset = queryset.filter(_any_reason(filters["reasons"]))
    if filters.get("order"):
        order = _order_id(filters["order"])
        queryset = queryset.filter(Q(order_id=order) | Q(order_number=order))
    if filters.get("phone"):
        recipient = operations.find_recipient(filters["phone"], country)
        queryset = queryset.filter(recipient=recipient) if recipient else queryset.none()
    for name in ("created_at", "sent_at"):
        period = filters.get(name) or {}
        if period.get("gte"):
            queryset = queryset.filter(**{f"{name}__gte": period["gte"]})
        if period.get("lte"):
            queryset = queryset.filter(**{f"{name}__lte": period["lte"]})
    return queryset


def _any_reason(reasons: list[str]) -> Q:
    matches = Q(reason__in=reasons)
    for kind in reasons:
        matches |= Q(reason__startswith=f"{kind}:")
    return matches


def _order_id(value: str) -> str:
    """Saleor's `Order:<uuid>` global IDs stand for the UUID the plugin stores."""
    try:
        type_name, pk = from_global_id(value)
    except (TypeError, ValueError, UnicodeDecodeError):
        return value
    return pk if type_name == "Order" and pk else value


class Query(graphene.ObjectType):
    messages = relay.ConnectionField(
        SmsMessageConnection,
        filter=SmsMessageFilterInput(),
        description="Texts of every channel, newest first; at most 100 per page.",
    )
    message = graphene.Field(
        SmsMessage, id=graphene.ID(required=True), description="A text by its ID."
    )
    recipient = graphene.Field(
        SmsRecipient,
        phone=graphene.String(required=True),
        country=graphene.String(description="For national formats; default: the channel's."),
        description="A number's consent and history; null when the plugin never saw it.",
    )
    flows = graphene.Field(
        SmsChannelFlows,
        channel=graphene.String(description="Default: the channel of the route."),
        description="A channel's flows, their timings, and the custom flows registered.",
    )
    stats = graphene.List(
        graphene.NonNull(SmsStatsRow),
        filter=SmsStatsFilterInput(),
        group_by=graphene.List(
            graphene.NonNull(SmsStatsDimension),
            description="Dimensions to group by (default: all three); an empty list gives one "
            "row of totals.",
        ),
        description="Figures per channel, flow and day (in the server's time zone).",
    )

    @staticmethod
    @permission_required
    def resolve_messages(
        root: Any, info: Any, filter: dict[str, Any] | None = None, **page: Any
    ) -> Any:
        context: Context = info.context
        queryset = filter_messages(
            Message.objects.select_related("recipient"),
            filter or {},
            context.channel.default_country,
        )
        return paginate(queryset, SmsMessageConnection, **page)

    @staticmethod
    @permission_required
    def resolve_message(root: Any, info: Any, id: str) -> Message | None:
        try:
            type_name, pk = from_global_id(id)
        except (TypeError, ValueError, UnicodeDecodeError):
            return None
        if type_name != SmsMessage.__name__ or not str(pk).isdigit():
            return None
        return Message.objects.select_related("recipient").filter(pk=int(pk)).first()

    @staticmethod
    @permission_required
    def resolve_recipient(
        root: Any, info: Any, phone: str, country: str | None = None
    ) -> Recipient | None:
        context: Context = info.context
        return operations.find_recipient(phone, country or context.channel.default_country)

    @staticmethod
    @permission_required
    def resolve_flows(root: Any, info: Any, channel: str | None = None) -> Any:
        context: Context = info.context
        settings = get_channel_settings(channel) if channel else context.channel
        return channel_flows(settings) if settings else None

    @staticmethod
    @permission_required
    def resolve_stats(
        root: Any,
        info: Any,
        group_by: list[str] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> list[Any]:
        filters = filter or {}
        try:
            period = stats.Period.between(filters.get("date_from"), filters.get("date_to"))
        except ValueError as error:
            raise GraphQLError(f"Invalid period: {error}.") from error
        if (period.last_day - period.first_day).days > MAX_STATS_DAYS:
            raise GraphQLError(f"Ask for at most {MAX_STATS_DAYS} days at a time.")
        rows = stats.collect(
            period, channel_slug=filters.get("channel"), flows=filters.get("flows")
        )
        dimensions = stats.ALL_DIMENSIONS if group_by is None else group_by
        return [stats_row(row) for row in stats.summarize(rows, dimensions)]


MAX_STATS_DAYS = 366

schema = graphene.Schema(query=Query, mutation=Mutation, types=[SmsMessage, SmsRecipient])


def print_sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return print_schema(schema)
