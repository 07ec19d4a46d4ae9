"""The GraphQL API: who may use it, listing and filtering texts, recipients, flows, statistics."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Consent, Flow, Status
from saleor_sms_plugin.models import InboundMessage, Message, Recipient

pytestmark = pytest.mark.django_db

MESSAGES = """
query Messages($filter: SmsMessageFilterInput, $first: Int, $after: String, $last: Int,
               $before: String) {
  messages(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id channel flow step status reason phone orderId orderNumber body
      segments encoding errorCode dueAt sentAt deliveredAt clickedAt convertedAt
      revenue { amount currency } transactional recipient { phone consent } } }
  }
}
"""
SET_CONSENT = """
mutation { setConsent(phone: "+12015550123", consent: OPTED_IN) {
  recipient { consent } errors { field code message } } }
"""


def node_ids(answer):
    return [edge["node"]["id"] for edge in answer["data"]["messages"]["edges"]]


def message_id(message):
    return to_global_id("SmsMessage", message.pk)


# Who may use the API ------------------------------------------------------------------------

ALLOWED = [
    pytest.param("staff", ("MANAGE_ORDERS",), id="staff with MANAGE_ORDERS"),
    pytest.param("staff", ("MANAGE_PLUGINS",), id="staff with MANAGE_PLUGINS"),
    pytest.param("app", ("MANAGE_ORDERS",), id="app token with MANAGE_ORDERS"),
]
DENIED = [
    pytest.param(None, (), id="anonymous"),
    pytest.param("staff", (), id="staff without permissions"),
    pytest.param("staff", ("MANAGE_PRODUCTS",), id="staff with another permission"),
    pytest.param("app", ("MANAGE_CHECKOUTS",), id="app token without the permission"),
    pytest.param("customer", ("MANAGE_ORDERS",), id="customer"),
]


def token_for(staff_token, kind, permissions):
    return None if kind is None else staff_token(*permissions, kind=kind)


@pytest.mark.parametrize(("kind", "permissions"), ALLOWED)
def test_staff_and_apps_with_permission_read_messages(
    channel, message_factory, graphql, staff_token, kind, permissions
):
    message = message_factory()

    answer = graphql(MESSAGES, token=token_for(staff_token, kind, permissions))

    assert "errors" not in answer
    assert node_ids(answer) == [message_id(message)]


@pytest.mark.parametrize(("kind", "permissions"), DENIED)
def test_others_get_a_permission_error_and_no_data(
    channel, message_factory, graphql, staff_token, kind, permissions
):
    message_factory()

    answer = graphql(MESSAGES, token=token_for(staff_token, kind, permissions))

    assert answer["status"] == 403
    assert "data" not in answer  # refused before the query was read
    [error] = answer["errors"]
    assert error["extensions"]["exception"] == {
        "code": "PermissionDenied",
        "permissions": ["MANAGE_PLUGINS", "MANAGE_ORDERS"],
    }
    assert "MANAGE_ORDERS" in error["message"]


@pytest.mark.parametrize(("kind", "permissions"), DENIED)
def test_others_cannot_run_mutations(channel, graphql, staff_token, kind, permissions):
    answer = graphql(SET_CONSENT, token=token_for(staff_token, kind, permissions))

    assert answer["status"] == 403
    assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert not Recipient.objects.exists()


def test_every_field_checks_the_permission_itself(channel, message_factory, rf):
    """Behind the route's check, the schema refuses a viewer without the permission too."""
    from saleor_sms_plugin.auth import ANONYMOUS
    from saleor_sms_plugin.conf import get_channel_settings
    from saleor_sms_plugin.graphql.context import Context
    from saleor_sms_plugin.graphql.schema import schema

    message_factory()
    context = Context(rf.post("/"), ANONYMOUS, get_channel_settings("default-channel"))

    result = schema.execute(MESSAGES, context_value=context)

    assert result.data == {"messages": None}
    assert "MANAGE_ORDERS" in str(result.errors[0])


@pytest.mark.parametrize(("kind", "permissions"), ALLOWED)
def test_staff_and_apps_with_permission_run_mutations(
    channel, graphql, staff_token, kind, permissions
):
    answer = graphql(SET_CONSENT, token=token_for(staff_token, kind, permissions))

    assert answer["data"]["setConsent"] == {"recipient": {"consent": "OPTED_IN"}, "errors": []}


