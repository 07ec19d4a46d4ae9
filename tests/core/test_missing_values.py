"""A text whose wording needs a value that is empty is never sent: it is recorded with the
missing value named, listed by the API and counted by the statistics."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import conf, dispatch, handlers, inbound, registry
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.models import Message, Recipient

from ..conftest import OFFERS

pytestmark = pytest.mark.django_db

CONSENT = {"sms_marketing_consent": "true"}
STATS_URL = f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/stats/"
NO_OFFERS = {
    2: "missing_variable:discount,expiry",
    3: "missing_variable:discount,voucher_code,expiry",
}


def offers_sent_by_now(order_factory):
    """A Polish order placed 21 hours ago, its three offers due and dispatched."""
    order = order_factory(
        country="PL",
        language_code="pl",
        created_at=timezone.now() - timedelta(hours=21),
        metadata=CONSENT,
    )
    handlers.on_order_placed(order)
    dispatch.dispatch_due()
    return {
        message.step: message
        for message in Message.objects.filter(order_id=order.id, flow=Flow.POST_PURCHASE_OFFER)
    }


@pytest.fixture
def without_offers(offers_channel, order_factory):
    """The store admin's channel: offers switched on, the offers field left empty."""
    offers_channel(offers="", send_window_start="00:00", send_window_end="00:00")
    return offers_sent_by_now(order_factory)


def test_offer_texts_without_an_offer_are_not_sent_and_name_the_missing_value(without_offers):
    assert locmem.outbox == []
    assert {step: (m.status, m.reason) for step, m in without_offers.items()} == {
        1: (Status.SKIPPED, "missing_variable:discount,voucher_code"),
        2: (Status.SKIPPED, NO_OFFERS[2]),
        3: (Status.SKIPPED, NO_OFFERS[3]),
    }
    assert all(message.body == "" for message in without_offers.values())


def test_offers_for_the_first_two_texts_only_send_those_two_and_not_the_third(
    offers_channel, order_factory
):
    offers_channel(
        offers=json.dumps(OFFERS[:2]), send_window_start="00:00", send_window_end="00:00"
    )

    sent = offers_sent_by_now(order_factory)

    assert [sent[step].status for step in (1, 2, 3)] == [Status.SENT, Status.SENT, Status.SKIPPED]
    assert sent[3].reason == NO_OFFERS[3]
    assert len(locmem.outbox) == 2
    for sms in locmem.outbox:
        assert "  " not in sms.body, sms.body
        assert " :" not in sms.body, sms.body


def test_texts_not_sent_for_a_missing_value_are_found_by_their_reason(without_offers, graphql):
    query = (
        "query($filter: SmsMessageFilterInput) { messages(filter: $filter) { totalCount "
        "edges { node { step status reason } } } }"
    )

    by_kind = graphql(query, {"filter": {"reasons": ["missing_variable"]}})["data"]["messages"]
    exact = graphql(query, {"filter": {"reasons": [NO_OFFERS[3]]}})["data"]["messages"]
    other = graphql(query, {"filter": {"reasons": ["opted_out"]}})["data"]["messages"]

    assert by_kind["totalCount"] == 3
    assert {edge["node"]["status"] for edge in by_kind["edges"]} == {"SKIPPED"}
    assert [edge["node"]["reason"] for edge in exact["edges"]] == [NO_OFFERS[3]]
    assert other["totalCount"] == 0


def test_statistics_count_the_texts_not_sent_by_status_and_reason(without_offers, graphql):
    query = "{ stats(groupBy: [FLOW]) { flow skipped notSent { status reason count } } }"

    [row] = graphql(query)["data"]["stats"]

    assert (row["flow"], row["skipped"]) == ("POST_PURCHASE_OFFER", 3)
    assert row["notSent"] == [
        {"status": "SKIPPED", "reason": "missing_variable:discount,expiry", "count": 1},
        {"status": "SKIPPED", "reason": "missing_variable:discount,voucher_code", "count": 1},
        {"status": "SKIPPED", "reason": NO_OFFERS[3], "count": 1},
    ]


def test_the_statistics_page_shows_why_texts_were_not_sent(without_offers, client, staff_token):
    client.get(STATS_URL, {"token": staff_token("MANAGE_ORDERS")})

    html = client.get(STATS_URL).content.decode()

    assert "Not sent, and why" in html
    assert f"<code>{NO_OFFERS[3]}</code>" in html


def test_a_custom_flow_triggered_without_a_value_its_text_needs_is_refused(channel):
    registry.register_flow(
        "price_drop",
        text="{{ shop_name }}: {{ product }} is now {{ price }}",
        variables=("product", "price"),
    )
    try:
        with pytest.raises(registry.CustomFlowError, match=r"no value for \{\{ price \}\}"):
            registry.trigger(
                "price_drop",
                channel_slug="default-channel",
                phone="+12015550123",
                key="tee",
                variables={"product": "Tee", "price": ""},
            )
    finally:
        registry.unregister_flow("price_drop")
    assert not Message.objects.exists()


def test_no_keyword_answer_goes_out_without_the_shops_name(configure_channel):
    row = configure_channel()
    row.shop_name = ""
    row.save()
    recipient = Recipient.objects.create(phone="+12015550123", country="US")
    channel = conf.get_channel_settings("default-channel")
    assert channel is not None

    assert inbound.reply_text(channel, inbound.Keyword.HELP, recipient) == ""
    configure_channel()  # with the shop's name
    named = conf.get_channel_settings("default-channel")
    assert named is not None
    assert inbound.reply_text(named, inbound.Keyword.HELP, recipient).startswith("Acme Outfitters:")
