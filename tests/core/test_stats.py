"""Statistics per channel, flow and day: counts, segments, costs, revenue and opt-outs."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from saleor_sms_plugin import conf, stats
from saleor_sms_plugin.constants import Consent, Flow, Status
from saleor_sms_plugin.models import Recipient
from saleor_sms_plugin.stats import Dimension, Period

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PERIOD = Period(DAY - timedelta(days=6), DAY, UTC)


@pytest.fixture
def sms_message(message_factory):
    """Messages that went out (or are due) at noon on DAY unless told otherwise."""

    def create(*args, at=NOON, **kwargs):
        return message_factory(*args, at=at, **kwargs)

    return create


def test_a_day_of_texts_adds_up_per_channel_flow_and_day(channel, sms_message):
    sms_message(Flow.ORDER_CONFIRMATION, Status.DELIVERED, segments=1)
    sms_message(Flow.ORDER_CONFIRMATION, Status.DELIVERED, segments=2)
    sms_message(Flow.ORDER_CONFIRMATION, Status.FAILED, sent=False)
    sms_message(Flow.ORDER_CONFIRMATION, Status.UNDELIVERED, segments=1)
    sms_message(Flow.ORDER_CONFIRMATION, Status.SKIPPED, sent=False)

    [row] = stats.collect(PERIOD)

    assert (row.channel, row.flow, row.day) == ("default-channel", "order_confirmation", DAY)
    figures = row.figures
    assert (figures.sent, figures.delivered, figures.failed, figures.skipped) == (3, 2, 2, 1)
    assert figures.segments == 4
    assert figures.estimated_cost == Decimal("0.0332")  # 4 x the default 0.0083
    assert figures.delivery_rate == pytest.approx(2 / 3)


def test_clicks_conversions_and_revenue_come_from_attributed_texts(channel, sms_message):
    sms_message(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, clicked=True)
    sms_message(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, clicked=True, revenue="25.50")
    sms_message(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, clicked=True, revenue="10.00")
    sms_message(Flow.POST_PURCHASE_OFFER, Status.DELIVERED)

    figures = stats.totals(stats.collect(PERIOD))

    assert (figures.sent, figures.clicked, figures.converted) == (4, 3, 2)
    assert figures.revenue == {"USD": Decimal("35.500")}
    assert figures.click_rate == 0.75
    assert figures.conversion_rate == 0.5


def test_a_text_counts_on_the_day_it_went_out_in_the_period_time_zone(channel, sms_message):
    late_evening_in_new_york = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, at=late_evening_in_new_york)
    new_york = ZoneInfo("America/New_York")

    [utc_row] = stats.collect(PERIOD)
    [local_row] = stats.collect(Period(DAY - timedelta(days=6), DAY, new_york))

    assert utc_row.day == DAY
    assert local_row.day == DAY - timedelta(days=1)


def test_scheduled_texts_count_on_their_due_day(channel, sms_message):
    sms_message(Flow.WIN_BACK, Status.SCHEDULED, sent=False, at=NOON + timedelta(days=3))

    [row] = stats.collect(Period(DAY, DAY + timedelta(days=7), UTC))

    assert row.day == DAY + timedelta(days=3)
    assert (row.figures.scheduled, row.figures.sent) == (1, 0)


def test_texts_outside_the_period_or_filters_are_left_out(configure_channel, sms_message):
    configure_channel("default-channel")
    configure_channel("channel-pln")
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, at=NOON - timedelta(days=30))
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, channel_slug="channel-pln")
    sms_message(Flow.WIN_BACK, Status.SENT)
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT)

    rows = stats.collect(PERIOD, channel_slug="default-channel", flows=["order_confirmation"])

    assert [(row.channel, row.flow, row.figures.sent) for row in rows] == [
        ("default-channel", "order_confirmation", 1)
    ]


def test_each_channel_is_priced_with_its_own_price_per_segment(configure_channel, sms_message):
    configure_channel("default-channel", **{conf.PRICE_PER_SEGMENT: "0.01"})
    configure_channel("channel-pln", **{conf.PRICE_PER_SEGMENT: "0.05"})
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, segments=3)
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, segments=2, channel_slug="channel-pln")

    rows = stats.summarize(stats.collect(PERIOD), [Dimension.CHANNEL])

    assert [(row.channel, row.figures.estimated_cost) for row in rows] == [
        ("channel-pln", Decimal("0.10")),
        ("default-channel", Decimal("0.03")),
    ]


def test_an_opt_out_counts_for_the_last_text_before_it(channel, sms_message):
    recipient = Recipient.objects.create(phone="+12015550123", country="US")
    sms_message(Flow.ORDER_CONFIRMATION, Status.DELIVERED, recipient=recipient, at=NOON)
    sms_message(Flow.WIN_BACK, Status.DELIVERED, recipient=recipient, at=NOON + timedelta(hours=1))
    sms_message(
        Flow.POST_PURCHASE_OFFER,
        Status.SCHEDULED,
        sent=False,
        recipient=recipient,
        at=NOON + timedelta(days=1),
    )
    Recipient.objects.filter(pk=recipient.pk).update(
        consent=Consent.OPTED_OUT, consent_changed_at=NOON + timedelta(hours=2)
    )
    never_texted = Recipient.objects.create(phone="+12015550199", country="US")
    Recipient.objects.filter(pk=never_texted.pk).update(
        consent=Consent.OPTED_OUT, consent_changed_at=NOON
    )

    rows = stats.summarize(stats.collect(PERIOD), [Dimension.FLOW])

    assert {row.flow: row.figures.opt_outs for row in rows} == {
        "order_confirmation": 0,
        "win_back": 1,
    }


def test_summaries_add_up_and_days_without_texts_are_zero(channel, sms_message):
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, at=NOON - timedelta(days=2))
    sms_message(Flow.WIN_BACK, Status.SENT, at=NOON)
    sms_message(Flow.ORDER_CONFIRMATION, Status.SENT, at=NOON)

    rows = stats.collect(PERIOD)
    series = stats.daily(rows, PERIOD)

    assert [row.figures.sent for row in series] == [0, 0, 0, 0, 1, 0, 2]
    assert [row.day for row in series] == PERIOD.days()
    assert stats.totals(rows).sent == 3
    assert stats.summarize([], ())[0].figures.sent == 0


def test_a_period_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="ends before"):
        Period.between(DAY, DAY - timedelta(days=1), UTC)
    assert Period.between(None, DAY, UTC).days()[0] == DAY - timedelta(days=29)
