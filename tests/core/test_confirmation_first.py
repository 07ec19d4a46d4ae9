"""The order confirmation reaches the phone before anything that follows the order: an offer
or a thank-you due at the same moment waits until the confirmation has gone out."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.flows import AWAITING_CONFIRMATION, CONFIRMATION_HOLD
from saleor_sms_plugin.models import Message
from saleor_sms_plugin.tasks import dispatch_due_messages_task

from ..conftest import OFFERS, offer_links, wait_until

PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)  # 14:00 in Warsaw
CONSENT = {"sms_marketing_consent": "true"}


def at_once_values(**overrides):
    """A confirmation and an offer due the moment the order is placed."""
    return {
        conf.flow_switch(Flow.ORDER_CONFIRMATION): True,
        conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
        conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
        conf.OFFER_DELAYS_MINUTES: "0",
        **offer_links(OFFERS[:1]),
        **overrides,
    }


def texts_of(order):
    return {m.flow: m for m in Message.objects.filter(order_id=order.id)}


@pytest.fixture
def placed(configure_channel, order_factory):
    configure_channel(**at_once_values())
    order = order_factory(country="PL", language_code="pl", created_at=PLACED, metadata=CONSENT)
    handlers.on_order_placed(order)
    return order


@pytest.mark.django_db
def test_an_offer_due_with_the_confirmation_waits_and_follows_it(placed):
    report = dispatch.dispatch_due(now=PLACED)

    texts = texts_of(placed)
    offer = texts[Flow.POST_PURCHASE_OFFER]
    assert (report.sent, report.deferred) == (1, 1)
    assert texts[Flow.ORDER_CONFIRMATION].status == Status.SENT
    # Released when the confirmation was recorded: due again at once.
    assert (offer.status, offer.due_at) == (Status.SCHEDULED, PLACED)

    dispatch.dispatch_due(now=PLACED + timedelta(seconds=1))

    first, second = locmem.outbox
    assert placed.number in first.body
    assert "/l/" in second.body
    assert texts_of(placed)[Flow.POST_PURCHASE_OFFER].status == Status.SENT


@pytest.mark.django_db
def test_an_offer_waits_while_the_confirmation_is_retried(placed):
    confirmation = texts_of(placed)[Flow.ORDER_CONFIRMATION]
    later = PLACED + timedelta(minutes=5)
    Message.objects.filter(pk=confirmation.pk).update(due_at=later, reason="retrying")

    dispatch.dispatch_due(now=PLACED)

    offer = texts_of(placed)[Flow.POST_PURCHASE_OFFER]
    assert (offer.status, offer.reason) == (Status.SCHEDULED, AWAITING_CONFIRMATION)
    assert offer.due_at == PLACED + CONFIRMATION_HOLD
    assert locmem.outbox == []

    dispatch.dispatch_due(now=later)
    dispatch.dispatch_due(now=later + timedelta(seconds=1))

    assert [sms.body.count("/l/") for sms in locmem.outbox] == [0, 1]


@pytest.mark.django_db
def test_a_confirmation_that_will_not_go_out_releases_the_offer(placed, configure_channel):
    # The admin turned confirmations off after the order: it is skipped, the offer goes.
    configure_channel(**at_once_values(**{conf.flow_switch(Flow.ORDER_CONFIRMATION): False}))

    dispatch.dispatch_due(now=PLACED)
    dispatch.dispatch_due(now=PLACED + timedelta(seconds=1))

    texts = texts_of(placed)
    assert texts[Flow.ORDER_CONFIRMATION].reason == SkipReason.FLOW_DISABLED
    assert texts[Flow.POST_PURCHASE_OFFER].status == Status.SENT


@pytest.mark.django_db
def test_an_offer_held_past_its_window_is_skipped(placed):
    confirmation = texts_of(placed)[Flow.ORDER_CONFIRMATION]
    Message.objects.filter(pk=confirmation.pk).update(status=Status.SENDING)

    dispatch.dispatch_due(now=PLACED + timedelta(hours=23, minutes=59, seconds=30))

    offer = texts_of(placed)[Flow.POST_PURCHASE_OFFER]
    assert (offer.status, offer.reason) == (Status.SKIPPED, SkipReason.WINDOW_PASSED)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_provider_receives_the_confirmation_before_an_offer_due_at_the_same_moment(
    configure_channel,
    order_factory,
    twilio,
    live_server,
    monkeypatch,
    celery_worker_factory,
):
    monkeypatch.setenv("SALEOR_SMS_RETRY_DELAY", "1")
    celery_worker_factory()
    configure_channel(
        **at_once_values(
            public_base_url=live_server.url, send_window_start="00:00", send_window_end="00:00"
        )
    )
    order = order_factory(metadata=CONSENT)
    # The confirmation's first request is refused (rate limit): it is sent again a second
    # later, by the periodic dispatcher, while the offer's own task runs at once.
    twilio.fail_next(429)

    with transaction.atomic():
        handlers.on_order_placed(order)

    def both_accepted():
        dispatch_due_messages_task.delay()  # what Celery beat does every 30 seconds
        time.sleep(0.5)
        return len(twilio.messages) == 2

    wait_until(both_accepted, timeout=30, interval=0.5)
    confirmation, offer = twilio.messages
    assert order.number in confirmation.form["Body"]
    assert "/l/" in offer.form["Body"]
    assert texts_of(order)[Flow.POST_PURCHASE_OFFER].status in (Status.SENT, Status.DELIVERED)
