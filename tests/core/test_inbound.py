"""Texts shoppers send: STOP and START change consent, HELP is answered, the rest is kept."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client
from twilio.request_validator import RequestValidator

from saleor_sms_plugin import conf, dispatch, handlers, inbound, tasks
from saleor_sms_plugin.constants import Consent, Flow, SkipReason, Status
from saleor_sms_plugin.models import InboundMessage, Message, Recipient
from saleor_sms_plugin.signals import inbound_received

from ..conftest import AUTH_TOKEN, SENDER

pytestmark = pytest.mark.django_db(transaction=True)

BASE_URL = "https://api.example.com"
ROUTE = "/plugins/channel/default-channel/saleor_sms_plugin.sms/twilio/inbound"
SHOPPER = "+48600100200"


@pytest.fixture
def channel_with_url(configure_channel):
    return configure_channel(
        public_base_url=BASE_URL,
        **{conf.flow_switch(Flow.POST_PURCHASE_OFFER): True},
    )


def text_in(
    body, *, sid=None, from_=SHOPPER, signature=None, token=AUTH_TOKEN, route=ROUTE, **extra
):
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": from_,
        "To": SENDER,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    if signature is None:
        signature = RequestValidator(token).compute_signature(BASE_URL + route, params)
    return Client().post(
        route,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature} if signature else {},
    )


def reply_of(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()


def shopper():
    return Recipient.objects.get(phone=SHOPPER)


def pending_offers(order_factory):
    order = order_factory(country="PL", metadata={"sms_marketing_consent": "true"})
    handlers.on_order_placed(order)
    return Message.objects.filter(order_id=order.id)


# Keywords -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", inbound.Keyword.STOP),
        ("stop", inbound.Keyword.STOP),
        (" Stop. ", inbound.Keyword.STOP),
        ("STOPALL", inbound.Keyword.STOP),
        ("unsubscribe", inbound.Keyword.STOP),
        ("CANCEL", inbound.Keyword.STOP),
        ("End", inbound.Keyword.STOP),
        ("QUIT", inbound.Keyword.STOP),
        ("START", inbound.Keyword.START),
        ("unstop", inbound.Keyword.START),
        ("HELP", inbound.Keyword.HELP),
        ("\uff33\uff34\uff2f\uff30", inbound.Keyword.STOP),  # full-width STOP
        ("S\u200bTOP", inbound.Keyword.STOP),  # a zero-width space inside
        ("\ufeffstop\u200d", inbound.Keyword.STOP),  # a byte order mark, a zero-width joiner
        ("\u200fSTOP\u200e", inbound.Keyword.STOP),  # direction marks
        ("\u00a0Stop\u3002", inbound.Keyword.STOP),  # a no-break space, an ideographic stop
        ("\uff33\uff54\uff4f\uff50\uff01", inbound.Keyword.STOP),  # full-width Stop!
        ("STOP \U0001f6d1", inbound.Keyword.STOP),
        ("\u017ftop", inbound.Keyword.STOP),  # a long s, case-folded to s
        ("\uff28\uff25\uff2c\uff30", inbound.Keyword.HELP),
        ("S T O P", inbound.Keyword.NONE),
        ("STOP\u200bIT", inbound.Keyword.NONE),
        ("please stop texting me", inbound.Keyword.NONE),
        ("When does my order arrive?", inbound.Keyword.NONE),
    ],
)
def test_only_a_whole_text_that_is_a_keyword_counts(body, keyword):
    assert inbound.classify(body) == keyword


@pytest.mark.parametrize("word", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_stop_words_opt_out_and_cancel_pending_marketing(channel_with_url, order_factory, word):
    messages = pending_offers(order_factory)

    response = text_in(word)

    # Twilio's opt-out handling confirms a STOP itself (and blocks anything else).
    assert "<Message>" not in reply_of(response)
    assert (shopper().consent, shopper().consent_source) == (Consent.OPTED_OUT, "stop_reply")
    offers = messages.filter(flow=Flow.POST_PURCHASE_OFFER)
    assert {(m.status, m.reason) for m in offers} == {(Status.CANCELLED, SkipReason.OPTED_OUT)}
    confirmation = messages.get(flow=Flow.ORDER_CONFIRMATION)
    assert confirmation.status != Status.CANCELLED


def test_stop_is_answered_when_the_channel_asks_for_it(configure_channel):
    configure_channel(public_base_url=BASE_URL, reply_to_stop=True)
    assert "unsubscribed" in reply_of(text_in("STOP"))


def test_stop_from_an_unknown_number_is_remembered(channel_with_url):
    text_in("STOP", from_="+48600100999")
    assert Recipient.objects.get(phone="+48600100999").consent == Consent.OPTED_OUT


@pytest.mark.parametrize("body", ["\uff33\uff34\uff2f\uff30", "ST\u200bOP", "\u200bStop\u200b"])
def test_stop_written_in_full_width_or_with_invisible_characters_opts_out(
    channel_with_url, order_factory, body
):
    messages = pending_offers(order_factory)

    text_in(body)

    assert shopper().consent == Consent.OPTED_OUT
    offers = messages.filter(flow=Flow.POST_PURCHASE_OFFER)
    assert {m.status for m in offers} == {Status.CANCELLED}
    assert InboundMessage.objects.get().body == body  # kept as it came


def test_stop_from_a_number_with_the_00_prefix_opts_that_number_out(channel_with_url):
    text_in("STOP")  # known as +48600100200 from an earlier text
    text_in("START")

    text_in("STOP", from_="0048600100200")

    assert shopper().consent == Consent.OPTED_OUT
    assert Recipient.objects.count() == 1


def test_stop_from_a_national_number_is_read_in_the_channels_country(configure_channel):
    configure_channel("channel-pln", public_base_url=BASE_URL)
    route = ROUTE.replace("default-channel", "channel-pln")

    text_in("STOP", from_="600 100 200", route=route)

    assert shopper().consent == Consent.OPTED_OUT


def test_the_providers_country_of_the_sender_wins_over_the_channels(configure_channel):
    configure_channel("channel-pln", public_base_url=BASE_URL)
    route = ROUTE.replace("default-channel", "channel-pln")

    text_in("STOP", from_="(201) 555-0123", route=route, FromCountry="US")

    assert Recipient.objects.get(phone="+12015550123").consent == Consent.OPTED_OUT


@pytest.mark.parametrize("word", ["START", "UNSTOP"])
def test_start_words_opt_back_in_and_are_answered(channel_with_url, word):
    text_in("STOP")

    reply = reply_of(text_in(word))

    assert (shopper().consent, shopper().consent_source) == (Consent.OPTED_IN, "start_reply")
    assert "<Message>" in reply
    assert "Acme Outfitters" in reply


def test_help_is_answered_with_the_help_text(channel_with_url):
    reply = reply_of(text_in("help"))
    assert "<Message>" in reply
    assert "Acme Outfitters" in reply
    assert InboundMessage.objects.get().keyword == "help"


def test_keyword_answers_can_be_left_to_twilio(configure_channel):
    configure_channel(public_base_url=BASE_URL, reply_to_keywords=False)
    assert "<Message>" not in reply_of(text_in("HELP"))
    assert "<Message>" not in reply_of(text_in("START"))
    assert shopper().consent == Consent.OPTED_IN


# Security and repetition ----------------------------------------------------------------------


def test_unsigned_or_wrongly_signed_texts_are_refused_and_change_nothing(channel_with_url):
    assert text_in("STOP", signature="").status_code == 403
    assert text_in("STOP", token="0" * 32).status_code == 403
    assert not InboundMessage.objects.exists()
    assert not Recipient.objects.exists()


def test_a_replayed_webhook_is_acknowledged_and_changes_nothing(channel_with_url):
    text_in("STOP", sid="SM" + "1" * 32)
    text_in("START", sid="SM" + "2" * 32)

    replay = reply_of(text_in("STOP", sid="SM" + "1" * 32))

    assert "<Message>" not in replay
    assert shopper().consent == Consent.OPTED_IN
    assert InboundMessage.objects.count() == 2


def test_a_text_without_sender_is_rejected(channel_with_url):
    assert text_in("hello", from_="").status_code == 400


# Two-way conversations ------------------------------------------------------------------------


class Inbox(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Inbox.received.append(json.loads(self.rfile.read(length)))
        self.send_response(Inbox.status)
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def store_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    Inbox.received, Inbox.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms-replies"
    server.shutdown()


def test_other_replies_are_stored_announced_and_forwarded_to_the_store(
    configure_channel, order_factory, store_endpoint
):
    configure_channel(public_base_url=BASE_URL, inbound_forward_url=store_endpoint)
    order = order_factory(country="PL")
    [confirmation] = handlers.on_order_placed(order)
    dispatch.send_message(confirmation.id)
    announced = []

    def receiver(sender, inbound, **kwargs):
        announced.append(inbound.body)

    inbound_received.connect(receiver)
    try:
        reply = reply_of(text_in("Can I change the size?"))
    finally:
        inbound_received.disconnect(receiver)

    assert "<Message>" not in reply
    stored = InboundMessage.objects.get()
    assert (stored.body, stored.recipient, stored.keyword) == (
        "Can I change the size?",
        shopper(),
        "",
    )
    assert announced == ["Can I change the size?"]
    tasks.forward_inbound_task.apply(args=[stored.pk])
    [forwarded] = Inbox.received
    assert forwarded["body"] == "Can I change the size?"
    assert forwarded["from"] == SHOPPER
    assert forwarded["message_sid"] == stored.provider_id
    assert forwarded["in_reply_to_order"] == order.number
    stored.refresh_from_db()
    assert stored.forwarded_at is not None
    tasks.forward_inbound_task.apply(args=[stored.pk])
    assert len(Inbox.received) == 1


def test_a_failing_store_endpoint_is_retried_not_marked_forwarded(
    configure_channel, store_endpoint
):
    configure_channel(public_base_url=BASE_URL, inbound_forward_url=store_endpoint)
    text_in("hello?")
    stored = InboundMessage.objects.get()
    Inbox.status = 503

    with pytest.raises(requests.HTTPError, match="503"):
        inbound.forward(stored.pk)

    stored.refresh_from_db()
    assert stored.forwarded_at is None


def test_a_stop_sent_through_the_twilio_compatible_server_opts_out(
    configure_channel, twilio, live_server
):
    configure_channel(public_base_url=live_server.url)
    url = f"{live_server.url}{ROUTE}"

    status, body = twilio.send_inbound(url, SHOPPER, SENDER, "Stop")

    assert status == 200
    assert "<Response" in body
    assert shopper().consent == Consent.OPTED_OUT