def test_a_forged_or_expired_token_is_refused(channel, graphql, staff_token, settings):
    forged = graphql(MESSAGES, token=staff_token("MANAGE_ORDERS") + "x")
    settings.SALEOR_SMS_TOKEN_MAX_AGE = timedelta(seconds=-1)
    expired = graphql(MESSAGES, token=staff_token("MANAGE_ORDERS"))

    assert forged["status"] == expired["status"] == 401
    assert forged["errors"][0]["extensions"]["exception"]["code"] == "InvalidTokenError"
    assert expired["errors"][0]["extensions"]["exception"]["code"] == "ExpiredSignatureError"
    assert "data" not in forged


def test_queries_must_be_posted_as_json(channel, client, settings, staff_token):
    url = f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/graphql/"
    settings.DEBUG = False
    staff = {"HTTP_AUTHORIZATION": f"Bearer {staff_token('MANAGE_ORDERS')}"}

    assert client.get(url).status_code == 405
    assert client.post(url, {"query": "{ __typename }"}).status_code == 400
    assert client.post(url, "[]", content_type="application/json", **staff).status_code == 400


def test_graphiql_is_shown_only_in_debug(channel, client, settings):
    url = f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/graphql/"
    settings.DEBUG = True

    page = client.get(url)

    assert page.status_code == 200
    assert b"graphiql" in page.content
    assert b"saleor_sms_plugin.sms" in page.content  # the endpoint it queries


def test_a_query_error_comes_back_as_a_graphql_error(channel, graphql):
    answer = graphql("{ messages { nope } }")

    assert answer["status"] == 400
    assert "nope" in answer["errors"][0]["message"]


# Listing texts ------------------------------------------------------------------------------


def test_pages_walk_from_the_newest_text_to_the_oldest(channel, message_factory, graphql):
    messages = [message_factory() for _ in range(25)]
    newest_first = [message_id(message) for message in reversed(messages)]

    first = graphql(MESSAGES, {"first": 10})
    page = first["data"]["messages"]
    second = graphql(MESSAGES, {"first": 10, "after": page["pageInfo"]["endCursor"]})
    third = graphql(
        MESSAGES, {"first": 10, "after": second["data"]["messages"]["pageInfo"]["endCursor"]}
    )

    assert page["totalCount"] == 25
    assert node_ids(first) + node_ids(second) + node_ids(third) == newest_first
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert third["data"]["messages"]["pageInfo"]["hasNextPage"] is False
    assert third["data"]["messages"]["pageInfo"]["hasPreviousPage"] is True


def test_last_and_before_walk_back_towards_newer_texts(channel, message_factory, graphql):
    messages = [message_factory() for _ in range(6)]
    newest_first = [message_id(message) for message in reversed(messages)]
    oldest_page = graphql(MESSAGES, {"last": 2})

    previous = graphql(
        MESSAGES,
        {"last": 2, "before": oldest_page["data"]["messages"]["pageInfo"]["startCursor"]},
    )

    assert node_ids(oldest_page) == newest_first[-2:]
    assert node_ids(previous) == newest_first[-4:-2]
    assert previous["data"]["messages"]["pageInfo"]["hasPreviousPage"] is True
    assert previous["data"]["messages"]["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "exceeds the limit of 100"),
        ({"first": 1, "last": 1}, "either `first` or `last`"),
        ({"after": "not-a-cursor"}, "Invalid cursor"),
    ],
)
def test_page_requests_beyond_the_rules_are_refused(channel, graphql, variables, message):
    answer = graphql(MESSAGES, variables)

    assert answer["data"] == {"messages": None}
    assert message in answer["errors"][0]["message"]


