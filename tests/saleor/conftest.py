"""Saleor's fixtures and settings for the adapter's tests (see README.md).

Outside a Saleor environment this conftest registers nothing and reports every test module of
the folder as skipped, with the reason, without importing it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings


def saleor_environment_problem() -> str | None:
    """Why these tests cannot run here, or None inside a Saleor environment."""
    if importlib.util.find_spec("saleor") is None:
        return "Saleor is not installed: these tests run inside a Saleor environment"
    if not os.environ.get("DJANGO_SETTINGS_MODULE", "").startswith("saleor."):
        return "these tests run with Saleor's settings: --ds=saleor.tests.settings"
    return None


class SkippedModule(pytest.Module):
    """A test module that cannot run here: one skipped test stands for it, nothing imported."""

    def collect(self) -> list[Any]:
        return [SaleorOnly.from_parent(self, name="needs_saleor")]


class SaleorOnly(pytest.Item):
    """Stands for a module of Saleor tests, and skips saying why."""

    def runtest(self) -> None:
        pytest.skip(saleor_environment_problem() or "")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if saleor_environment_problem() is None:
        return None
    return SkippedModule.from_parent(parent, path=module_path)


if saleor_environment_problem() is None:
    import django.test
    from saleor.tests.utils import prepare_test_db_connections

    # Saleor's fixtures, as Saleor's own root conftest registers them. pytest accepts
    # `pytest_plugins` here because this conftest is loaded before collection whenever
    # tests/saleor (or a file in it) is named on the command line.
    pytest_plugins = [
        "saleor.tests.fixtures",
        "saleor.app.tests.fixtures",
        "saleor.plugins.tests.fixtures",
        "saleor.graphql.tests.fixtures",
        "saleor.webhook.tests.fixtures",
        "saleor.tax.tests.fixtures",
        "saleor.channel.tests.fixtures",
        "saleor.page.tests.fixtures",
        "saleor.menu.tests.fixtures",
        "saleor.warehouse.tests.fixtures",
        "saleor.thumbnail.tests.fixtures",
        "saleor.order.tests.fixtures",
        "saleor.product.tests.fixtures",
        "saleor.site.tests.fixtures",
        "saleor.shipping.tests.fixtures",
        "saleor.permission.tests.fixtures",
        "saleor.giftcard.tests.fixtures",
        "saleor.discount.tests.fixtures",
        "saleor.checkout.tests.fixtures",
        "saleor.attribute.tests.fixtures",
        "saleor.account.tests.fixtures",
        "saleor.graphql.account.tests.fixtures",
        "saleor.payment.tests.fixtures",
        "saleor.webhook.tests.circuit_breaker.fixtures",
    ]

    # Saleor reads through a replica connection; in tests it is the writer's connection under
    # a second alias, and test cases may use both.
    django.test.TransactionTestCase.databases = {
        django_settings.DATABASE_CONNECTION_DEFAULT_NAME,
        django_settings.DATABASE_CONNECTION_REPLICA_NAME,
    }
    django.test.TestCase.databases = django.test.TransactionTestCase.databases
    prepare_test_db_connections()

PLUGIN_PATH = "saleor_sms_plugin.plugin.SmsPlugin"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """SMS_SALEOR_TEST_DATABASE_NAME names the test database (default: Django's test_<name>)."""
    name = os.environ.get("SMS_SALEOR_TEST_DATABASE_NAME")
    if name:
        default = django_settings.DATABASES[django_settings.DATABASE_CONNECTION_DEFAULT_NAME]
        default.setdefault("TEST", {})["NAME"] = name


@pytest.fixture(autouse=True)
def sms_plugin_installed(settings: Any) -> None:
    """Saleor's test settings list no plugins; install ours as its entry point does."""
    settings.PLUGINS = [PLUGIN_PATH]


@pytest.fixture
def staff_api_client_can_manage_plugins(
    staff_api_client: Any, permission_manage_plugins: Any
) -> Any:
    staff_api_client.user.user_permissions.add(permission_manage_plugins)
    return staff_api_client


@pytest.fixture
def configure_sms(db: None) -> Callable[..., Any]:
    """Store the plugin's configuration for a channel, as the Dashboard's save does."""
    from saleor.plugins.manager import get_plugins_manager

    from saleor_sms_plugin import conf

    from ..conftest import channel_values

    def configure(channel: Any, *, active: bool = True, **overrides: Any) -> Any:
        values = channel_values(**overrides)
        manager = get_plugins_manager(allow_replica=False)
        return manager.save_plugin_configuration(
            conf.PLUGIN_ID,
            channel.slug,
            {
                "active": active,
                "configuration": [{"name": name, "value": value} for name, value in values.items()],
            },
        )

    return configure


MOBILE = "+48600100200"


@pytest.fixture
def order_with_mobile(order_with_lines: Any) -> Any:
    """Saleor's order fixture, its addresses given a mobile number (Saleor's is a landline)."""
    for address in (order_with_lines.billing_address, order_with_lines.shipping_address):
        address.phone = MOBILE
        address.save(update_fields=["phone"])
    return order_with_lines


@pytest.fixture
def variant_id(product: Any) -> str:
    import graphene

    return graphene.Node.to_global_id("ProductVariant", product.variants.first().pk)


@pytest.fixture
def offers_in(configure_sms: Any, settings: Any) -> Any:
    """Configure the plugin in a channel with offers (keyword arguments: other values);
    texts go to the in-memory backend."""
    import json

    from saleor_sms_plugin import conf
    from saleor_sms_plugin.constants import Flow

    from ..conftest import CHECKOUT_URL_TEMPLATE

    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"

    def configure(channel: Any, *offers: dict[str, Any], **values: Any) -> None:
        # As many offer texts as the offers cover: a save refuses a text without its offer.
        steps = max((offer.get("step") or 1 for offer in offers), default=1)
        configure_sms(
            channel,
            **{
                conf.flow_switch(Flow.ORDER_CONFIRMATION): False,
                conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
                conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
                conf.OFFER_DELAYS_MINUTES: ", ".join(str(m) for m in (15, 180, 1200)[:steps]),
                conf.PUBLIC_BASE_URL: "https://api.example.com",
                conf.CHECKOUT_URL_TEMPLATE: CHECKOUT_URL_TEMPLATE,
                conf.OFFERS: json.dumps(list(offers)),
                **values,
            },
        )

    return configure


PHONE = "+12015550123"

CHECKOUT_CREATE = """
mutation ($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout { id shippingMethods { id } }
    errors { field message }
  }
}
"""
DELIVERY_METHOD_UPDATE = """
mutation ($id: ID!, $method: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) { errors { field message } }
}
"""
CHECKOUT_COMPLETE = """
mutation ($id: ID!) {
  checkoutComplete(id: $id) { order { id number } errors { field message code } }
}
"""


def shopper_address(phone: str = PHONE) -> dict[str, str]:
    return {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "streetAddress1": "1600 Amphitheatre Pkwy",
        "city": "Mountain View",
        "postalCode": "94043",
        "country": "US",
        "countryArea": "CA",
        "phone": phone,
    }


@pytest.fixture
def place_order(
    api_client: Any,
    channel_USD: Any,
    product: Any,
    shipping_method: Any,
) -> Any:
    """Check out as a shopper does: create, choose delivery, complete (unpaid orders allowed)."""
    import graphene
    from saleor.graphql.tests.utils import get_graphql_content
    from saleor.order.models import Order

    channel_USD.allow_unpaid_orders = True
    channel_USD.save(update_fields=["allow_unpaid_orders"])
    variant_id = graphene.Node.to_global_id("ProductVariant", product.variants.first().pk)

    def place(phone: str = PHONE, metadata: dict[str, str] | None = None) -> Any:
        created = get_graphql_content(
            api_client.post_graphql(
                CHECKOUT_CREATE,
                {
                    "input": {
                        "channel": channel_USD.slug,
                        "email": "ada@example.com",
                        "lines": [{"variantId": variant_id, "quantity": 1}],
                        "shippingAddress": shopper_address(phone),
                        "billingAddress": shopper_address(phone),
                        "metadata": [
                            {"key": key, "value": value} for key, value in (metadata or {}).items()
                        ],
                    }
                },
            )
        )["data"]["checkoutCreate"]
        assert created["errors"] == []
        checkout = created["checkout"]
        updated = get_graphql_content(
            api_client.post_graphql(
                DELIVERY_METHOD_UPDATE,
                {"id": checkout["id"], "method": checkout["shippingMethods"][0]["id"]},
            )
        )["data"]["checkoutDeliveryMethodUpdate"]
        assert updated["errors"] == []
        # Saleor runs the order hooks when the order's transaction commits; its test client
        # runs what was deferred to the commit once the request is answered.
        completed = get_graphql_content(
            api_client.post_graphql(CHECKOUT_COMPLETE, {"id": checkout["id"]})
        )["data"]["checkoutComplete"]
        assert completed["errors"] == []
        return Order.objects.get(number=completed["order"]["number"])

    return place
