"""Shipping confirmations with tracking, review requests, and cancelled orders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.events import FulfillmentSnapshot
from saleor_sms_plugin.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING_URL = "https://track.example.com/{tracking_number}"


@pytest.fixture
def shipping_on(configure_channel):
    return configure_channel(
        send_window_start="00:00",
        send_window_end="00:00",  # no quiet hours: these tests are about content and timing
        tracking_url_template=TRACKING_URL,
        **{conf.flow_switch(Flow.ORDER_CONFIRMATION): False},
    )


def fulfil(order, tracking="", fulfillment_id="f1", **kwargs):
    return FulfillmentSnapshot(
        id=fulfillment_id,
        order=order,
        tracking_number=tracking,
        created_at=timezone.now(),
        **kwargs,
    )


def shipping_texts():
    return list(Message.objects.filter(flow=Flow.SHIPPING_CONFIRMATION).order_by("id"))


def test_shipping_text_carries_tracking_number_and_link(shipping_on, order_factory):
    order = order_factory()
    handlers.on_fulfillment_created(fulfil(order, tracking="1Z999AA1"))

    dispatch.dispatch_due()

    [sms] = locmem.outbox
    assert "1Z999AA1" in sms.body
    assert "https://track.example.com/1Z999AA1" in sms.body
    assert order.number in sms.body


def test_tracking_added_soon_after_rides_on_the_pending_text(shipping_on, order_factory):
    order = order_factory()
    [pending] = handlers.on_fulfillment_created(fulfil(order))
    assert pending.due_at > timezone.now()
    assert dispatch.dispatch_due().sent == 0

    handlers.on_tracking_updated(fulfil(order, tracking="1Z999AA1"))
    dispatch.dispatch_due()

    [sms] = locmem.outbox
    assert "1Z999AA1" in sms.body
    assert len(shipping_texts()) == 1


def test_tracking_changed_after_the_text_went_out_sends_one_more(shipping_on, order_factory):
    order = order_factory()
    handlers.on_fulfillment_created(fulfil(order, tracking="OLD1"))
    dispatch.dispatch_due()

    handlers.on_tracking_updated(fulfil(order, tracking="NEW2"))
    handlers.on_tracking_updated(fulfil(order, tracking="NEW2"))  # the hook, repeated
    dispatch.dispatch_due()

    assert [("NEW2" in sms.body) for sms in locmem.outbox] == [False, True]
    assert len(shipping_texts()) == 2


def test_no_shipping_text_when_staff_chose_not_to_notify(shipping_on, order_factory):
    order = order_factory()
    handlers.on_fulfillment_created(fulfil(order, tracking="1Z", notify_customer=False))
    handlers.on_tracking_updated(fulfil(order, tracking="1Z2"))

    assert shipping_texts() == []


def test_review_request_comes_the_configured_days_after_shipping_once_per_order(
    configure_channel, order_factory
):
    configure_channel(
        send_window_start="00:00",
        send_window_end="00:00",
        review_delay_days="5",
        **{conf.flow_switch(Flow.REVIEW_REQUEST): True},
    )
    order = order_factory(metadata={"sms_marketing_consent": "true"})
    handlers.on_order_placed(order)
    first = fulfil(order, tracking="A", fulfillment_id="f1")
    handlers.on_fulfillment_created(first)
    handlers.on_fulfillment_created(fulfil(order, tracking="B", fulfillment_id="f2"))

    [review] = Message.objects.filter(flow=Flow.REVIEW_REQUEST)
    assert review.due_at == first.created_at + timedelta(days=5)
    dispatch.dispatch_due(now=review.due_at - timedelta(minutes=1))
    review.refresh_from_db()
    assert review.status == Status.SCHEDULED
    dispatch.dispatch_due(now=review.due_at)
    review.refresh_from_db()
    assert review.status == Status.SENT


def test_the_same_fulfillment_hook_twice_schedules_once(shipping_on, order_factory):
    order = order_factory()
    fulfillment = fulfil(order, tracking="1Z")

    handlers.on_fulfillment_created(fulfillment)
    assert handlers.on_fulfillment_created(fulfillment) == []
    assert len(shipping_texts()) == 1


def test_order_cancelled_cancels_everything_pending_for_that_order(
    configure_channel, order_factory
):
    configure_channel(
        **{
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
            conf.flow_switch(Flow.WIN_BACK): True,
            conf.flow_switch(Flow.REVIEW_REQUEST): True,
        }
    )
    order = order_factory(user_id="9", metadata={"sms_marketing_consent": "true"})
    other = order_factory(user_id="10", email="other@example.com", phone="+1 202 555 0111")
    handlers.on_order_placed(order)
    handlers.on_order_placed(other)
    handlers.on_fulfillment_created(fulfil(order, tracking="1Z"))
    Message.objects.filter(status=Status.SCHEDULED).update(
        due_at=timezone.now() + timedelta(hours=1)
    )

    handlers.on_order_cancelled(order.id)

    assert set(Message.objects.filter(order_id=order.id).values_list("status", "reason")) == {
        (Status.CANCELLED, SkipReason.ORDER_CANCELLED)
    }
    assert not Message.objects.filter(order_id=other.id, status=Status.CANCELLED).exists()
