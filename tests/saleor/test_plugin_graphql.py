"""The plugin's own GraphQL endpoint accepts Saleor's staff tokens and app tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from saleor.graphql.tests.fixtures import ApiClient
from saleor.plugins.manager import get_plugins_manager

from saleor_sms_plugin import conf

pytestmark = pytest.mark.django_db

MESSAGES = "{ messages(first: 5) { edges { node { orderNumber flow } } } }"


@pytest.fixture
def route(
    order_with_mobile: Any,
    configure_sms: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> str:
    """The channel's GraphQL route, with one order confirmation to read."""
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
    configure_sms(order_with_mobile.channel)
    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).order_created(order_with_mobile)
    return f"/plugins/channel/{order_with_mobile.channel.slug}/{conf.PLUGIN_ID}/graphql"


def query(client: ApiClient) -> tuple[int, dict[str, Any]]:
    response = client.post({"query": MESSAGES})
    return response.status_code, json.loads(response.content)


def test_staff_member_allowed_to_manage_orders_reads_texts_with_a_saleor_token(
    route, staff_user, permission_group_manage_orders, order_with_mobile
):
    permission_group_manage_orders.user_set.add(staff_user)

    status, content = query(ApiClient(user=staff_user, api_path=route))

    assert status == 200
    assert "errors" not in content
    [edge] = content["data"]["messages"]["edges"]
    assert edge["node"] == {
        "orderNumber": str(order_with_mobile.number),
        "flow": "ORDER_CONFIRMATION",
    }


def test_app_allowed_to_manage_orders_reads_texts_with_its_token(
    route, app, permission_manage_orders
):
    app.permissions.add(permission_manage_orders)

    status, content = query(ApiClient(app=app, api_path=route))

    assert status == 200
    assert len(content["data"]["messages"]["edges"]) == 1


@pytest.mark.parametrize("who", ["anonymous", "staff without permission", "app without permission"])
def test_requests_without_the_permission_get_no_texts(route, staff_user, app, who):
    client = {
        "anonymous": ApiClient(api_path=route),
        "staff without permission": ApiClient(user=staff_user, api_path=route),
        "app without permission": ApiClient(app=app, api_path=route),
    }[who]

    status, content = query(client)

    assert status == 403  # refused before the query is read: no data, one GraphQL error
    assert "data" not in content
    [error] = content["errors"]
    assert error["extensions"]["exception"]["code"] == "PermissionDenied"