def test_listing_100_texts_costs_as_many_queries_as_listing_10(channel, message_factory, graphql):
    recipient = Recipient.objects.create(phone="+12015550123", country="US")
    for _ in range(10):
        message_factory(recipient=recipient)
    with CaptureQueriesContext(connection) as ten:
        answer = graphql(MESSAGES, {"first": 100})
    assert len(answer["data"]["messages"]["edges"]) == 10
    for index in range(90):
        message_factory(recipient=Recipient.objects.create(phone=f"+1201555{index:04d}"))

    with CaptureQueriesContext(connection) as hundred:
        answer = graphql(MESSAGES, {"first": 100})

    assert len(answer["data"]["messages"]["edges"]) == 100
    assert len(hundred.captured_queries) == len(ten.captured_queries) <= 3


def test_texts_are_filtered_by_channel_flow_status_order_phone_and_date(
    configure_channel, message_factory, graphql
):
    configure_channel("default-channel")
    configure_channel("channel-pln")
    ada = Recipient.objects.create(phone="+12015550123", country="US")
    now = timezone.now()
    confirmation = message_factory(
        Flow.ORDER_CONFIRMATION, order_id="6a1f", order_number="1042", recipient=ada
    )
    offer = message_factory(Flow.POST_PURCHASE_OFFER, Status.SCHEDULED, order_id="6a1f")
    polish = message_factory(channel_slug="channel-pln", order_number="77")
    old = message_factory()
    Message.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=40))

    def ids(filter):
        return node_ids(graphql(MESSAGES, {"filter": filter}))

    assert ids({"channel": "channel-pln"}) == [message_id(polish)]
    assert ids({"flows": ["POST_PURCHASE_OFFER"]}) == [message_id(offer)]
    assert ids({"statuses": ["SCHEDULED"]}) == [message_id(offer)]
    assert ids({"order": "1042"}) == [message_id(confirmation)]
    assert ids({"order": to_global_id("Order", "6a1f")}) == [
        message_id(offer),
        message_id(confirmation),
    ]
    assert ids({"phone": "(201) 555-0123"}) == [message_id(confirmation)]
    assert ids({"phone": "+48 600 100 200"}) == []
    assert message_id(old) not in ids({"createdAt": {"gte": (now - timedelta(days=1)).isoformat()}})
    assert ids({"createdAt": {"lte": (now - timedelta(days=30)).isoformat()}}) == [message_id(old)]


def test_a_text_shows_its_life_and_attribution(channel, message_factory, graphql):
    message = message_factory(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, revenue="42.50")

    answer = graphql(
        "query($id: ID!) { message(id: $id) { id flow status clickedAt convertedAt "
        "revenue { amount currency } transactional segments } }",
        {"id": message_id(message)},
    )

    found = answer["data"]["message"]
    assert found["flow"] == "POST_PURCHASE_OFFER"
    assert found["status"] == "DELIVERED"
    assert found["revenue"] == {"amount": 42.5, "currency": "USD"}
    assert found["clickedAt"]
    assert found["convertedAt"]
    assert found["transactional"] is False


def test_an_id_of_another_type_finds_no_message(channel, message_factory, graphql):
    message = message_factory()

    answer = graphql(
        "query($id: ID!) { message(id: $id) { id } }", {"id": to_global_id("Order", message.pk)}
    )

    assert answer["data"] == {"message": None}


# Recipients, flows, statistics --------------------------------------------------------------


def test_a_recipient_shows_consent_texts_and_replies(channel, message_factory, graphql):
    recipient = Recipient.objects.create(
        phone="+12015550123",
        country="US",
        consent=Consent.OPTED_OUT,
        consent_source="stop_reply",
        consent_changed_at=timezone.now(),
    )
    message_factory(Flow.ORDER_CONFIRMATION, recipient=recipient)
    message_factory(Flow.WIN_BACK, recipient=recipient)
    InboundMessage.objects.create(
        provider_id="SM1",
        channel_slug="default-channel",
        recipient=recipient,
        body="STOP",
        keyword="stop",
    )

    answer = graphql(
        '{ recipient(phone: "201-555-0123") { phone consent consentSource consentChangedAt '
        "messages(first: 5) { totalCount edges { node { flow } } } "
        "replies { body keyword channel } } }"
    )

    found = answer["data"]["recipient"]
    assert found["phone"] == "+12015550123"
    assert (found["consent"], found["consentSource"]) == ("OPTED_OUT", "stop_reply")
    assert [edge["node"]["flow"] for edge in found["messages"]["edges"]] == [
        "WIN_BACK",
        "ORDER_CONFIRMATION",
    ]
    assert found["replies"] == [{"body": "STOP", "keyword": "stop", "channel": "default-channel"}]


