"""Figures for store staff: texts per channel, flow and day, from scheduling to revenue.

A text counts on the day it went out, or was due if it never did (in the period's time zone).
`collect` reads every figure at the finest grain, (channel, flow, day), in two queries whatever
the period: one grouped query over the messages, one over the numbers that opted out. Each
opt-out counts for the last text the number received before it; opt-outs of numbers that never
received a text belong to no flow and are left out. `summarize` adds rows up to a coarser grain.

`sent` counts texts the provider accepted; `delivered`, `clicked` and `converted` are subsets of
them. The estimated cost is the segments of sent texts times the channel's price per segment.
`reasons` counts the texts that did not go out (skipped, cancelled, failed, undelivered) by their
status and reason (`skipped`, `missing_variable:discount`), from the same grouped query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .conf import ChannelSettings, get_channel_settings
from .constants import Consent, Status
from .models import Message, Recipient

DEFAULT_DAYS = 30
NOT_SENT = (Status.SKIPPED, Status.CANCELLED, Status.FAILED, Status.UNDELIVERED)
# Providers bill in the account's currency; the price per segment is configured in it.
COST_CURRENCY = "USD"


class Dimension(StrEnum):
    CHANNEL = "channel"
    FLOW = "flow"
    DAY = "day"


ALL_DIMENSIONS = (Dimension.CHANNEL, Dimension.FLOW, Dimension.DAY)


@dataclass
class Figures:
    """What happened to a group of texts."""

    scheduled: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    clicked: int = 0
    converted: int = 0
    opt_outs: int = 0
    segments: int = 0
    # Revenue of the orders the texts led to, per currency.
    revenue: dict[str, Decimal] = field(default_factory=dict)
    estimated_cost: Decimal = Decimal(0)
    # Texts that did not go out, per (status, reason).
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, amount in other.revenue.items():
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + amount
        self.estimated_cost += other.estimated_cost
        for key, count in other.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + count

    @property
    def delivery_rate(self) -> float | None:
        """Delivered texts per sent text."""
        return _ratio(self.delivered, self.sent)

    @property
    def click_rate(self) -> float | None:
        """Clicked texts per sent text."""
        return _ratio(self.clicked, self.sent)

    @property
    def conversion_rate(self) -> float | None:
        """Texts that led to a purchase per sent text."""
        return _ratio(self.converted, self.sent)


COUNTS = tuple(f.name for f in fields(Figures) if f.type == "int")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Row:
    """Figures of one group; a dimension left out of the grouping is None."""

    channel: str | None
    flow: str | None
    day: date | None
    figures: Figures


@dataclass(frozen=True)
class Period:
    """Whole days, first and last included, in a time zone."""

    first_day: date
    last_day: date
    tz: tzinfo

    @classmethod
    def last_days(
        cls, days: int = DEFAULT_DAYS, *, today: date | None = None, tz: tzinfo | None = None
    ) -> Period:
        """The `days` days that end today."""
        tz = tz or timezone.get_current_timezone()
        today = today or timezone.localdate(timezone=tz)
        return cls(today - timedelta(days=max(days, 1) - 1), today, tz)

    @classmethod
    def between(
        cls, first_day: date | None, last_day: date | None, tz: tzinfo | None = None
    ) -> Period:
        """From `first_day` to `last_day`; a missing end means today, a missing start 30 days
        before the end. Raises ValueError when the period ends before it starts."""
        tz = tz or timezone.get_current_timezone()
        last = last_day or timezone.localdate(timezone=tz)
        first = first_day or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise ValueError("the period ends before it starts")
        return cls(first, last, tz)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=self.tz)

    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=offset) for offset in range(count)]


PriceLookup = Callable[[str], Decimal]


def collect(
    period: Period,
    *,
    channel_slug: str | None = None,
    flows: Sequence[str] | None = None,
    price_of: PriceLookup | None = None,
) -> list[Row]:
    """Figures per (channel, flow, day) within the period, optionally for one channel and
    some flows. `price_of` gives a channel's price per segment (default: its configuration)."""
    price_of = price_of or _configured_prices()
    rows: dict[tuple[str, str, date], Figures] = {}
    for item in _message_figures(period, channel_slug, flows):
        key = (item["channel_slug"], item["flow"], item["day"])
        figures = rows.setdefault(key, Figures())
        figures.add(_figures_of(item, price_of(item["channel_slug"])))
    for item in _opt_outs(period, channel_slug, flows):
        key = (item["channel_slug"], item["flow"], item["day"])
        rows.setdefault(key, Figures()).opt_outs += item["opt_outs"]
    return [
        Row(channel, flow, day, figures)
        for (channel, flow, day), figures in sorted(rows.items(), key=lambda entry: entry[0])
    ]


