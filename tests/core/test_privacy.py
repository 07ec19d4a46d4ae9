"""Erasing a customer's numbers and texts on request, and purging old texts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import conf, dispatch, handlers, privacy
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.events import AddressSnapshot, CustomerSnapshot
from saleor_sms_plugin.models import InboundMessage, Message, Recipient

pytestmark = pytest.mark.django_db(transaction=True)

CONSENT = {"sms_marketing_consent": "true"}


@pytest.fixture
def marketing_on(configure_channel):
    return configure_channel(**{conf.flow_switch(Flow.POST_PURCHASE_OFFER): True})


def ada(customer_id="42", email="ada@example.com"):
    return CustomerSnapshot(
        id=customer_id,
        email=email,
        default_address=AddressSnapshot(phone="+1 201 555 0123", country="US"),
    )


def place_orders(order_factory):
    """Ada's order as a registered customer, one as a guest, and Bob's order."""
    mine = order_factory(user_id="42", metadata=CONSENT)
    as_guest = order_factory(email="ADA@example.com", phone="+1 202 555 0111")
    bob = order_factory(user_id="43", email="bob@example.com", phone="+1 203 555 0199")
    for order in (mine, as_guest, bob):
        handlers.on_order_placed(order)
    dispatch.send_message(Message.objects.get(order_id=mine.id, flow=Flow.ORDER_CONFIRMATION).id)
    InboundMessage.objects.create(
        provider_id="SM1",
        channel_slug="default-channel",
        recipient=Recipient.objects.get(phone="+12015550123"),
        from_phone="+12015550123",
        body="Is it waterproof?",
    )
    return mine, as_guest, bob


@pytest.mark.parametrize("hook", [handlers.on_account_deleted, handlers.on_customer_deleted])
def test_deleting_the_account_erases_numbers_bodies_and_order_details(
    marketing_on, order_factory, hook
):
    mine, as_guest, bob = place_orders(order_factory)

    erasure = hook(ada())

    assert erasure.recipients == 2
    assert not Recipient.objects.filter(phone__in=["+12015550123", "+12025550111"]).exists()
    erased = Message.objects.filter(order_id__in=[mine.id, as_guest.id])
    assert {(m.body, m.customer_ref) for m in erased} == {("", "")}
    assert all(m.context == {} for m in erased)
    assert InboundMessage.objects.get().body == ""
    assert InboundMessage.objects.get().from_phone == ""
    assert Recipient.objects.filter(erased_at__isnull=False).count() == 2


def test_erasure_cancels_what_was_still_to_be_sent(marketing_on, order_factory):
    mine, _, _ = place_orders(order_factory)

    handlers.on_account_deleted(ada())

    offers = Message.objects.filter(order_id=mine.id, flow=Flow.POST_PURCHASE_OFFER)
    assert {(m.status, m.reason) for m in offers} == {(Status.CANCELLED, SkipReason.ERASED)}
    assert dispatch.dispatch_due(now=timezone.now() + timedelta(days=1)).sent == 1  # Bob's


def test_other_customers_are_untouched(marketing_on, order_factory):
    _, _, bob = place_orders(order_factory)

    handlers.on_account_deleted(ada())

    assert Recipient.objects.filter(phone="+12035550199").exists()
    assert all(m.context for m in Message.objects.filter(order_id=bob.id))


def test_erasing_twice_is_harmless(marketing_on, order_factory):
    place_orders(order_factory)
    handlers.on_account_deleted(ada())
    assert handlers.on_account_deleted(ada()).recipients == 0


def test_texts_past_the_retention_period_lose_their_bodies(configure_channel, order_factory):
    configure_channel(retention_days="30")
    old, recent = order_factory(), order_factory(phone="+1 202 555 0111")
    for order in (old, recent):
        [message] = handlers.on_order_placed(order)
        dispatch.send_message(message.id)
    Message.objects.filter(order_id=old.id).update(created_at=timezone.now() - timedelta(days=31))

    assert privacy.purge_old_texts() == 1

    assert Message.objects.get(order_id=old.id).body == ""
    assert Message.objects.get(order_id=old.id).context == {}
    assert Message.objects.get(order_id=old.id).status == Status.SENT
    assert Message.objects.get(order_id=recent.id).body != ""


def test_a_retention_of_zero_keeps_texts(configure_channel, order_factory):
    configure_channel(retention_days="0")
    [message] = handlers.on_order_placed(order_factory())
    dispatch.send_message(message.id)
    Message.objects.update(created_at=timezone.now() - timedelta(days=3000))

    assert privacy.purge_old_texts() == 0


def test_texts_still_to_be_sent_are_never_purged(configure_channel, order_factory):
    configure_channel(retention_days="1")
    handlers.on_order_placed(order_factory())
    Message.objects.update(
        created_at=timezone.now() - timedelta(days=5), due_at=timezone.now() + timedelta(days=1)
    )

    privacy.purge_old_texts()

    assert Message.objects.get().context != {}


def test_a_body_written_back_after_erasure_is_purged(configure_channel, order_factory):
    configure_channel()
    [message] = handlers.on_order_placed(order_factory(user_id="42"))
    handlers.on_account_deleted(ada())
    # A worker that was sending at that moment records the body it sent.
    Message.objects.filter(pk=message.pk).update(body="late body", status=Status.SENT)

    privacy.purge_old_texts(now=timezone.now() + timedelta(seconds=1))

    assert Message.objects.get(pk=message.pk).body == ""
