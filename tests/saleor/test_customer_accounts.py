"""Customer accounts reach the core whichever Saleor mutation creates, changes or deletes them."""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.manager import get_plugins_manager

from saleor_sms_plugin.constants import Consent, Flow
from saleor_sms_plugin.models import Message, Recipient

pytestmark = pytest.mark.django_db

PHONE = "+12015550123"
CONSENT_KEY = "sms_marketing_consent"

CUSTOMER_CREATE = """
mutation ($input: UserCreateInput!) {
  customerCreate(input: $input) { user { id } errors { field message } }
}
"""
CUSTOMER_UPDATE = """
mutation ($id: ID!, $input: CustomerInput!) {
  customerUpdate(id: $id, input: $input) { errors { field message } }
}
"""
CUSTOMER_DELETE = """
mutation ($id: ID!) { customerDelete(id: $id) { errors { field message } } }
"""


@pytest.fixture
def staff(staff_api_client: Any, permission_manage_users: Any) -> Any:
    staff_api_client.user.user_permissions.add(permission_manage_users)
    return staff_api_client


def run(client: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Post a mutation; Saleor's test client runs what was deferred to the commit."""
    content = get_graphql_content(client.post_graphql(query, variables))
    [data] = content["data"].values()
    assert data["errors"] == []
    return data


def address(phone: str = PHONE) -> dict[str, str]:
    return {
        "firstName": "Grace",
        "lastName": "Hopper",
        "streetAddress1": "1600 Amphitheatre Pkwy",
        "city": "Mountain View",
        "postalCode": "94043",
        "country": "US",
        "countryArea": "CA",
        "phone": phone,
    }


def test_customer_created_by_staff_with_consent_is_welcomed_once(
    staff, configure_sms, channel_USD, channel_PLN, settings
):
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
    for channel in (channel_USD, channel_PLN):
        configure_sms(channel, **{"flow_welcome_enabled": True})

    run(
        staff,
        CUSTOMER_CREATE,
        {
            "input": {
                "email": "grace@example.com",
                "channel": channel_USD.slug,
                "defaultBillingAddress": address(),
                "metadata": [{"key": CONSENT_KEY, "value": "true"}],
            }
        },
    )

    # Both channels hear of the account; the customer is welcomed once.
    [welcome] = Message.objects.filter(flow=Flow.WELCOME)
    assert welcome.recipient is not None
    assert welcome.recipient.phone == PHONE
    assert Recipient.objects.get(phone=PHONE).consent == Consent.OPTED_IN


def test_consent_given_in_a_customer_update_is_recorded(
    staff, configure_sms, channel_USD, customer_user
):
    configure_sms(channel_USD)
    customer_user.default_billing_address.phone = PHONE
    customer_user.default_billing_address.country = "US"
    customer_user.default_billing_address.save(update_fields=["phone", "country"])

    run(
        staff,
        CUSTOMER_UPDATE,
        {
            "id": graphene.Node.to_global_id("User", customer_user.pk),
            "input": {"metadata": [{"key": CONSENT_KEY, "value": "true"}]},
        },
    )

    assert Recipient.objects.get(phone=PHONE).consent == Consent.OPTED_IN


def test_deleting_a_customer_erases_their_number_and_texts_even_where_the_plugin_is_now_off(
    staff, configure_sms, order_with_mobile, django_capture_on_commit_callbacks, settings
):
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
    channel = order_with_mobile.channel
    configure_sms(channel)
    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).order_created(order_with_mobile)
    [message] = Message.objects.filter(order_id=str(order_with_mobile.id))
    assert message.body
    configure_sms(channel, active=False)

    run(
        staff,
        CUSTOMER_DELETE,
        {"id": graphene.Node.to_global_id("User", order_with_mobile.user.pk)},
    )

    message.refresh_from_db()
    assert message.body == ""
    assert message.customer_ref == ""
    assert message.recipient is not None
    assert message.recipient.phone is None
