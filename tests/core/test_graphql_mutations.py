"""Mutations against the real database: test and custom texts, campaigns, cancelling,
consent and retries, each refusing bad input with Saleor-style errors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from saleor_sms_plugin import conf, dispatch
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Consent, Flow, SkipReason, Status
from saleor_sms_plugin.models import Message, Recipient

pytestmark = pytest.mark.django_db

PHONE = "+12015550123"
ERRORS = "errors { field code message }"
MESSAGE = "message { id flow status body phone transactional errorCode reason }"


def opted_in(phone=PHONE, **fields):
    return Recipient.objects.create(
        phone=phone, country="US", consent=Consent.OPTED_IN, consent_source="api", **fields
    )


def gid(message):
    return to_global_id("SmsMessage", message.pk)


# sendTestMessage ----------------------------------------------------------------------------


def test_a_test_text_goes_out_at_once_with_the_given_words(channel, graphql):
    answer = graphql(
        f'mutation {{ sendTestMessage(phone: "(201) 555-0123", text: "Ping from staff") '
        f"{{ {MESSAGE} {ERRORS} }} }}"
    )

    result = answer["data"]["sendTestMessage"]
    assert result["errors"] == []
    assert result["message"]["flow"] == "TEST"
    assert result["message"]["status"] == "SENT"
    assert result["message"]["phone"] == PHONE
    [sms] = locmem.outbox
    assert (sms.to, sms.body) == (PHONE, "Ping from staff")


def test_a_test_text_without_words_uses_the_catalogue(channel, graphql):
    answer = graphql(f'mutation {{ sendTestMessage(phone: "{PHONE}") {{ {MESSAGE} {ERRORS} }} }}')

    assert answer["data"]["sendTestMessage"]["message"]["status"] == "SENT"
    [sms] = locmem.outbox
    assert sms.body
    assert sms.body == answer["data"]["sendTestMessage"]["message"]["body"]
    assert "Acme Outfitters" in sms.body


def test_no_test_text_goes_to_a_number_that_opted_out(channel, graphql):
    Recipient.objects.create(phone=PHONE, country="US", consent=Consent.OPTED_OUT)

    answer = graphql(f'mutation {{ sendTestMessage(phone: "{PHONE}") {{ {MESSAGE} }} }}')

    message = answer["data"]["sendTestMessage"]["message"]
    assert (message["status"], message["reason"]) == ("SKIPPED", "opted_out")
    assert locmem.outbox == []


def test_a_test_text_goes_through_twilio_and_reports_its_failure(channel, graphql, twilio):
    def send(phone):
        query = f'mutation {{ sendTestMessage(phone: "{phone}") {{ {MESSAGE} }} }}'
        return graphql(query)["data"]["sendTestMessage"]["message"]

    twilio.fail_next(429)  # too many requests: a test text is not retried later
    busy = send(PHONE)
    sent = send(PHONE)
    twilio.fail_next(21211)
    invalid = send("+12015550199")

    assert (busy["status"], busy["reason"]) == ("FAILED", "test_not_retried")
    assert sent["status"] == "SENT"
    assert (invalid["status"], invalid["errorCode"]) == ("FAILED", 21211)
    assert [message.to for message in twilio.messages] == [PHONE]


@pytest.mark.parametrize(
    ("arguments", "field", "code"),
    [
        ('phone: "12"', "phone", "INVALID_PHONE"),
        ('phone: "+12015550123", text: "   "', "text", "REQUIRED"),
        ('phone: "+12015550123", channel: "nowhere"', "channel", "CHANNEL_NOT_FOUND"),
    ],
)
def test_a_test_text_refuses_bad_input(channel, graphql, arguments, field, code):
    answer = graphql(f"mutation {{ sendTestMessage({arguments}) {{ {MESSAGE} {ERRORS} }} }}")

    result = answer["data"]["sendTestMessage"]
    assert result["message"] is None
    assert [(error["field"], error["code"]) for error in result["errors"]] == [(field, code)]
    assert not Message.objects.exists()
    assert locmem.outbox == []


def test_an_inactive_channel_sends_no_test(configure_channel, graphql):
    configure_channel(active=False)

    answer = graphql(f'mutation {{ sendTestMessage(phone: "{PHONE}") {{ {ERRORS} }} }}')

    assert answer["data"]["sendTestMessage"]["errors"][0]["code"] == "CHANNEL_INACTIVE"


# sendMessage --------------------------------------------------------------------------------

SEND = f"""
mutation Send($input: SendMessageInput!) {{
  sendMessage(input: $input) {{ {MESSAGE} {ERRORS} }}
}}
"""


def test_a_marketing_text_to_an_opted_in_number_carries_the_opt_out_line(channel, graphql):
    opted_in()

    answer = graphql(SEND, {"input": {"phone": PHONE, "text": "20% off today only"}})
    message = Message.objects.get()
    dispatch.send_message(message.pk)

    result = answer["data"]["sendMessage"]
    assert result["errors"] == []
    assert result["message"]["flow"] == "CUSTOM"
    assert result["message"]["status"] == "SCHEDULED"
    [sms] = locmem.outbox
    assert sms.body.startswith("20% off today only\n")
    assert "STOP" in sms.body
    assert message.context["requested_by"] == "staff staff@example.com"


def test_a_marketing_text_needs_an_opt_in(channel, graphql):
    Recipient.objects.create(phone=PHONE, country="US")

    answer = graphql(SEND, {"input": {"phone": PHONE, "text": "20% off"}})

    [error] = answer["data"]["sendMessage"]["errors"]
    assert (error["field"], error["code"]) == ("phone", "NO_CONSENT")
    assert not Message.objects.exists()


def test_no_text_goes_to_a_number_that_opted_out(channel, graphql):
    Recipient.objects.create(phone=PHONE, country="US", consent=Consent.OPTED_OUT)

    answer = graphql(
        SEND, {"input": {"phone": PHONE, "text": "Your order is delayed", "transactional": True}}
    )

    assert answer["data"]["sendMessage"]["errors"][0]["code"] == "OPTED_OUT"
    assert not Message.objects.exists()


def test_a_transactional_text_goes_out_without_an_opt_in(channel, graphql):
    answer = graphql(
        SEND,
        {
            "input": {
                "phone": PHONE,
                "text": "Your order 1042 ships tomorrow.",
                "transactional": True,
                "orderNumber": "1042",
            }
        },
    )
    message = Message.objects.get()
    dispatch.send_message(message.pk)

    assert answer["data"]["sendMessage"]["message"]["transactional"] is True
    [sms] = locmem.outbox
    assert sms.body == "Your order 1042 ships tomorrow."


def test_the_same_idempotency_key_sends_once(channel, graphql):
    opted_in()
    send = {"input": {"phone": PHONE, "text": "Hello", "idempotencyKey": "campaign-7:ada"}}

    first = graphql(SEND, send)["data"]["sendMessage"]["message"]
    again = graphql(SEND, send)["data"]["sendMessage"]["message"]

    assert first["id"] == again["id"]
    assert Message.objects.count() == 1


def test_a_text_over_1600_characters_is_refused(channel, graphql):
    opted_in()

    answer = graphql(SEND, {"input": {"phone": PHONE, "text": "x" * 1601}})

    assert answer["data"]["sendMessage"]["errors"][0]["field"] == "text"


# scheduleWinBackCampaign --------------------------------------------------------------------

CAMPAIGN = f"""
mutation Campaign($days: Int, $dry: Boolean) {{
  scheduleWinBackCampaign(inactiveDays: $days, dryRun: $dry) {{ count dryRun {ERRORS} }}
}}
"""


@pytest.fixture
def lapsed_customers(configure_channel, message_factory):
    """Three customers of the channel: two lapsed 60 days ago (one opted in), one recent."""
    configure_channel(**{conf.flow_switch(Flow.WIN_BACK): True})
    now = timezone.now()
    lapsed = opted_in(PHONE, last_order_at=now - timedelta(days=60))
    silent = Recipient.objects.create(
        phone="+12015550124", country="US", last_order_at=now - timedelta(days=60)
    )
    recent = opted_in("+12015550125", last_order_at=now - timedelta(days=3))
    for recipient, ref in ((lapsed, "ada"), (silent, "bob"), (recent, "cy")):
        message_factory(
            Flow.ORDER_CONFIRMATION,
            recipient=recipient,
            customer_ref=ref,
            order_id=f"order-{ref}",
            order_number="1000",
            context={"order": {"number": "1000", "billing_address": {"first_name": ref}}},
        )
    return lapsed


def test_a_dry_run_counts_and_schedules_nothing(lapsed_customers, graphql):
    answer = graphql(CAMPAIGN, {"days": 30, "dry": True})

    assert answer["data"]["scheduleWinBackCampaign"] == {"count": 1, "dryRun": True, "errors": []}
    assert not Message.objects.filter(flow=Flow.WIN_BACK).exists()


def test_a_campaign_texts_lapsed_customers_who_opted_in_once_a_day(lapsed_customers, graphql):
    first = graphql(CAMPAIGN, {"days": 30})
    again = graphql(CAMPAIGN, {"days": 30})

    assert first["data"]["scheduleWinBackCampaign"]["count"] == 1
    assert again["data"]["scheduleWinBackCampaign"]["count"] == 0
    [text] = Message.objects.filter(flow=Flow.WIN_BACK)
    assert text.recipient == lapsed_customers
    assert (text.status, text.customer_ref, text.order_id) == (
        Status.SCHEDULED,
        "ada",
        "order-ada",
    )
    assert "purchase_at" not in text.context  # a campaign text starts no series


def test_a_campaign_needs_the_win_back_flow(channel, graphql):
    answer = graphql(CAMPAIGN, {"days": 30})

    [error] = answer["data"]["scheduleWinBackCampaign"]["errors"]
    assert (error["field"], error["code"]) == ("channel", "FLOW_DISABLED")
    assert answer["data"]["scheduleWinBackCampaign"]["count"] is None


def test_a_campaign_refuses_a_silly_number_of_days(lapsed_customers, graphql):
    answer = graphql(CAMPAIGN, {"days": 0})

    assert answer["data"]["scheduleWinBackCampaign"]["errors"][0]["field"] == "inactiveDays"


# cancelScheduledMessage ---------------------------------------------------------------------

CANCEL = f"mutation($id: ID!) {{ cancelScheduledMessage(id: $id) {{ {MESSAGE} {ERRORS} }} }}"


def test_a_scheduled_text_is_cancelled(channel, message_factory, graphql):
    message = message_factory(Flow.WIN_BACK, Status.SCHEDULED)

    answer = graphql(CANCEL, {"id": gid(message)})

    result = answer["data"]["cancelScheduledMessage"]
    assert result["errors"] == []
    assert (result["message"]["status"], result["message"]["reason"]) == (
        "CANCELLED",
        "cancelled_by_staff",
    )
    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    assert dispatch.send_message(message.pk).claimed == 0


def test_a_sent_text_cannot_be_cancelled(channel, message_factory, graphql):
    message = message_factory(Flow.WIN_BACK, Status.SENT)

    answer = graphql(CANCEL, {"id": gid(message)})

    assert answer["data"]["cancelScheduledMessage"]["errors"][0]["code"] == "NOT_CANCELLABLE"
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.parametrize(
    ("make_id", "code"),
    [
        (lambda pk: to_global_id("SmsMessage", pk + 1000), "NOT_FOUND"),
        (lambda pk: to_global_id("Order", pk), "INVALID"),
        (lambda pk: "garbage", "INVALID"),
    ],
)
def test_cancelling_needs_the_id_of_a_message(channel, message_factory, graphql, make_id, code):
    message = message_factory(Flow.WIN_BACK, Status.SCHEDULED)

    answer = graphql(CANCEL, {"id": make_id(message.pk)})

    assert answer["data"]["cancelScheduledMessage"]["errors"][0]["code"] == code


# setConsent ---------------------------------------------------------------------------------

CONSENT = f"""
mutation($phone: String!, $consent: SmsConsent!) {{
  setConsent(phone: $phone, consent: $consent) {{
    recipient {{ phone consent consentSource }} {ERRORS}
  }}
}}
"""


def test_an_opt_in_is_recorded_and_confirmed_by_text(channel, graphql):
    answer = graphql(CONSENT, {"phone": "201 555 0123", "consent": "OPTED_IN"})

    assert answer["data"]["setConsent"] == {
        "recipient": {"phone": PHONE, "consent": "OPTED_IN", "consentSource": "api"},
        "errors": [],
    }
    assert Message.objects.filter(flow=Flow.OPT_IN_CONFIRMATION).count() == 1


def test_an_opt_out_cancels_pending_marketing_texts(channel, message_factory, graphql):
    recipient = opted_in()
    offer = message_factory(Flow.POST_PURCHASE_OFFER, Status.SCHEDULED, recipient=recipient)
    shipping = message_factory(Flow.SHIPPING_CONFIRMATION, Status.SCHEDULED, recipient=recipient)

    answer = graphql(CONSENT, {"phone": PHONE, "consent": "OPTED_OUT"})

    assert answer["data"]["setConsent"]["recipient"]["consent"] == "OPTED_OUT"
    offer.refresh_from_db()
    shipping.refresh_from_db()
    assert (offer.status, offer.reason) == (Status.CANCELLED, SkipReason.OPTED_OUT)
    assert shipping.status == Status.SCHEDULED


@pytest.mark.parametrize(
    ("phone", "consent", "field", "code"),
    [
        ("12", "OPTED_IN", "phone", "INVALID_PHONE"),
        (PHONE, "UNKNOWN", "consent", "INVALID"),
    ],
)
def test_consent_refuses_bad_input(channel, graphql, phone, consent, field, code):
    answer = graphql(CONSENT, {"phone": phone, "consent": consent})

    [error] = answer["data"]["setConsent"]["errors"]
    assert (error["field"], error["code"]) == (field, code)
    assert not Recipient.objects.exists()


# retryFailedMessages ------------------------------------------------------------------------

RETRY = f"""
mutation($channel: String, $ids: [ID!]) {{
  retryFailedMessages(channel: $channel, ids: $ids) {{ count messages {{ id status }} {ERRORS} }}
}}
"""


def test_failed_texts_are_sent_again(channel, message_factory, graphql):
    recipient = Recipient.objects.create(phone=PHONE, country="US")
    failed = message_factory(
        Flow.ORDER_CONFIRMATION,
        Status.FAILED,
        recipient=recipient,
        reason="retries_exhausted",
        error_code=20429,
        attempts=6,
        sent=False,
        context={"order": {"number": "1042", "total": "59.90", "currency": "USD"}},
    )

    answer = graphql(RETRY, {"channel": "default-channel"})
    failed.refresh_from_db()
    report = dispatch.send_message(failed.pk)

    assert answer["data"]["retryFailedMessages"]["count"] == 1
    assert answer["data"]["retryFailedMessages"]["messages"] == [
        {"id": gid(failed), "status": "SCHEDULED"}
    ]
    assert (failed.attempts, failed.error_code, failed.reason) == (0, None, "retried_by_staff")
    assert report.sent == 1
    assert len(locmem.outbox) == 1


def test_texts_to_numbers_that_opted_out_stay_failed(channel, message_factory, graphql):
    opted_out = message_factory(Flow.WIN_BACK, Status.FAILED, reason="opted_out", sent=False)
    other = message_factory(Flow.WIN_BACK, Status.FAILED, reason="provider_error", sent=False)
    elsewhere = message_factory(
        Flow.WIN_BACK, Status.FAILED, reason="provider_error", sent=False, channel_slug="other"
    )

    answer = graphql(RETRY, {"ids": [gid(opted_out), gid(other)]})

    assert answer["data"]["retryFailedMessages"]["count"] == 1
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {
        opted_out.pk: Status.FAILED,
        other.pk: Status.SCHEDULED,
        elsewhere.pk: Status.FAILED,
    }
