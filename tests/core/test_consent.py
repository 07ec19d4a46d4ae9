"""Consent: transactional texts to any number given, marketing texts only after an opt-in."""

from datetime import UTC, datetime, timedelta

import pytest

from saleor_sms_plugin import conf, consent, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Consent, Flow, SkipReason, Status
from saleor_sms_plugin.events import AddressSnapshot, CustomerSnapshot
from saleor_sms_plugin.models import Message, Recipient
from saleor_sms_plugin.phones import PhoneNumberRejected

pytestmark = pytest.mark.django_db(transaction=True)

NOON = datetime(2030, 1, 15, 11, 0, tzinfo=UTC)  # noon in Warsaw
KEY = "sms_marketing_consent"


def on(*flows: Flow, off=(Flow.ORDER_CONFIRMATION,), **values):
    switches = {conf.flow_switch(flow): True for flow in flows}
    switches.update({conf.flow_switch(flow): False for flow in off})
    return {**switches, **values}


def customer(metadata=None, phone="+48 600 100 200", customer_id="42"):
    return CustomerSnapshot(
        id=customer_id,
        email="ada@example.com",
        language_code="pl",
        default_address=AddressSnapshot(phone=phone, country="PL"),
        metadata=metadata or {},
    )


def recipient():
    return Recipient.objects.get(phone="+48600100200")


# Reading consent ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", Consent.OPTED_IN),
        ("Yes", Consent.OPTED_IN),
        ("1", Consent.OPTED_IN),
        ("false", Consent.OPTED_OUT),
        ("no", Consent.OPTED_OUT),
        ("maybe", None),
    ],
)
def test_metadata_values_are_read_as_consent(value, expected):
    assert consent.consent_from_metadata({KEY: value}, KEY) == expected


def test_no_key_or_no_value_says_nothing():
    assert consent.consent_from_metadata({}, KEY) is None
    assert consent.consent_from_metadata({KEY: "true"}, "") is None


# Sources --------------------------------------------------------------------------------------


def test_checkout_metadata_opts_the_number_in_and_a_confirmation_goes_out(
    configure_channel, order_factory
):
    configure_channel()
    order = order_factory(country="PL", metadata={KEY: "true"})

    created = handlers.on_order_placed(order)

    assert {m.flow for m in created} == {Flow.ORDER_CONFIRMATION, Flow.OPT_IN_CONFIRMATION}
    assert (recipient().consent, recipient().consent_source) == (
        Consent.OPTED_IN,
        consent.Source.CHECKOUT,
    )
    handlers.on_order_placed(order_factory(country="PL", metadata={KEY: "true"}))
    assert Message.objects.filter(flow=Flow.OPT_IN_CONFIRMATION).count() == 1


def test_the_metadata_key_is_the_channels_setting(configure_channel, order_factory):
    configure_channel(consent_metadata_key="texts_ok")
    handlers.on_order_placed(order_factory(country="PL", metadata={KEY: "true"}))
    assert recipient().consent == Consent.UNKNOWN
    handlers.on_order_placed(order_factory(country="PL", metadata={"texts_ok": "yes"}))
    assert recipient().consent == Consent.OPTED_IN


def test_the_checkout_choice_outranks_the_account_metadata(configure_channel, order_factory):
    configure_channel()
    order = order_factory(
        country="PL", metadata={KEY: "false"}, customer_metadata={KEY: "true"}, user_id="42"
    )
    handlers.on_order_placed(order)
    assert recipient().consent == Consent.OPTED_OUT


def test_account_metadata_counts_when_the_checkout_says_nothing(configure_channel, order_factory):
    configure_channel()
    handlers.on_order_placed(
        order_factory(country="PL", customer_metadata={KEY: "true"}, user_id="42")
    )
    assert (recipient().consent, recipient().consent_source) == (
        Consent.OPTED_IN,
        consent.Source.CUSTOMER,
    )


def test_the_python_api_grants_and_withdraws_consent(configure_channel):
    configure_channel(**on(Flow.OPT_IN_CONFIRMATION))

    handlers.grant_consent("600 100 200", "default-channel", country="PL")
    assert (recipient().consent, recipient().consent_source) == (Consent.OPTED_IN, "api")
    [confirmation] = Message.objects.filter(flow=Flow.OPT_IN_CONFIRMATION)
    assert confirmation.recipient == recipient()

    handlers.withdraw_consent("+48600100200")
    assert recipient().consent == Consent.OPTED_OUT
    with pytest.raises(PhoneNumberRejected):
        handlers.grant_consent("12", "default-channel")


