"""Post-purchase offers: at most three within 24 hours, stopped by whatever makes them moot."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saleor_sms_plugin import conf, dispatch, flows, handlers, signals
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

# 14:00 in Warsaw: the offers at 15 min, 3 h and 20 h all fall inside the sending hours.
PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)
CONSENT = {"sms_marketing_consent": "true"}


@pytest.fixture
def offers_on(offers_channel):
    """Post-purchase offers on, an offer for each of the three texts, no confirmation."""
    return offers_channel()


def place(order_factory, **kwargs):
    order = order_factory(country="PL", created_at=PLACED, metadata=CONSENT, **kwargs)
    handlers.on_order_placed(order)
    return order


def offers(order):
    return list(Message.objects.filter(order_id=order.id, flow=Flow.POST_PURCHASE_OFFER))


def run_until(moment):
    dispatch.dispatch_due(now=moment)


def test_three_offers_go_out_at_their_times_each_with_a_different_text(offers_on, order_factory):
    order = place(order_factory)

    for hours, expected in ((0.2, 0), (0.25, 1), (3, 2), (20, 3), (30, 3)):
        run_until(PLACED + timedelta(hours=hours))
        assert len(locmem.outbox) == expected

    bodies = [sms.body for sms in locmem.outbox]
    assert len(set(bodies)) == 3
    assert all(sms.to == "+48600100200" for sms in locmem.outbox)
    assert {message.status for message in offers(order)} == {Status.SENT}


def test_offers_name_the_brand_and_carry_the_opt_out_line(offers_on, order_factory):
    place(order_factory)
    run_until(PLACED + timedelta(hours=1))

    [sms] = locmem.outbox
    assert "Acme Outfitters" in sms.body
    assert "STOP" in sms.body


def test_no_offer_is_sent_after_the_24_hour_window(offers_on, order_factory):
    order = place(order_factory)

    run_until(PLACED + timedelta(hours=25))

    assert locmem.outbox == []
    assert {(m.status, m.reason) for m in offers(order)} == {
        (Status.SKIPPED, SkipReason.WINDOW_PASSED)
    }


def test_a_new_order_stops_the_remaining_offers(offers_on, order_factory):
    first = place(order_factory)
    run_until(PLACED + timedelta(minutes=15))
    second = order_factory(country="PL", created_at=PLACED + timedelta(hours=1), metadata=CONSENT)
    handlers.on_order_placed(second)

    assert [(m.step, m.status, m.reason) for m in sorted(offers(first), key=lambda m: m.step)] == [
        (1, Status.SENT, ""),
        (2, Status.CANCELLED, SkipReason.NEW_ORDER),
        (3, Status.CANCELLED, SkipReason.NEW_ORDER),
    ]
    assert len(offers(second)) == 3


def test_a_newer_order_seen_only_at_sending_time_still_stops_an_offer(offers_on, order_factory):
    first = place(order_factory, email="ada@example.com")
    # Another customer reference (a guest checkout) with the same number.
    handlers.on_order_placed(
        order_factory(
            country="PL",
            created_at=PLACED + timedelta(minutes=5),
            email="other@example.com",
            metadata=CONSENT,
        )
    )

    run_until(PLACED + timedelta(minutes=16))

    [first_offer] = [m for m in offers(first) if m.step == 1]
    assert (first_offer.status, first_offer.reason) == (Status.SKIPPED, SkipReason.NEW_ORDER)


def test_a_cancellation_stops_every_pending_text_of_the_order(offers_on, order_factory):
    order = place(order_factory)

    cancelled = handlers.on_order_cancelled(order.id)

    assert cancelled == 3
    assert {(m.status, m.reason) for m in offers(order)} == {
        (Status.CANCELLED, SkipReason.ORDER_CANCELLED)
    }
    run_until(PLACED + timedelta(hours=21))
    assert locmem.outbox == []


def test_a_purchase_through_an_offer_stops_the_others(offers_on, order_factory):
    order = place(order_factory)
    run_until(PLACED + timedelta(minutes=15))

    assert handlers.on_offer_converted(order.id) == 2

    run_until(PLACED + timedelta(hours=21))
    assert len(locmem.outbox) == 1


def test_a_conversion_recorded_on_an_offer_stops_the_others(offers_on, order_factory):
    order = place(order_factory)
    run_until(PLACED + timedelta(minutes=15))
    [first] = [m for m in offers(order) if m.step == 1]

    signals.conversion.send(
        sender=Message,
        message_id=first.pk,
        order_id="new-order",
        revenue=Decimal("20"),
        currency="PLN",
        converted_at=PLACED + timedelta(minutes=30),
    )

    assert sorted((m.step, m.status, m.reason) for m in offers(order)) == [
        (1, Status.SENT, ""),
        (2, Status.CANCELLED, SkipReason.CONVERTED),
        (3, Status.CANCELLED, SkipReason.CONVERTED),
    ]


def test_an_opt_out_stops_the_offers(offers_on, order_factory):
    order = place(order_factory)

    handlers.withdraw_consent("+48600100200")

    assert {(m.status, m.reason) for m in offers(order)} == {
        (Status.CANCELLED, SkipReason.OPTED_OUT)
    }


def test_offers_without_consent_are_skipped(offers_on, order_factory):
    order = order_factory(country="PL", created_at=PLACED)
    handlers.on_order_placed(order)

    run_until(PLACED + timedelta(hours=21))

    assert locmem.outbox == []
    assert {m.reason for m in offers(order)} == {SkipReason.NO_CONSENT}


def test_the_same_order_hook_twice_schedules_the_offers_once(offers_on, order_factory):
    order = place(order_factory)
    handlers.on_order_placed(order)

    assert len(offers(order)) == 3


def test_offers_due_within_the_pause_after_a_purchase_through_an_offer_are_left_out(
    order_factory,
):
    order = order_factory(created_at=PLACED)
    values = conf.parse_values({conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS: "4"})
    timings = flows.Timings.from_values(values)

    through_an_offer = flows.plan_offers(order, timings, [PLACED])
    after_one_earlier = flows.plan_offers(order, timings, [PLACED - timedelta(hours=3)])
    long_after_one = flows.plan_offers(order, timings, [PLACED - timedelta(hours=30)])

    assert [offer.step for offer in through_an_offer] == [3]
    assert [offer.step for offer in after_one_earlier] == [2, 3]
    assert [offer.step for offer in long_after_one] == [1, 2, 3]
