"""The Dashboard's save refuses offers the store cannot honour, naming the field and the offer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from saleor.graphql.tests.utils import get_graphql_content

from saleor_sms_plugin import conf

from ..conftest import CHECKOUT_URL_TEMPLATE
from .test_checkout_links import PLUGIN_UPDATE, gid, offer

pytestmark = pytest.mark.django_db


def save_offers(client: Any, channel: Any, *offers: dict[str, Any]) -> list[dict[str, Any]]:
    """Save offers through the Dashboard's mutation; returns its errors."""
    configuration = {
        conf.PUBLIC_BASE_URL: "https://api.example.com",
        conf.CHECKOUT_URL_TEMPLATE: CHECKOUT_URL_TEMPLATE,
        conf.OFFERS: json.dumps(list(offers)),
    }
    content = get_graphql_content(
        client.post_graphql(
            PLUGIN_UPDATE,
            {
                "id": conf.PLUGIN_ID,
                "channel": gid("Channel", channel.pk),
                "configuration": [{"name": k, "value": v} for k, v in configuration.items()],
            },
        )
    )
    return content["data"]["pluginUpdate"]["errors"]


def offers_error(errors: list[dict[str, Any]]) -> str:
    [error] = errors
    assert error["field"] == "offers"
    return error["message"]


def test_an_offer_the_store_can_honour_is_saved(
    staff_api_client_can_manage_plugins, channel_USD, voucher, product
):
    code = voucher.codes.first().code
    variant = gid("ProductVariant", product.variants.first().pk)
    errors = save_offers(
        staff_api_client_can_manage_plugins,
        channel_USD,
        offer(voucher_code=code),
        offer(id="tee", step=2, kind="products", voucher_code=code, products=[variant]),
        offer(id="own", step=3, voucher_code="", voucher_id=gid("Voucher", voucher.pk)),
    )

    assert errors == []


def test_a_voucher_code_that_does_not_exist_is_refused(
    staff_api_client_can_manage_plugins, channel_USD
):
    errors = save_offers(
        staff_api_client_can_manage_plugins, channel_USD, offer(voucher_code="NOSUCHCODE")
    )

    assert "offer 1 ('thanks'): voucher code 'NOSUCHCODE' does not exist" in offers_error(errors)


def test_an_inactive_voucher_code_is_refused(
    staff_api_client_can_manage_plugins, channel_USD, voucher
):
    code = voucher.codes.first()
    code.is_active = False
    code.save(update_fields=["is_active"])

    errors = save_offers(
        staff_api_client_can_manage_plugins, channel_USD, offer(voucher_code=code.code)
    )

    assert f"voucher code '{code.code}' is not active" in offers_error(errors)


def test_a_voucher_that_has_ended_is_refused(
    staff_api_client_can_manage_plugins, channel_USD, voucher
):
    voucher.end_date = timezone.now() - timedelta(days=1)
    voucher.save(update_fields=["end_date"])
    code = voucher.codes.first().code

    errors = save_offers(staff_api_client_can_manage_plugins, channel_USD, offer(voucher_code=code))

    assert f"voucher code '{code}' is not active" in offers_error(errors)


def test_a_voucher_not_available_in_the_channel_is_refused(
    staff_api_client_can_manage_plugins, channel_PLN, voucher
):
    code = voucher.codes.first().code

    errors = save_offers(staff_api_client_can_manage_plugins, channel_PLN, offer(voucher_code=code))

    assert (
        f"voucher code '{code}' is not available in channel '{channel_PLN.slug}'"
        in offers_error(errors)
    )


def test_a_voucher_to_draw_codes_from_must_exist(staff_api_client_can_manage_plugins, channel_USD):
    missing = gid("Voucher", 999999)
    errors = save_offers(
        staff_api_client_can_manage_plugins,
        channel_USD,
        offer(voucher_code="", voucher_id=missing),
    )

    assert f"voucher '{missing}' does not exist" in offers_error(errors)


def test_a_product_not_published_in_the_channel_is_refused(
    staff_api_client_can_manage_plugins, channel_USD, voucher, product
):
    product.channel_listings.filter(channel=channel_USD).update(is_published=False)
    ref = gid("Product", product.pk)

    errors = save_offers(
        staff_api_client_can_manage_plugins,
        channel_USD,
        offer(kind="products", voucher_code=voucher.codes.first().code, products=[ref]),
    )

    assert f"product '{ref}' is not published in channel '{channel_USD.slug}'" in offers_error(
        errors
    )


def test_a_variant_that_does_not_exist_is_refused(
    staff_api_client_can_manage_plugins, channel_USD, voucher
):
    ref = gid("ProductVariant", 999999)

    errors = save_offers(
        staff_api_client_can_manage_plugins,
        channel_USD,
        offer(kind="products", voucher_code=voucher.codes.first().code, products=[ref]),
    )

    assert f"variant '{ref}' does not exist" in offers_error(errors)
