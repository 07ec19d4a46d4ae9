"""Signals: each documented example in docs/extending.md, run against real messages."""

import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.dispatch import Signal
from django.utils import timezone

from saleor_sms_plugin import callbacks, dispatch, handlers, signals
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.models import Message

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def test_every_signal_is_documented_with_an_example():
    text = DOCS.read_text("utf-8")
    names = [name for name, value in vars(signals).items() if isinstance(value, Signal)]

    assert names
    for name in names:
        assert f"`{name}`" in text, f"docs/extending.md does not list {name}"
        if name != "inbound_received":  # documented with the inbound flow in docs/flows.md
            assert re.search(rf"<!-- example: {name} -->", text), f"no example for {name}"


def test_message_scheduled_example_logs_each_new_text(channel, order_factory, docs_example, caplog):
    docs_example("message_scheduled")

    with caplog.at_level(logging.INFO, logger="shop.sms"):
        [message] = handlers.on_order_placed(order_factory())

    assert f"Text {message.pk} (order_confirmation) is due at" in caplog.text


def test_message_sending_example_signs_texts(channel, order_factory, docs_example):
    docs_example("message_sending")
    [message] = handlers.on_order_placed(order_factory())

    dispatch.send_message(message.pk)

    [sms] = locmem.outbox
    assert sms.body.endswith("\n- Team Acme")
    message.refresh_from_db()
    assert message.body == sms.body


def test_message_sending_example_vetoes_texts_of_marked_orders(
    channel, order_factory, docs_example
):
    docs_example("message_sending")
    [message] = handlers.on_order_placed(order_factory(metadata={"sms": "off"}))

    report = dispatch.send_message(message.pk)

    assert report.skipped == 1
    assert locmem.outbox == []
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.SKIPPED, SkipReason.VETOED)


def test_message_sent_example_logs_the_provider_id(channel, order_factory, docs_example, caplog):
    docs_example("message_sent")
    order = order_factory()
    [message] = handlers.on_order_placed(order)

    with caplog.at_level(logging.INFO, logger="shop.sms"):
        dispatch.send_message(message.pk)

    message.refresh_from_db()
    assert f"Text {message.pk} for order {order.number} accepted as {message.provider_id}" in (
        caplog.text
    )


def test_message_status_changed_example_warns_about_undelivered_texts(
    channel, message_factory, docs_example, caplog
):
    docs_example("message_status_changed")
    message = message_factory(Flow.ORDER_CONFIRMATION, Status.SENT)

    with caplog.at_level(logging.INFO, logger="shop.sms"):
        callbacks.apply_status_callback(
            str(message.pk),
            {
                "MessageSid": message.provider_id,
                "MessageStatus": "undelivered",
                "ErrorCode": "30003",
            },
        )

    assert f"Text {message.pk} undelivered (provider error 30003)" in caplog.text


def test_link_clicked_example_logs_the_first_click(docs_example, caplog):
    docs_example("link_clicked")
    now = timezone.now()

    with caplog.at_level(logging.INFO, logger="shop.sms"):
        for first_click in (True, False):
            signals.link_clicked.send(
                sender=Message,
                message_id=7,
                url="https://shop.example.com/checkout?c=1",
                clicked_at=now,
                first_click=first_click,
            )

    assert caplog.text.count("Text 7: first click") == 1


def test_conversion_example_logs_the_revenue(docs_example, caplog):
    docs_example("conversion")

    with caplog.at_level(logging.INFO, logger="shop.sms"):
        signals.conversion.send(
            sender=Message,
            message_id=7,
            order_id="b1d4",
            revenue=Decimal("59.90"),
            currency="USD",
            converted_at=timezone.now(),
        )

    assert "Text 7 led to order b1d4: 59.90 USD" in caplog.text
