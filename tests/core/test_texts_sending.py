"""Texts as they leave: the shopper's language, Babel's formats in GSM-7, look-alikes replaced."""

import pytest

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.models import Message

pytestmark = pytest.mark.django_db


def send_confirmation(order):
    [message] = handlers.on_order_placed(order)
    dispatch.send_message(message.id)
    [sms] = locmem.outbox
    message.refresh_from_db()
    return sms.body, message


def test_a_german_confirmation_formats_the_total_and_stays_in_one_gsm7_segment(
    channel, order_factory
):
    order = order_factory(language_code="de-DE", total="1234.50", currency="EUR")

    body, message = send_confirmation(order)

    assert body.startswith("Acme Outfitters: Danke, Ada! Bestellung")
    assert "(1.234,50 €)" in body
    assert (message.language, message.encoding, message.segments) == ("de", "GSM-7", 1)


def test_the_customer_language_is_used_when_the_order_has_none(channel, order_factory):
    order = order_factory(language_code="", customer_language_code="pt_BR", currency="BRL")

    body, message = send_confirmation(order)

    assert "obrigado, Ada!" in body
    assert "R$ 59,90" in body
    assert message.language == "pt-BR"


def test_an_unshipped_order_language_falls_back_to_the_channel_country(
    configure_channel, order_factory
):
    configure_channel("channel-pln")
    order = order_factory(
        channel_slug="channel-pln", country="PL", language_code="ja", currency="PLN"
    )

    body, message = send_confirmation(order)

    assert "dziękujemy, Ada!" in body
    assert "59,90 zł" in body
    assert (message.language, message.encoding) == ("pl", "UCS-2")


def test_curly_quotes_in_an_override_are_sent_as_plain_ones(configure_channel, order_factory):
    curly = "{{ shop_name }}: \u201cthanks\u201d \u2013 order {{ order_number }}"
    configure_channel(text_order_confirmation=curly)
    order = order_factory()

    body, message = send_confirmation(order)

    assert body == f'Acme Outfitters: "thanks" - order {order.number}'
    assert message.encoding == "GSM-7"


def test_a_channel_may_keep_its_look_alikes(configure_channel, order_factory):
    configure_channel(
        text_order_confirmation="{{ shop_name }}: \u201cthanks\u201d",
        **{conf.TRANSLITERATE_LOOK_ALIKES: False},
    )

    body, message = send_confirmation(order_factory())

    assert body == "Acme Outfitters: \u201cthanks\u201d"
    assert message.encoding == "UCS-2"
    assert Message.objects.get(pk=message.pk).segments == 1
