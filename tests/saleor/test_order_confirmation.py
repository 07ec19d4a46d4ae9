"""An order placed through Saleor's checkout API is confirmed by exactly one text."""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order.models import Order
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from saleor_sms_plugin import conf
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.models import InboxEvent, Message

from ..conftest import SENDER
from .conftest import PHONE

pytestmark = pytest.mark.django_db


@pytest.fixture
def locmem_backend(settings: Any) -> None:
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"


def test_order_in_an_active_channel_schedules_one_confirmation_with_its_number(
    place_order, configure_sms, channel_USD, locmem_backend
):
    configure_sms(channel_USD)

    order = place_order()

    [message] = Message.objects.filter(order_id=str(order.id))
    assert message.flow == Flow.ORDER_CONFIRMATION
    assert message.channel_slug == channel_USD.slug
    assert message.order_number == str(order.number)
    assert message.status == Status.SENT
    assert str(order.number) in message.body
    [sms] = locmem.outbox
    assert sms.to == PHONE
    assert str(order.number) in sms.body


def test_confirmation_goes_through_twilio_as_exactly_one_text(
    place_order, configure_sms, channel_USD, twilio
):
    configure_sms(channel_USD)

    order = place_order()

    [accepted] = twilio.messages
    assert accepted.form["To"] == PHONE
    assert accepted.form["From"] == SENDER
    assert str(order.number) in accepted.form["Body"]
    message = Message.objects.get(order_id=str(order.id))
    assert message.status == Status.SENT
    assert message.provider_id == accepted.sid


def test_channel_where_the_plugin_is_inactive_sends_nothing(
    place_order, configure_sms, channel_USD, twilio
):
    configure_sms(channel_USD, active=False)

    place_order()

    assert not Message.objects.exists()
    assert twilio.messages == []


def test_channel_that_was_never_configured_sends_nothing(place_order, twilio):
    place_order()

    assert not Message.objects.exists()
    assert twilio.messages == []


def test_order_in_a_deactivated_channel_sends_nothing(
    order_with_mobile, configure_sms, twilio, django_capture_on_commit_callbacks
):
    channel = order_with_mobile.channel
    configure_sms(channel)
    channel.is_active = False
    channel.save(update_fields=["is_active"])

    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).order_created(order_with_mobile)

    assert not Message.objects.exists()
    assert twilio.messages == []


def test_a_repeated_order_created_hook_schedules_no_second_text(
    order_with_mobile, configure_sms, locmem_backend, django_capture_on_commit_callbacks
):
    configure_sms(order_with_mobile.channel)
    manager = get_plugins_manager(allow_replica=False)

    with django_capture_on_commit_callbacks(execute=True):
        manager.order_created(order_with_mobile)
        manager.order_created(order_with_mobile)

    [message] = Message.objects.filter(order_id=str(order_with_mobile.id))
    assert message.order_number == str(order_with_mobile.number)
    assert len(locmem.outbox) == 1


def test_a_failure_in_the_plugin_never_fails_the_shoppers_checkout(
    place_order, channel_USD, twilio, caplog
):
    # A configuration stored before its values were validated the way they are now.
    PluginConfiguration.objects.create(
        identifier=conf.PLUGIN_ID,
        channel=channel_USD,
        active=True,
        configuration=[{"name": conf.ACCOUNT_SID, "value": "not a SID"}],
    )

    order = place_order()

    assert Order.objects.filter(pk=order.pk).exists()
    assert not Message.objects.exists()
    assert twilio.messages == []
    # The order's event is kept with the error, to be handled again once the configuration
    # is fixed: nothing is lost.
    event = InboxEvent.objects.get(kind="saleor.order_created", key=str(order.pk))
    assert event.processed_at is None
    assert "Twilio Account SID" in event.last_error
    assert f"Handling event {event.pk} (saleor.order_created" in caplog.text


ORDER_CANCEL = """
mutation ($id: ID!) { orderCancel(id: $id) { errors { field message } } }
"""


def test_cancelling_an_order_cancels_its_pending_texts(
    order_with_mobile,
    configure_sms,
    locmem_backend,
    staff_api_client,
    permission_group_manage_orders,
    django_capture_on_commit_callbacks,
):
    configure_sms(
        order_with_mobile.channel,
        flow_thank_you_enabled=True,
        thank_you_with_confirmation=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).order_created(order_with_mobile)
    thank_you = Message.objects.get(flow=Flow.THANK_YOU)
    assert thank_you.status == Status.SCHEDULED
    permission_group_manage_orders.user_set.add(staff_api_client.user)

    content = get_graphql_content(
        staff_api_client.post_graphql(
            ORDER_CANCEL, {"id": graphene.Node.to_global_id("Order", order_with_mobile.pk)}
        )
    )

    assert content["data"]["orderCancel"]["errors"] == []
    thank_you.refresh_from_db()
    assert thank_you.status == Status.CANCELLED
    assert Message.objects.get(flow=Flow.ORDER_CONFIRMATION).status == Status.SENT