def _message_figures(
    period: Period, channel_slug: str | None, flows: Sequence[str] | None
) -> Iterable[dict[str, Any]]:
    sent = Q(provider_id__isnull=False)
    queryset = Message.objects.annotate(moment=Coalesce("sent_at", "due_at")).filter(
        moment__gte=period.start, moment__lt=period.end
    )
    if channel_slug:
        queryset = queryset.filter(channel_slug=channel_slug)
    if flows:
        queryset = queryset.filter(flow__in=list(flows))
    return (
        queryset.annotate(
            day=TruncDate("moment", tzinfo=period.tz),
            # Texts that went out are not told apart by the reason they once waited for.
            not_sent_status=_when_not_sent(F("status")),
            not_sent_reason=_when_not_sent(F("reason")),
        )
        .values(
            "channel_slug", "flow", "day", "revenue_currency", "not_sent_status", "not_sent_reason"
        )
        .annotate(
            scheduled=Count("pk", filter=Q(status__in=[Status.SCHEDULED, Status.SENDING])),
            sent=Count("pk", filter=sent),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=[Status.FAILED, Status.UNDELIVERED])),
            skipped=Count("pk", filter=Q(status=Status.SKIPPED)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            converted=Count("pk", filter=Q(converted_at__isnull=False)),
            segments=Coalesce(Sum("segments", filter=sent), 0),
            revenue=Sum("revenue", filter=Q(converted_at__isnull=False)),
        )
        .order_by()
    )


def _when_not_sent(value: F) -> Case:
    return Case(When(status__in=NOT_SENT, then=value), default=Value(""))


def _figures_of(item: dict[str, Any], price: Decimal) -> Figures:
    figures = Figures(**{name: item[name] for name in COUNTS if name in item})
    if item["revenue"] is not None and item["revenue_currency"]:
        figures.revenue[item["revenue_currency"]] = item["revenue"]
    figures.estimated_cost = price * figures.segments
    if item["not_sent_status"]:
        key = (item["not_sent_status"], item["not_sent_reason"])
        figures.reasons[key] = figures.skipped + figures.cancelled + figures.failed
    return figures


def _opt_outs(
    period: Period, channel_slug: str | None, flows: Sequence[str] | None
) -> Iterable[dict[str, Any]]:
    last_text = Message.objects.filter(
        recipient=OuterRef("pk"),
        sent_at__isnull=False,
        sent_at__lte=OuterRef("consent_changed_at"),
    ).order_by("-sent_at")
    queryset = (
        Recipient.objects.filter(
            consent=Consent.OPTED_OUT,
            consent_changed_at__gte=period.start,
            consent_changed_at__lt=period.end,
        )
        .annotate(
            channel_slug=Subquery(last_text.values("channel_slug")[:1]),
            flow=Subquery(last_text.values("flow")[:1]),
            day=TruncDate("consent_changed_at", tzinfo=period.tz),
        )
        .filter(channel_slug__isnull=False)
    )
    if channel_slug:
        queryset = queryset.filter(channel_slug=channel_slug)
    if flows:
        queryset = queryset.filter(flow__in=list(flows))
    return queryset.values("channel_slug", "flow", "day").annotate(opt_outs=Count("pk")).order_by()


def _configured_prices() -> PriceLookup:
    cache: dict[str, Decimal] = {}

    def price_of(channel_slug: str) -> Decimal:
        if channel_slug not in cache:
            channel: ChannelSettings | None = get_channel_settings(channel_slug)
            cache[channel_slug] = channel.price_per_segment if channel else Decimal(0)
        return cache[channel_slug]

    return price_of


def summarize(rows: Iterable[Row], by: Iterable[Dimension | str]) -> list[Row]:
    """The rows added up per the chosen dimensions (none: one row of totals)."""
    keep = {Dimension(dimension) for dimension in by}
    groups: dict[tuple[Any, Any, Any], Figures] = {}
    for row in rows:
        key = (
            row.channel if Dimension.CHANNEL in keep else None,
            row.flow if Dimension.FLOW in keep else None,
            row.day if Dimension.DAY in keep else None,
        )
        groups.setdefault(key, Figures()).add(row.figures)
    if not groups and not keep:
        groups[(None, None, None)] = Figures()
    return [
        Row(channel, flow, day, figures)
        for (channel, flow, day), figures in sorted(groups.items(), key=_sort_key)
    ]


def _sort_key(entry: tuple[tuple[Any, Any, Any], Figures]) -> tuple[Any, ...]:
    return tuple((value is not None, value or "") for value in entry[0])


def totals(rows: Iterable[Row]) -> Figures:
    return summarize(rows, ())[0].figures


def daily(rows: Iterable[Row], period: Period) -> list[Row]:
    """One row per day of the period, days without texts included."""
    by_day = {row.day: row for row in summarize(rows, [Dimension.DAY])}
    return [by_day.get(day) or Row(None, None, day, Figures()) for day in period.days()]