def test_an_unknown_number_has_no_recipient(channel, graphql):
    answer = graphql('{ recipient(phone: "+12015550199") { phone } }')

    assert answer["data"] == {"recipient": None}


def test_flows_show_what_the_channel_sends_and_when(configure_channel, graphql):
    configure_channel(
        **{
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
            conf.OFFER_DELAYS_MINUTES: "15, 180",
            conf.flow_switch(Flow.WIN_BACK): True,
            conf.WIN_BACK_FIRST_DAYS: "7",
            conf.WIN_BACK_INTERVAL_DAYS: "14",
            conf.WIN_BACK_MAX_TEXTS: "2",
            conf.PUBLIC_BASE_URL: "https://shop.example.com",
        }
    )

    answer = graphql(
        "{ flows { channel active sendWindowStart sendWindowEnd frequencyCapTexts statsUrl "
        "flows { flow enabled transactional starts delaysMinutes expiresAfterMinutes } } }"
    )

    found = answer["data"]["flows"]
    flows = {flow["flow"]: flow for flow in found["flows"]}
    assert (found["channel"], found["active"]) == ("default-channel", True)
    assert (found["sendWindowStart"], found["sendWindowEnd"]) == ("09:00", "20:00")
    assert found["statsUrl"] == (
        f"https://shop.example.com/plugins/channel/default-channel/{conf.PLUGIN_ID}/stats/"
    )
    assert flows["POST_PURCHASE_OFFER"] == {
        "flow": "POST_PURCHASE_OFFER",
        "enabled": True,
        "transactional": False,
        "starts": "ORDER_PLACED",
        "delaysMinutes": [15, 180],
        "expiresAfterMinutes": 1440,
    }
    assert flows["WIN_BACK"]["delaysMinutes"] == [7 * 1440, 21 * 1440]
    assert flows["ORDER_CONFIRMATION"]["transactional"] is True
    assert flows["REVIEW_REQUEST"]["enabled"] is False
    assert flows["REVIEW_REQUEST"]["starts"] == "ORDER_SHIPPED"


def test_stats_group_by_the_dimensions_asked_for(channel, message_factory, graphql):
    message_factory(Flow.ORDER_CONFIRMATION, Status.DELIVERED, segments=2)
    message_factory(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, revenue="30.00")
    message_factory(Flow.POST_PURCHASE_OFFER, Status.FAILED, sent=False)
    query = (
        "query($groupBy: [SmsStatsDimension!]) { stats(groupBy: $groupBy) { channel flow date "
        "sent delivered failed clicked converted revenue { amount currency } segments "
        "estimatedCost { amount currency } deliveryRate conversionRate } }"
    )

    [totals] = graphql(query, {"groupBy": []})["data"]["stats"]
    by_flow = graphql(query, {"groupBy": ["FLOW"]})["data"]["stats"]
    finest = graphql("{ stats { channel flow date sent } }")["data"]["stats"]

    assert (totals["channel"], totals["flow"], totals["date"]) == (None, None, None)
    assert (totals["sent"], totals["delivered"], totals["failed"]) == (2, 2, 1)
    assert totals["revenue"] == [{"amount": 30.0, "currency": "USD"}]
    assert totals["estimatedCost"] == {"amount": pytest.approx(0.0249), "currency": "USD"}
    assert [(row["flow"], row["sent"]) for row in by_flow] == [
        ("ORDER_CONFIRMATION", 1),
        ("POST_PURCHASE_OFFER", 1),
    ]
    assert {row["date"] for row in finest} == {timezone.localdate().isoformat()}
    assert {row["channel"] for row in finest} == {"default-channel"}


def test_stats_refuse_a_period_that_ends_before_it_starts(channel, graphql):
    answer = graphql('{ stats(filter: {dateFrom: "2026-03-10", dateTo: "2026-03-01"}) { sent } }')

    assert answer["data"] == {"stats": None}
    assert "ends before it starts" in answer["errors"][0]["message"]
