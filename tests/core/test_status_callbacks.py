"""Twilio's status callbacks: signed, applied once, only forward."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from saleor_sms_plugin import dispatch, handlers
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.models import Message, Recipient

from ..conftest import AUTH_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)
BASE_URL = "https://api.example.com"


@pytest.fixture
def sent_message(configure_channel, order_factory):
    configure_channel(public_base_url=BASE_URL)
    [message] = handlers.on_order_placed(order_factory())
    dispatch.send_message(message.id)
    message.refresh_from_db()
    return message


CALLBACK_ROUTE = "/plugins/saleor_sms_plugin.sms/callbacks/default-channel/twilio/status"
CHANNEL_ROUTE = "/plugins/channel/default-channel/saleor_sms_plugin.sms/twilio/status"


def post_callback(
    message, status, *, token=AUTH_TOKEN, signature=None, route=CALLBACK_ROUTE, **extra
):
    path = f"{route}?message={message.id}"
    params = {
        "MessageSid": message.provider_id,
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        **extra,
    }
    if signature is None:
        signature = RequestValidator(token).compute_signature(BASE_URL + path, params)
    return Client().post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature} if signature else {},
    )


def test_delivered_callback_marks_the_message_delivered(sent_message):
    response = post_callback(sent_message, "delivered")

    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_unsigned_or_wrongly_signed_callback_is_refused_and_changes_nothing(
    sent_message, signature
):
    response = post_callback(sent_message, "delivered", signature=signature)

    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_callback_signed_with_another_token_is_refused(sent_message):
    assert post_callback(sent_message, "delivered", token="another-token").status_code == 403


def test_undelivered_records_twilios_error_code(sent_message):
    post_callback(sent_message, "undelivered", ErrorCode="30003")

    sent_message.refresh_from_db()
    assert sent_message.status == Status.UNDELIVERED
    assert sent_message.error_code == 30003


def test_replayed_or_late_callbacks_never_move_a_message_backwards(sent_message):
    post_callback(sent_message, "delivered")
    assert post_callback(sent_message, "sent").status_code == 204
    assert post_callback(sent_message, "failed", ErrorCode="30008").status_code == 204

    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.error_code is None


def test_callback_for_another_message_sid_is_rejected(sent_message):
    Message.objects.filter(pk=sent_message.pk).update(provider_id="SM" + "9" * 32)

    assert post_callback(sent_message, "delivered").status_code == 400
    assert Message.objects.get(pk=sent_message.pk).status == Status.SENT


def test_landline_error_flags_the_number(sent_message):
    post_callback(sent_message, "undelivered", ErrorCode="30006")

    assert Recipient.objects.get().unreachable_code == 30006


def test_a_callback_is_recorded_after_the_plugin_was_switched_off_in_the_channel(
    sent_message, configure_channel
):
    configure_channel(active=False, public_base_url=BASE_URL)

    response = post_callback(sent_message, "delivered")

    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


def test_a_forged_callback_is_refused_after_the_plugin_was_switched_off(
    sent_message, configure_channel
):
    configure_channel(active=False, public_base_url=BASE_URL)

    response = post_callback(sent_message, "delivered", token="0" * 32)

    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_callbacks_to_the_channel_route_of_earlier_texts_are_still_applied(sent_message):
    response = post_callback(sent_message, "delivered", route=CHANNEL_ROUTE)

    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
