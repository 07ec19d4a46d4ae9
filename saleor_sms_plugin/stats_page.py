"""The statistics page for store staff: funnels per channel and flow, texts per day.

Served at `/plugins/channel/<channel>/<PLUGIN_ID>/stats/` to viewers allowed to use the API
(`auth`). A browser opens it once with `?token=<access token>`: the page checks the token,
keeps a signed session cookie for this path and redirects to the address without the token.
API clients may send the token in the Authorization header instead. The charts are SVG drawn
on the server: the page loads nothing from elsewhere and runs no script.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string

from . import auth, stats
from .conf import ChannelSettings
from .stats import Dimension, Figures, Period, Row

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    ),
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def stats_page(request: HttpRequest, channel: ChannelSettings) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    token = request.GET.get("token")
    if token:
        return _sign_in(request, token)
    try:
        viewer = _viewer(request)
    except auth.InvalidToken as error:
        return _page(request, "saleor_sms_plugin/stats_sign_in.html", {"error": str(error)}, 401)
    if not viewer.is_authenticated:
        return _page(request, "saleor_sms_plugin/stats_sign_in.html", {}, 401)
    if not viewer.may_manage_texts:
        return _forbidden(request, viewer)
    return _page(request, "saleor_sms_plugin/stats.html", _context(request, channel, viewer))


def _viewer(request: HttpRequest) -> auth.Viewer:
    if auth.bearer_token(request):
        return auth.authenticate(request)
    return auth.session_viewer(request)


def _sign_in(request: HttpRequest, token: str) -> HttpResponse:
    request.META[auth.DEFAULT_AUTH_HEADER] = f"Bearer {token}"
    request.META.pop(auth.SALEOR_AUTH_HEADER, None)
    try:
        viewer = auth.authenticate(request)
    except auth.InvalidToken as error:
        return _page(request, "saleor_sms_plugin/stats_sign_in.html", {"error": str(error)}, 401)
    if not viewer.may_manage_texts:
        return _forbidden(request, viewer)
    query = urlencode([(key, value) for key, value in request.GET.items() if key != "token"])
    response = HttpResponseRedirect(request.path + (f"?{query}" if query else ""))
    auth.start_session(request, response, viewer, request.path)
    return response


def _forbidden(request: HttpRequest, viewer: auth.Viewer) -> HttpResponse:
    context = {
        "viewer": auth.describe(viewer),
        "permissions": [str(permission) for permission in auth.REQUIRED_PERMISSIONS],
    }
    response = _page(request, "saleor_sms_plugin/stats_forbidden.html", context, 403)
    auth.end_session(response, request.path)
    return response


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    html = render_to_string(template, context, request=request)
    return HttpResponse(html, status=status, headers=SECURITY_HEADERS)


def _context(request: HttpRequest, channel: ChannelSettings, viewer: auth.Viewer) -> dict[str, Any]:
    days = _int(request.GET.get("days"), DEFAULT_PERIOD)
    days = days if days in PERIODS else DEFAULT_PERIOD
    chosen = request.GET.get("channel") or ""
    period = Period.last_days(days)
    everything = stats.collect(period)
    channels = sorted({row.channel for row in everything if row.channel})
    rows = [row for row in everything if not chosen or row.channel == chosen]
    total = stats.totals(rows)
    per_flow = stats.summarize(rows, [Dimension.CHANNEL, Dimension.FLOW])
    return {
        "viewer": auth.describe(viewer),
        "route_channel": channel.channel_slug,
        "period": period,
        "days": days,
        "periods": PERIODS,
        "channels": channels,
        "chosen": chosen,
        "totals": total,
        "revenue": _money(total.revenue),
        "cost": f"{total.estimated_cost.quantize(Decimal('0.01'))} {stats.COST_CURRENCY}",
        "funnels": [
            funnel(row)
            for row in per_flow
            if any(getattr(row.figures, name) for name in stats.COUNTS)
        ],
        "not_sent": not_sent(per_flow),
        "daily": daily_chart(stats.daily(rows, period)),
    }


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _money(revenue: dict[str, Decimal]) -> str:
    if not revenue:
        return "0"
    return ", ".join(
        f"{amount.quantize(Decimal('0.01'))} {currency}"
        for currency, amount in sorted(revenue.items())
    )


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


@dataclass(frozen=True)
class NotSent:
    """Texts of one channel and flow that did not go out, with one status and reason."""

    channel: str
    flow: str
    status: str
    reason: str
    count: int


def not_sent(rows: list[Row]) -> list[NotSent]:
    """Why texts did not go out, per channel and flow, the most frequent reason first."""
    found = [
        NotSent(row.channel or "", (row.flow or "").replace("_", " "), status, reason, count)
        for row in rows
        for (status, reason), count in row.figures.reasons.items()
    ]
    return sorted(found, key=lambda item: (item.channel, item.flow, -item.count, item.reason))


# Charts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: int
    # Bar width in percent of the sent texts, and the share of the step before.
    width: float
    rate: str


@dataclass(frozen=True)
class Funnel:
    channel: str
    flow: str
    steps: list[FunnelStep]
    revenue: str
    opt_outs: int
    figures: Figures


FUNNEL_STEPS = (
    ("Sent", "sent"),
    ("Delivered", "delivered"),
    ("Clicked", "clicked"),
    ("Converted", "converted"),
)


def funnel(row: Row) -> Funnel:
    """The sent -> delivered -> clicked -> converted funnel of one channel and flow."""
    figures = row.figures
    steps: list[FunnelStep] = []
    previous = figures.sent
    for label, name in FUNNEL_STEPS:
        value = getattr(figures, name)
        width = 100 * value / figures.sent if figures.sent else 0.0
        rate = "" if name == "sent" else _percent(value, previous)
        steps.append(FunnelStep(label, value, round(width, 2), rate))
        previous = value
    return Funnel(
        channel=row.channel or "",
        flow=(row.flow or "").replace("_", " "),
        steps=steps,
        revenue=_money(figures.revenue),
        opt_outs=figures.opt_outs,
        figures=figures,
    )


@dataclass(frozen=True)
class DayBar:
    label: str
    x: float
    width: float
    # Stacked from the baseline: delivered, then sent but not (yet) delivered.
    parts: list[tuple[str, float, float, int]]  # (css class, y, height, count)
    total: int


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    bars: list[DayBar]
    max_value: int
    ticks: list[tuple[float, str]]  # (x, date label)
    baseline: float


CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 760, 220, 16, 28


def daily_chart(series: list[Row]) -> DailyChart:
    """Texts sent per day as stacked bars: delivered, and the rest."""
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_height
    peak = max((row.figures.sent for row in series), default=0)
    scale = plot_height / peak if peak else 0.0
    slot = CHART_WIDTH / max(len(series), 1)
    bars = []
    for index, row in enumerate(series):
        figures = row.figures
        values = [
            ("delivered", figures.delivered),
            ("sent", figures.sent - figures.delivered),
        ]
        parts: list[tuple[str, float, float, int]] = []
        top: float = baseline
        for css_class, count in values:
            height = count * scale
            top -= height
            if count:
                parts.append((css_class, round(top, 2), round(height, 2), count))
        bars.append(
            DayBar(
                label=row.day.isoformat() if row.day else "",
                x=round(index * slot + slot * 0.15, 2),
                width=round(slot * 0.7, 2),
                parts=parts,
                total=figures.sent,
            )
        )
    step = max(1, len(series) // 6)
    ticks = [
        (round(index * slot + slot / 2, 2), bar.label[5:])
        for index, bar in enumerate(bars)
        if index % step == 0
    ]
    return DailyChart(CHART_WIDTH, CHART_HEIGHT, bars, peak, ticks, baseline)
