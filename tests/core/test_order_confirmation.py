"""An order placed in an active channel becomes exactly one confirmation text."""

import threading

import pytest
from django.db import connection

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.models import Message, Recipient

pytestmark = pytest.mark.django_db(transaction=True)


def test_order_schedules_one_confirmation_to_the_e164_number(channel, order_factory):
    order = order_factory(country="PL", phone="600 100 200")

    [message] = handlers.on_order_placed(order)

    assert message.flow == Flow.ORDER_CONFIRMATION
    assert message.status == Status.SCHEDULED
    assert message.order_id == order.id
    assert message.recipient.phone == "+48600100200"
    assert message.recipient.country == "PL"


def test_the_same_hook_delivered_twice_schedules_once(channel, order_factory):
    order = order_factory()

    handlers.on_order_placed(order)
    again = handlers.on_order_placed(order)

    assert again == []
    assert Message.objects.filter(order_id=order.id).count() == 1


@pytest.mark.parametrize(
    ("phone", "reason"),
    [("", SkipReason.NO_PHONE), ("not a number", SkipReason.INVALID_PHONE)],
)
def test_order_without_a_textable_number_is_recorded_as_skipped(
    channel, order_factory, phone, reason
):
    [message] = handlers.on_order_placed(order_factory(phone=phone))

    assert message.status == Status.SKIPPED
    assert message.reason == reason
    assert message.recipient is None
    assert Recipient.objects.count() == 0


def test_inactive_channel_or_disabled_flow_schedules_nothing(configure_channel, order_factory):
    configure_channel(active=False)
    assert handlers.on_order_placed(order_factory()) == []
    configure_channel(**{conf.flow_switch(Flow.ORDER_CONFIRMATION): False})
    assert handlers.on_order_placed(order_factory()) == []
    assert not Message.objects.exists()


def test_confirmation_names_the_order_and_the_shop(channel, order_factory):
    order = order_factory()
    [message] = handlers.on_order_placed(order)

    report = dispatch.send_message(message.id)

    assert report.sent == 1
    [sms] = locmem.outbox
    assert sms.to == "+12015550123"
    assert order.number in sms.body
    assert "Acme Outfitters" in sms.body
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_id.startswith("locmem-")
    assert message.body == sms.body
    assert message.segments >= 1


def test_a_message_is_sent_once_however_often_it_is_asked_for(channel, order_factory):
    [message] = handlers.on_order_placed(order_factory())

    dispatch.send_message(message.id)
    dispatch.send_message(message.id)
    dispatch.dispatch_due()

    assert len(locmem.outbox) == 1


def test_message_not_yet_due_is_not_sent(channel, order_factory):
    [message] = handlers.on_order_placed(order_factory())
    Message.objects.filter(pk=message.pk).update(due_at=message.due_at.replace(year=2999))

    assert dispatch.send_message(message.id).claimed == 0
    assert locmem.outbox == []


def test_parallel_dispatchers_send_every_message_exactly_once(channel, order_factory):
    for _ in range(60):
        handlers.on_order_placed(order_factory())
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while dispatch.dispatch_due(batch_size=7).claimed:
                pass
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(locmem.outbox) == 60
    assert len({sms.message_id for sms in locmem.outbox}) == 60
    assert Message.objects.filter(status=Status.SENT).count() == 60