def test_new_account_that_agreed_is_welcomed_once_and_not_confirmed_twice(configure_channel):
    configure_channel(**on(Flow.WELCOME, Flow.OPT_IN_CONFIRMATION))
    new = customer(metadata={KEY: "true"})

    created = handlers.on_customer_created(new, "default-channel")
    # Saleor calls the hook once for each channel's plugin instance.
    configure_channel("channel-pln", **on(Flow.WELCOME, Flow.OPT_IN_CONFIRMATION))
    again = handlers.on_customer_created(new, "channel-pln")

    assert [m.flow for m in created] == [Flow.WELCOME]
    assert again == []
    assert recipient().consent == Consent.OPTED_IN
    assert recipient().customer_ref == "42"


def test_new_account_without_consent_gets_no_welcome(configure_channel):
    configure_channel(**on(Flow.WELCOME))
    assert handlers.on_customer_created(customer(), "default-channel") == []


def test_consent_given_later_in_the_account_is_confirmed(configure_channel):
    configure_channel(**on(Flow.OPT_IN_CONFIRMATION))
    handlers.on_customer_created(customer(), "default-channel")

    [confirmation] = handlers.on_customer_updated(customer({KEY: "true"}), "default-channel")

    assert confirmation.flow == Flow.OPT_IN_CONFIRMATION
    assert handlers.on_customer_updated(customer({KEY: "true"}), "default-channel") == []


# What consent decides -------------------------------------------------------------------------


def test_marketing_needs_consent_transactional_goes_to_any_number(configure_channel, order_factory):
    configure_channel(
        **on(Flow.ORDER_CONFIRMATION, Flow.POST_PURCHASE_OFFER, off=()),
        send_window_start="00:00",
        send_window_end="00:00",
    )
    order = order_factory(country="PL", created_at=NOON)
    handlers.on_order_placed(order)

    dispatch.dispatch_due(now=NOON + timedelta(hours=21))

    assert [m.flow for m in Message.objects.filter(status=Status.SENT)] == [Flow.ORDER_CONFIRMATION]
    assert set(
        Message.objects.filter(flow=Flow.POST_PURCHASE_OFFER).values_list("reason", flat=True)
    ) == {SkipReason.NO_CONSENT}


def test_an_opt_out_cancels_pending_marketing_but_not_transactional_texts(
    configure_channel, order_factory
):
    configure_channel(**on(Flow.ORDER_CONFIRMATION, Flow.POST_PURCHASE_OFFER, off=()))
    order = order_factory(country="PL", metadata={KEY: "true"})
    handlers.on_order_placed(order)
    Message.objects.update(due_at=NOON + timedelta(days=300))

    handlers.withdraw_consent("+48600100200")

    statuses = dict(Message.objects.values_list("flow", "status").distinct())
    assert statuses[Flow.POST_PURCHASE_OFFER] == Status.CANCELLED
    assert statuses[Flow.ORDER_CONFIRMATION] == Status.SCHEDULED


def test_marketing_texts_name_the_brand_and_carry_an_opt_out_line(configure_channel):
    configure_channel(**on(Flow.WELCOME))
    handlers.on_customer_created(customer({KEY: "true"}), "default-channel")

    dispatch.dispatch_due(now=NOON + timedelta(minutes=1))

    [sms] = locmem.outbox
    assert "Acme Outfitters" in sms.body
    assert "STOP" in sms.body.splitlines()[-1]


def test_the_frequency_cap_holds_back_marketing_texts_even_within_one_batch(configure_channel):
    configure_channel(
        **on(Flow.WELCOME, off=(Flow.ORDER_CONFIRMATION, Flow.OPT_IN_CONFIRMATION)),
        frequency_cap_texts="1",
        frequency_cap_days="7",
    )
    handlers.grant_consent("+48600100200", "default-channel")
    for number in range(3):
        Message.objects.create(
            channel_slug="default-channel",
            flow=Flow.WELCOME,
            dedupe_key=f"welcome:test:{number}",
            recipient=recipient(),
            due_at=NOON,
        )

    report = dispatch.dispatch_due(now=NOON)

    assert report.sent == 1
    assert report.deferred == 2
    assert set(
        Message.objects.filter(status=Status.SCHEDULED).values_list("due_at", flat=True)
    ) == {NOON + timedelta(days=7)}
