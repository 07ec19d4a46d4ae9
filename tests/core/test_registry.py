"""Custom flows registered in Python: the documented back-in-stock example, end to end."""

from datetime import timedelta

import pytest

from saleor_sms_plugin import dispatch, registry
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Consent, Flow, SkipReason, Status
from saleor_sms_plugin.models import Message, Recipient

pytestmark = pytest.mark.django_db

PHONE = "+12015550123"
URL = "https://shop.example.com/products/tee"


@pytest.fixture
def announce_restock(docs_example):
    return docs_example("custom_flow")["announce_restock"]


def opt_in(phone=PHONE, **fields):
    return Recipient.objects.create(phone=phone, country="US", consent=Consent.OPTED_IN, **fields)


def test_a_triggered_custom_flow_is_sent_with_its_variables(channel, announce_restock):
    opt_in()

    result = announce_restock("default-channel", PHONE, "UHJvZHVjdFZhcmlhbnQ6MQ==", "Tee", URL)
    [message] = result.messages
    dispatch.send_message(message.pk)

    assert (message.flow, message.context["custom_flow"]) == (Flow.CUSTOM, "back_in_stock")
    [sms] = locmem.outbox
    assert sms.to == PHONE
    assert sms.body.startswith(f"Acme Outfitters: Tee is back in stock. Get yours: {URL}\n")
    assert "STOP" in sms.body  # a marketing flow carries the opt-out line
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_the_recipient_language_picks_the_text(channel, announce_restock):
    opt_in(language="pl")

    [message] = announce_restock("default-channel", PHONE, "v1", "Koszulka", URL).messages

    assert message.language == "pl"
    assert message.body.startswith("Acme Outfitters: Koszulka znowu jest dostępny.")


def test_the_same_key_schedules_once(channel, announce_restock):
    opt_in()

    first = announce_restock("default-channel", PHONE, "v1", "Tee", URL)
    again = announce_restock("default-channel", PHONE, "v1", "Tee", URL)

    assert len(first.messages) == 1
    assert again.messages == []
    assert Message.objects.count() == 1


def test_a_marketing_flow_skips_numbers_without_an_opt_in(channel, announce_restock):
    [message] = announce_restock("default-channel", PHONE, "v1", "Tee", URL).messages

    report = dispatch.send_message(message.pk)

    assert report.skipped == 1
    message.refresh_from_db()
    assert message.reason == SkipReason.NO_CONSENT
    assert locmem.outbox == []


def test_a_transactional_flow_needs_no_opt_in_and_no_opt_out_line(channel):
    registry.register_flow(
        "table_ready", text="{{ shop_name }}: your table is ready.", transactional=True
    )
    try:
        result = registry.trigger(
            "table_ready", channel_slug="default-channel", phone=PHONE, key="booking-7"
        )
        dispatch.send_message(result.messages[0].pk)
    finally:
        registry.unregister_flow("table_ready")

    [sms] = locmem.outbox
    assert sms.body == "Acme Outfitters: your table is ready."


def test_no_custom_text_goes_to_a_number_that_opted_out(channel, announce_restock):
    Recipient.objects.create(phone=PHONE, country="US", consent=Consent.OPTED_OUT)
    [message] = announce_restock("default-channel", PHONE, "v1", "Tee", URL).messages

    dispatch.send_message(message.pk)

    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.SKIPPED, SkipReason.OPTED_OUT)


def test_texts_expire_and_can_be_cancelled(channel, announce_restock):
    opt_in()
    [message] = announce_restock("default-channel", PHONE, "v1", "Tee", URL).messages

    cancelled = registry.cancel("back_in_stock", "v1:" + PHONE)

    assert message.expires_at - message.due_at == timedelta(days=2)
    assert cancelled == 1
    message.refresh_from_db()
    assert message.status == Status.CANCELLED


def test_an_inactive_channel_schedules_nothing(configure_channel, announce_restock):
    configure_channel(active=False)

    assert announce_restock("default-channel", PHONE, "v1", "Tee", URL).messages == []


def test_the_flows_query_lists_registered_flows(channel, announce_restock, graphql):
    answer = graphql("{ flows { customFlows { name transactional delaysMinutes } } }")

    assert answer["data"]["flows"]["customFlows"] == [
        {"name": "back_in_stock", "transactional": False, "delaysMinutes": [0]}
    ]


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("win_back", {"text": "Hi"}, "needs a new name"),
        ("Back In Stock", {"text": "Hi"}, "needs a new name"),
        ("reminder", {"text": "  "}, "give the text"),
        ("reminder", {"text": "Hi", "delays": [timedelta(hours=-1)]}, "one delay"),
        ("reminder", {"text": "Hi {{ name }}"}, "unknown variable"),
        ("reminder", {"text": "Hi {% for x in y %}{% endfor %}"}, "only {{ variables }}"),
        ("reminder", {"text": "Hi {% if first_name %}"}, "syntax error"),
    ],
)
def test_invalid_flows_are_refused(name, options, message):
    with pytest.raises(registry.CustomFlowError, match=message):
        registry.register_flow(name, **options)


def test_a_name_is_registered_once_unless_replaced(docs_example):
    docs_example("custom_flow")

    with pytest.raises(registry.CustomFlowError, match="already registered"):
        registry.register_flow("back_in_stock", text="Again")
    replaced = registry.register_flow("back_in_stock", text="Again", replace=True)

    assert registry.get_flow("back_in_stock") is replaced


def test_triggering_an_unknown_flow_fails_loudly(channel):
    with pytest.raises(registry.CustomFlowError, match="no custom flow named 'nope'"):
        registry.trigger("nope", channel_slug="default-channel", phone=PHONE, key="1")
