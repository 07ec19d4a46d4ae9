"""Fulfilling an order through Saleor's API texts one shipping confirmation, once shipped."""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from saleor.graphql.tests.utils import get_graphql_content

from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.models import Message

from .conftest import MOBILE

pytestmark = pytest.mark.django_db

TRACKING_NUMBER = "1Z999AA10123456784"

ORDER_FULFILL = """
mutation ($order: ID!, $input: OrderFulfillInput!) {
  orderFulfill(order: $order, input: $input) {
    fulfillments { id status }
    errors { field message }
  }
}
"""
FULFILLMENT_APPROVE = """
mutation ($id: ID!, $notifyCustomer: Boolean!) {
  orderFulfillmentApprove(id: $id, notifyCustomer: $notifyCustomer) {
    fulfillment { status }
    errors { field message }
  }
}
"""


@pytest.fixture
def staff(staff_api_client: Any, permission_group_manage_orders: Any) -> Any:
    permission_group_manage_orders.user_set.add(staff_api_client.user)
    return staff_api_client


@pytest.fixture
def fulfill(
    staff: Any,
    order_with_mobile: Any,
    warehouse: Any,
    configure_sms: Any,
    settings: Any,
) -> Any:
    """Ship every line of the order from the warehouse, as staff does in the Dashboard."""
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
    # Shipping texts wait for the recipient's daytime; a window open at every hour keeps
    # these tests independent of the hour they run at.
    configure_sms(order_with_mobile.channel, send_window_start="00:00", send_window_end="00:00")

    def run(*, notify_customer: bool = True) -> list[dict[str, str]]:
        lines = [
            {
                "orderLineId": graphene.Node.to_global_id("OrderLine", line.pk),
                "stocks": [
                    {
                        "quantity": line.quantity,
                        "warehouse": graphene.Node.to_global_id("Warehouse", warehouse.pk),
                    }
                ],
            }
            for line in order_with_mobile.lines.all()
        ]
        variables = {
            "order": graphene.Node.to_global_id("Order", order_with_mobile.pk),
            "input": {
                "notifyCustomer": notify_customer,
                "trackingNumber": TRACKING_NUMBER,
                "lines": lines,
            },
        }
        # Saleor's test client runs what was deferred to the commit, as a real commit would.
        data = get_graphql_content(staff.post_graphql(ORDER_FULFILL, variables))
        assert data["data"]["orderFulfill"]["errors"] == []
        return data["data"]["orderFulfill"]["fulfillments"]

    return run


def shipping_texts() -> list[Message]:
    return list(Message.objects.filter(flow=Flow.SHIPPING_CONFIRMATION))


def test_fulfilled_order_gets_one_shipping_confirmation_with_its_tracking_number(
    fulfill, order_with_mobile
):
    fulfill()

    [message] = shipping_texts()
    assert message.order_number == str(order_with_mobile.number)
    assert message.status == Status.SENT
    [sms] = locmem.outbox
    assert sms.to == MOBILE
    assert TRACKING_NUMBER in sms.body


def test_staff_choosing_not_to_notify_the_customer_sends_no_shipping_confirmation(fulfill):
    fulfill(notify_customer=False)

    assert shipping_texts() == []


def test_fulfillment_waiting_for_approval_is_texted_once_approved(fulfill, site_settings, staff):
    site_settings.fulfillment_auto_approve = False
    site_settings.save(update_fields=["fulfillment_auto_approve"])

    [fulfillment] = fulfill()

    assert fulfillment["status"] == "WAITING_FOR_APPROVAL"
    assert shipping_texts() == []
    data = get_graphql_content(
        staff.post_graphql(FULFILLMENT_APPROVE, {"id": fulfillment["id"], "notifyCustomer": True})
    )
    assert data["data"]["orderFulfillmentApprove"]["errors"] == []
    [message] = shipping_texts()
    assert message.status == Status.SENT
    assert len(locmem.outbox) == 1
