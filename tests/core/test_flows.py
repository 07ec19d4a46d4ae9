"""The flow rules as plain functions: what an event plans, and what happens to a due text."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saleor_sms_plugin import conf, flows
from saleor_sms_plugin.conf import ChannelSettings
from saleor_sms_plugin.constants import Consent, Flow, SkipReason
from saleor_sms_plugin.events import AddressSnapshot, FulfillmentSnapshot, OrderSnapshot
from saleor_sms_plugin.flows import Defer, MessageFacts, RecipientFacts, Send, Skip, Timings

PLACED = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)


def channel(*enabled: Flow, **values) -> ChannelSettings:
    raw = {conf.flow_switch(flow): flow in enabled for flow, _, _ in conf.CONFIGURABLE_FLOWS}
    raw.update(values)
    return ChannelSettings.build("default-channel", True, raw, default_country="PL")


def order(**overrides) -> OrderSnapshot:
    fields = {
        "id": "order-1",
        "number": "1001",
        "channel_slug": "default-channel",
        "email": "ada@example.com",
        "total": Decimal("10"),
        "currency": "PLN",
        "created_at": PLACED,
        "billing_address": AddressSnapshot(phone="+48600100200", country="PL"),
    }
    fields.update(overrides)
    return OrderSnapshot(**fields)


def opted_in(**overrides) -> RecipientFacts:
    return RecipientFacts(phone="+48600100200", consent=Consent.OPTED_IN, **overrides)


# Planning -------------------------------------------------------------------------------------


def test_offers_default_to_15_minutes_3_hours_and_20_hours_after_the_order():
    planned = flows.plan_order_placed(order(), channel(Flow.POST_PURCHASE_OFFER))

    assert [(item.flow, item.step, item.due_at - PLACED) for item in planned] == [
        (Flow.POST_PURCHASE_OFFER, 1, timedelta(minutes=15)),
        (Flow.POST_PURCHASE_OFFER, 2, timedelta(hours=3)),
        (Flow.POST_PURCHASE_OFFER, 3, timedelta(hours=20)),
    ]
    assert {item.expires_at for item in planned} == {PLACED + timedelta(hours=24)}
    assert len({item.dedupe_key for item in planned}) == 3


def test_offer_times_are_configurable_but_never_more_than_three_or_past_24_hours():
    planned = flows.plan_order_placed(
        order(), channel(Flow.POST_PURCHASE_OFFER, offer_delays_minutes="30, 600")
    )
    assert [item.due_at - PLACED for item in planned] == [
        timedelta(minutes=30),
        timedelta(hours=10),
    ]
    for too_many in ("1, 2, 3, 4", "60, 1440", "600, 30"):
        with pytest.raises(conf.ConfigurationError) as error:
            channel(offer_delays_minutes=too_many)
        assert conf.OFFER_DELAYS_MINUTES in error.value.errors


def test_win_back_starts_seven_days_after_the_purchase():
    [win_back] = flows.plan_order_placed(order(user_id="7"), channel(Flow.WIN_BACK))

    assert win_back.flow == Flow.WIN_BACK
    assert win_back.step == 1
    assert win_back.due_at == PLACED + timedelta(days=7)
    assert win_back.context["purchase_at"] == PLACED.isoformat()


def test_win_back_repeats_every_14_days_until_the_maximum():
    timings = Timings.of(channel(Flow.WIN_BACK))
    steps = []
    step = 1
    while (following := flows.next_win_back("7", "order-1", PLACED, step, timings)) is not None:
        steps.append((following.step, following.due_at - PLACED))
        step = following.step
    assert steps == [(2, timedelta(days=21)), (3, timedelta(days=35)), (4, timedelta(days=49))]


def test_each_win_back_text_is_a_different_variant_rotating_past_the_last():
    assert [flows.text_variant(Flow.WIN_BACK, step) for step in range(1, 7)] == [1, 2, 3, 4, 1, 2]
    assert flows.text_variant(Flow.POST_PURCHASE_OFFER, 3) == 3


def test_thank_you_rides_on_the_confirmation_or_comes_later_on_its_own():
    [confirmation] = flows.plan_order_placed(
        order(), channel(Flow.ORDER_CONFIRMATION, Flow.THANK_YOU)
    )
    assert confirmation.context == {"append_texts": ["thank_you"]}

    separate = flows.plan_order_placed(
        order(),
        channel(Flow.ORDER_CONFIRMATION, Flow.THANK_YOU, thank_you_with_confirmation=False),
    )
    assert [(item.flow, item.due_at - PLACED) for item in separate] == [
        (Flow.ORDER_CONFIRMATION, timedelta()),
        (Flow.THANK_YOU, timedelta(hours=1)),
    ]


def test_loyalty_invite_only_for_registered_customers_once_each():
    assert flows.plan_order_placed(order(), channel(Flow.LOYALTY_INVITE)) == []
    [invite] = flows.plan_order_placed(order(user_id="7"), channel(Flow.LOYALTY_INVITE))
    assert invite.dedupe_key == "loyalty_invite:7"
    assert invite.due_at == PLACED + timedelta(days=3)


def test_disabled_flows_plan_nothing():
    assert flows.plan_order_placed(order(user_id="7"), channel()) == []


def test_shipping_text_carries_the_tracking_number_and_link():
    fulfillment = FulfillmentSnapshot(id="f1", order=order(), tracking_number="1Z 99/1")
    planned = flows.plan_fulfillment(
        fulfillment,
        channel(
            Flow.SHIPPING_CONFIRMATION,
            tracking_url_template="https://track.example.com/?n={tracking_number}",
        ),
        PLACED,
    )
    [shipping] = planned
    assert shipping.due_at == PLACED
    assert shipping.context["variables"] == {
        "tracking_number": "1Z 99/1",
        "tracking_url": "https://track.example.com/?n=1Z%2099%2F1",
    }


def test_shipping_text_without_tracking_waits_for_the_number_to_ride_along():
    fulfillment = FulfillmentSnapshot(id="f1", order=order())
    [shipping] = flows.plan_fulfillment(fulfillment, channel(Flow.SHIPPING_CONFIRMATION), PLACED)
    assert shipping.due_at == PLACED + flows.TRACKING_GRACE


def test_no_shipping_text_when_staff_chose_not_to_notify_but_the_review_still_comes():
    fulfillment = FulfillmentSnapshot(id="f1", order=order(), notify_customer=False)
    [review] = flows.plan_fulfillment(
        fulfillment,
        channel(Flow.SHIPPING_CONFIRMATION, Flow.REVIEW_REQUEST, review_delay_days="10"),
        PLACED,
    )
    assert review.flow == Flow.REVIEW_REQUEST
    assert review.due_at == PLACED + timedelta(days=10)
    assert review.dedupe_key == "review_request:order-1"


def test_tracking_url_template_must_hold_the_placeholder():
    with pytest.raises(conf.ConfigurationError) as error:
        channel(tracking_url_template="https://track.example.com/")
    assert conf.TRACKING_URL_TEMPLATE in error.value.errors


def test_welcome_needs_consent_and_stands_in_for_the_opt_in_confirmation():
    enabled = channel(Flow.WELCOME, Flow.OPT_IN_CONFIRMATION)
    assert flows.plan_welcome("7", enabled, consented=False, now=PLACED) == []
    [welcome] = flows.plan_welcome("7", enabled, consented=True, now=PLACED)
    assert welcome.dedupe_key == "welcome:7"
    assert flows.plan_opt_in_confirmation(1, enabled, PLACED, welcomed=True) == []
    [confirmation] = flows.plan_opt_in_confirmation(1, enabled, PLACED)
    assert confirmation.flow == Flow.OPT_IN_CONFIRMATION


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (conf.WIN_BACK_MAX_TEXTS, "0"),
        (conf.WIN_BACK_FIRST_DAYS, "seven"),
        (conf.SEND_WINDOW_START, "9am"),
        (conf.FREQUENCY_CAP_TEXTS, "-1"),
        (conf.RETENTION_DAYS, "forever"),
        (conf.INBOUND_FORWARD_URL, "ftp://example.com"),
        (conf.CONSENT_METADATA_KEY, "sms consent"),
    ],
)
def test_malformed_timings_are_rejected_with_the_field_named(field, value):
    with pytest.raises(conf.ConfigurationError) as error:
        channel(**{field: value})
    assert field in error.value.errors


# Deciding -------------------------------------------------------------------------------------


def test_marketing_needs_consent_transactional_does_not():
    settings = channel(Flow.SHIPPING_CONFIRMATION, Flow.WIN_BACK)
    unknown = RecipientFacts(phone="+48600100200", consent=Consent.UNKNOWN)
    assert flows.decide(Flow.WIN_BACK, unknown, settings, PLACED) == Skip(SkipReason.NO_CONSENT)
    assert flows.decide(Flow.SHIPPING_CONFIRMATION, unknown, settings, PLACED) == Send()


def test_an_opt_out_stops_transactional_texts_too():
    settings = channel(Flow.SHIPPING_CONFIRMATION)
    out = RecipientFacts(phone="+48600100200", consent=Consent.OPTED_OUT)
    assert flows.decide(Flow.SHIPPING_CONFIRMATION, out, settings, PLACED) == Skip(
        SkipReason.OPTED_OUT
    )


def test_no_offer_after_its_window():
    facts = MessageFacts(purchase_at=PLACED, expires_at=PLACED + timedelta(hours=24))
    decision = flows.decide(
        Flow.POST_PURCHASE_OFFER,
        opted_in(),
        channel(Flow.POST_PURCHASE_OFFER),
        PLACED + timedelta(hours=24),
        facts,
    )
    assert decision == Skip(SkipReason.WINDOW_PASSED)


def test_a_newer_purchase_stops_the_follow_ups_of_an_older_one():
    facts = MessageFacts(purchase_at=PLACED)
    recipient = opted_in(last_order_at=PLACED + timedelta(days=3))
    decision = flows.decide(
        Flow.WIN_BACK, recipient, channel(Flow.WIN_BACK), PLACED + timedelta(days=7), facts
    )
    assert decision == Skip(SkipReason.NEW_ORDER)
    same = opted_in(last_order_at=PLACED)
    assert (
        flows.decide(Flow.WIN_BACK, same, channel(Flow.WIN_BACK), PLACED + timedelta(days=7), facts)
        == Send()
    )


def test_the_frequency_cap_defers_marketing_until_the_oldest_text_ages_out():
    settings = channel(Flow.WIN_BACK, frequency_cap_texts="2", frequency_cap_days="7")
    sent = (PLACED - timedelta(days=6), PLACED - timedelta(days=1))
    decision = flows.decide(Flow.WIN_BACK, opted_in(recent_marketing=sent), settings, PLACED)
    assert decision == Defer(PLACED + timedelta(days=1))
    old = (PLACED - timedelta(days=8), PLACED - timedelta(days=1))
    assert flows.decide(Flow.WIN_BACK, opted_in(recent_marketing=old), settings, PLACED) == Send()


def test_the_frequency_cap_drops_an_offer_it_would_hold_past_the_window():
    settings = channel(Flow.POST_PURCHASE_OFFER, frequency_cap_texts="1", frequency_cap_days="2")
    facts = MessageFacts(purchase_at=PLACED, expires_at=PLACED + timedelta(hours=24))
    recipient = opted_in(recent_marketing=(PLACED,))
    decision = flows.decide(
        Flow.POST_PURCHASE_OFFER, recipient, settings, PLACED + timedelta(hours=3), facts
    )
    assert decision == Skip(SkipReason.FREQUENCY_CAP)


def test_a_cap_of_zero_turns_the_cap_off():
    settings = channel(Flow.WIN_BACK, frequency_cap_texts="0")
    recipient = opted_in(recent_marketing=(PLACED,) * 50)
    assert flows.decide(Flow.WIN_BACK, recipient, settings, PLACED) == Send()


def test_transactional_texts_do_not_count_against_the_cap():
    settings = channel(Flow.SHIPPING_CONFIRMATION, frequency_cap_texts="1")
    recipient = opted_in(recent_marketing=(PLACED,) * 5)
    assert flows.decide(Flow.SHIPPING_CONFIRMATION, recipient, settings, PLACED) == Send()
