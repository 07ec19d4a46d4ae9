"""Hook -> worker -> Twilio SDK -> Twilio-compatible server -> signed callback -> delivered."""

import pytest
from django.db import transaction

from saleor_sms_plugin import handlers
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.models import Message

from ..conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_order_confirmation_is_delivered_end_to_end(
    configure_channel, order_factory, twilio, live_server, celery_worker_process
):
    configure_channel(public_base_url=live_server.url)
    order = order_factory()

    with transaction.atomic():
        [message] = handlers.on_order_placed(order)

    delivered = wait_until(
        lambda: Message.objects.filter(pk=message.pk, status=Status.DELIVERED).first()
    )
    # The server notes a callback once it has its answer, just after the row changed.
    callbacks = twilio.wait_for_callbacks(2)
    [accepted] = twilio.messages
    assert accepted.sid == delivered.provider_id
    assert order.number in accepted.form["Body"]
    assert [callback.params["MessageStatus"] for callback in callbacks] == ["sent", "delivered"]
    assert all(callback.response_status == 204 for callback in callbacks)


def test_nothing_is_enqueued_when_the_order_transaction_rolls_back(
    channel, order_factory, twilio, celery_worker_process
):
    def checkout_that_fails():
        with transaction.atomic():
            handlers.on_order_placed(order_factory())
            raise RuntimeError("checkout failed")

    with pytest.raises(RuntimeError):
        checkout_that_fails()

    assert not Message.objects.exists()
    assert twilio.messages == []
