"""Twilio's status callbacks reach the plugin through Saleor's per-channel plugin URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from saleor.plugins.manager import get_plugins_manager
from twilio.request_validator import RequestValidator

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.models import Message

from ..conftest import AUTH_TOKEN

pytestmark = pytest.mark.django_db

BASE_URL = "https://api.example.com"


@pytest.fixture
def sent_message(
    order_with_mobile: Any,
    configure_sms: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> Message:
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
    configure_sms(order_with_mobile.channel, public_base_url=BASE_URL)
    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).order_created(order_with_mobile)
    message = Message.objects.get(order_id=str(order_with_mobile.id))
    assert message.status == Status.SENT
    return message


def status_route(message: Message) -> str:
    """Where the text asked Twilio to report: Saleor's channel-less plugin route."""
    return (
        f"/plugins/{conf.PLUGIN_ID}/callbacks/{message.channel_slug}/twilio/status"
        f"?message={message.id}"
    )


def channel_route(message: Message) -> str:
    """Where texts sent by earlier versions asked Twilio to report."""
    return (
        f"/plugins/channel/{message.channel_slug}/{conf.PLUGIN_ID}/twilio/status"
        f"?message={message.id}"
    )


def post_status(message: Message, status: str, *, signed: bool = True, path: str = "") -> Any:
    path = path or status_route(message)
    params = {"MessageSid": message.provider_id, "MessageStatus": status}
    headers = {}
    if signed:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + path, params)
        headers["X-Twilio-Signature"] = signature
    return Client().post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def test_signed_status_callback_is_applied_through_saleors_plugin_url(sent_message):
    response = post_status(sent_message, "delivered")

    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


def test_unsigned_status_callback_is_refused(sent_message):
    response = post_status(sent_message, "delivered", signed=False)

    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_the_text_asks_twilio_to_report_to_the_channel_less_route(sent_message):
    from saleor_sms_plugin import dispatch
    from saleor_sms_plugin.conf import get_channel_settings

    channel = get_channel_settings(sent_message.channel_slug)
    assert dispatch.status_callback_url(channel, sent_message.id) == BASE_URL + status_route(
        sent_message
    )


def test_a_callback_is_recorded_after_the_plugin_was_switched_off_in_the_channel(
    sent_message, configure_sms, order_with_mobile
):
    configure_sms(order_with_mobile.channel, active=False, public_base_url=BASE_URL)

    assert post_status(sent_message, "delivered").status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


def test_an_unsigned_callback_is_refused_after_the_plugin_was_switched_off(
    sent_message, configure_sms, order_with_mobile
):
    configure_sms(order_with_mobile.channel, active=False, public_base_url=BASE_URL)

    assert post_status(sent_message, "delivered", signed=False).status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_callbacks_of_earlier_texts_are_applied_through_the_channel_route(sent_message):
    response = post_status(sent_message, "delivered", path=channel_route(sent_message))

    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


def test_saleor_answers_404_on_the_channel_route_where_the_plugin_is_inactive(
    sent_message, configure_sms, order_with_mobile
):
    configure_sms(order_with_mobile.channel, active=False, public_base_url=BASE_URL)

    response = post_status(sent_message, "delivered", path=channel_route(sent_message))

    assert response.status_code == 404
