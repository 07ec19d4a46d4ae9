"""Win-back: a week after the last purchase, then every two weeks, a different text each time."""

from datetime import UTC, datetime, timedelta

import pytest

from saleor_sms_plugin import conf, dispatch, handlers, scheduling
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Consent, Flow, SkipReason, Status
from saleor_sms_plugin.models import Message, Recipient
from saleor_sms_plugin.past_customers import PastCustomer, start_win_back

from ..conftest import WIN_BACK_OFFERS, offer_links

pytestmark = pytest.mark.django_db(transaction=True)

PLACED = datetime(2030, 1, 15, 11, 0, tzinfo=UTC)  # noon in Warsaw
CONSENT = {"sms_marketing_consent": "true"}
DAY = timedelta(days=1)


@pytest.fixture
def win_back_on(configure_channel):
    def configure(**values):
        return configure_channel(
            **{
                conf.flow_switch(Flow.ORDER_CONFIRMATION): False,
                conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
                conf.flow_switch(Flow.WIN_BACK): True,
                **offer_links(WIN_BACK_OFFERS),
                **values,
            }
        )

    return configure


def buy(order_factory, at=PLACED, **kwargs):
    order = order_factory(country="PL", created_at=at, metadata=CONSENT, user_id="7", **kwargs)
    handlers.on_order_placed(order)
    return order


def win_backs():
    return list(Message.objects.filter(flow=Flow.WIN_BACK).order_by("step", "id"))


def test_first_win_back_text_comes_seven_days_after_the_purchase(win_back_on, order_factory):
    win_back_on()
    buy(order_factory)

    dispatch.dispatch_due(now=PLACED + 7 * DAY - timedelta(minutes=1))
    assert locmem.outbox == []
    dispatch.dispatch_due(now=PLACED + 7 * DAY)
    assert len(locmem.outbox) == 1


def test_then_every_14_days_each_time_another_text_until_the_maximum(win_back_on, order_factory):
    win_back_on(win_back_max_texts="3")
    buy(order_factory)

    for day in range(0, 80):
        dispatch.dispatch_due(now=PLACED + day * DAY)

    assert [(m.step, m.status, m.due_at - PLACED) for m in win_backs()] == [
        (1, Status.SENT, 7 * DAY),
        (2, Status.SENT, 21 * DAY),
        (3, Status.SENT, 35 * DAY),
    ]
    assert len({sms.body for sms in locmem.outbox}) == 3


def test_a_purchase_stops_the_win_back_and_starts_a_new_cadence(win_back_on, order_factory):
    win_back_on()
    buy(order_factory)
    dispatch.dispatch_due(now=PLACED + 7 * DAY)
    again = buy(order_factory, at=PLACED + 10 * DAY)

    pending = [m for m in win_backs() if m.status == Status.SCHEDULED]
    assert [(m.order_id, m.step, m.due_at) for m in pending] == [(again.id, 1, PLACED + 17 * DAY)]
    assert (
        Message.objects.filter(
            flow=Flow.WIN_BACK, status=Status.CANCELLED, reason=SkipReason.NEW_ORDER
        ).count()
        == 1
    )


def test_an_opt_out_ends_the_win_back(win_back_on, order_factory):
    win_back_on()
    buy(order_factory)
    dispatch.dispatch_due(now=PLACED + 7 * DAY)

    handlers.withdraw_consent("+48600100200")
    for day in range(8, 60):
        dispatch.dispatch_due(now=PLACED + day * DAY)

    assert len(locmem.outbox) == 1
    assert not Message.objects.filter(flow=Flow.WIN_BACK, status=Status.SCHEDULED).exists()


def test_without_consent_the_win_back_is_skipped_and_not_continued(win_back_on, order_factory):
    win_back_on()
    handlers.on_order_placed(order_factory(country="PL", created_at=PLACED, user_id="7"))

    for day in range(0, 60):
        dispatch.dispatch_due(now=PLACED + day * DAY)

    assert [(m.step, m.status, m.reason) for m in win_backs()] == [
        (1, Status.SKIPPED, SkipReason.NO_CONSENT)
    ]


def test_a_follow_up_is_scheduled_once_however_often_a_text_is_recorded(win_back_on, order_factory):
    win_back_on()
    buy(order_factory)
    dispatch.dispatch_due(now=PLACED + 7 * DAY)
    [first, second] = win_backs()

    again = scheduling.schedule_follow_ups(
        [first], {"default-channel": conf.load_stored_settings("default-channel")}, PLACED
    )

    assert again == []
    assert second.step == 2
    assert len(win_backs()) == 2


def test_past_customers_start_their_win_back_now_and_keep_the_spacing(win_back_on):
    win_back_on()
    now = PLACED + 100 * DAY
    customers = [
        PastCustomer("c1", "+48600100201", "o1", PLACED, country="PL", consented=True),
        PastCustomer("c2", "+48600100202", "o2", now - 2 * DAY, country="PL", consented=True),
    ]

    assert start_win_back("default-channel", customers, now=now) == 2
    assert start_win_back("default-channel", customers, now=now) == 0

    due = {m.customer_ref: m.due_at for m in win_backs()}
    assert due == {"c1": now, "c2": now + 5 * DAY}
    assert Recipient.objects.get(phone="+48600100201").consent == Consent.OPTED_IN
    dispatch.dispatch_due(now=now)
    [following] = [m for m in win_backs() if m.step == 2]
    assert following.due_at == now + 14 * DAY


def test_importing_never_overrides_an_opt_out(win_back_on):
    win_back_on()
    handlers.withdraw_consent("+48600100201")

    start_win_back(
        "default-channel",
        [PastCustomer("c1", "+48600100201", "o1", PLACED, country="PL", consented=True)],
        now=PLACED,
    )

    assert Recipient.objects.get(phone="+48600100201").consent == Consent.OPTED_OUT
