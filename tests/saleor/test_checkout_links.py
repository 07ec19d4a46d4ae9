"""Offer links in a real Saleor: the click makes a Saleor checkout with the order's details,
the offer's products and the voucher in its total; an order from it is the text's conversion."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import graphene
import pytest
from django.utils import timezone
from saleor.checkout.models import Checkout
from saleor.discount.models import VoucherCode
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order.models import Order

from saleor_sms_plugin import conf, handlers, links
from saleor_sms_plugin.checkouts import Discount, get_gateway
from saleor_sms_plugin.composing import compose
from saleor_sms_plugin.conf import get_channel_settings
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.events import AddressSnapshot
from saleor_sms_plugin.models import Conversion, Message, OfferLink
from saleor_sms_plugin.offers import DiscountType
from saleor_sms_plugin.saleor_bridge import SaleorCheckoutGateway

from ..conftest import CHECKOUT_URL_TEMPLATE, STOREFRONT, make_order

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
LINK_RE = re.compile(r"https://api\.example\.com(/plugins/channel/\S+/l/[A-Za-z0-9_-]{32})")
ADDRESS = AddressSnapshot(
    first_name="Ada",
    last_name="Lovelace",
    phone="+12015550123",
    country="US",
    country_area="CA",
    city="Mountain View",
    postal_code="94043",
    street_address_1="1600 Amphitheatre Pkwy",
)
CHECKOUT = """
query ($id: ID!) {
  checkout(id: $id) {
    email languageCode voucherCode
    discount { amount }
    subtotalPrice { gross { amount } }
    totalPrice { gross { amount currency } }
    lines { quantity variant { id } }
    shippingAddress { firstName lastName streetAddress1 city postalCode countryArea phone
                      country { code } }
    billingAddress { firstName lastName streetAddress1 city postalCode phone country { code } }
    metadata { key value }
    shippingMethods { id }
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


def gid(kind: str, pk: Any) -> str:
    return graphene.Node.to_global_id(kind, pk)


def read_checkout(api_client: Any, checkout_id: str) -> dict[str, Any]:
    data = get_graphql_content(api_client.post_graphql(CHECKOUT, {"id": checkout_id}))
    return data["data"]["checkout"]


def offer(**values: Any) -> dict[str, Any]:
    return {
        "id": "thanks",
        "flow": "post_purchase_offer",
        "step": 1,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 10,
        "voucher_code": "saleor",
        **values,
    }


def offer_text(channel: Any) -> tuple[Message, str]:
    """An order with a US mobile number and consent; its first offer written: (message, path)."""
    order = dataclasses.replace(
        make_order(
            channel_slug=channel.slug,
            country="US",
            language_code="en",
            email="ada@example.com",
            metadata={"sms_marketing_consent": "true"},
        ),
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
    )
    handlers.on_order_placed(order)
    message = Message.objects.select_related("recipient").get(order_id=order.id, step=1)
    draft = compose(message, get_channel_settings(channel.slug))
    match = LINK_RE.search(draft.body)
    assert match, draft.body
    return message, match.group(1)


def test_the_gateway_creates_a_checkout_with_addresses_lines_language_and_the_voucher(
    api_client, channel_USD, variant_id, voucher_percentage
):
    ref = SaleorCheckoutGateway().create_checkout(
        channel_USD.slug,
        email="ada@example.com",
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        language="pl",
        lines=[variant_id],
        voucher_code="saleor",
        metadata={"sms_link": "key", "sms_message_id": "7", "sms_flow": "post_purchase_offer"},
    )

    checkout = read_checkout(api_client, ref.id)
    assert ref.id == gid("Checkout", ref.token)
    assert checkout["email"] == "ada@example.com"
    assert checkout["languageCode"] == "PL"
    assert checkout["lines"] == [{"quantity": 1, "variant": {"id": variant_id}}]
    for address in (checkout["shippingAddress"], checkout["billingAddress"]):
        assert address["firstName"] == "Ada"
        assert address["lastName"] == "Lovelace"
        assert address["streetAddress1"] == "1600 Amphitheatre Pkwy"
        assert address["postalCode"] == "94043"
        assert address["country"] == {"code": "US"}
        assert address["phone"] == "+12015550123"
    assert checkout["voucherCode"] == "saleor"
    # The product costs 10.00; the voucher takes 10 % off the total.
    assert checkout["subtotalPrice"]["gross"]["amount"] == 9.0
    assert checkout["discount"]["amount"] == 1.0
    assert checkout["totalPrice"]["gross"] == {"amount": 9.0, "currency": "USD"}
    assert {item["key"]: item["value"] for item in checkout["metadata"]} == {
        "sms_link": "key",
        "sms_message_id": "7",
        "sms_flow": "post_purchase_offer",
    }


def test_a_voucher_that_cannot_apply_is_left_off_and_the_checkout_still_made(
    api_client, channel_USD, variant_id, voucher_with_high_min_spent_amount
):
    ref = SaleorCheckoutGateway().create_checkout(
        channel_USD.slug, "ada@example.com", ADDRESS, ADDRESS, "en", [variant_id], "mirumee", {}
    )

    checkout = read_checkout(api_client, ref.id)
    assert checkout["voucherCode"] is None
    assert checkout["totalPrice"]["gross"]["amount"] == 10.0


def test_a_product_stands_for_its_default_variant_and_unsellable_products_are_left_out(
    api_client, channel_USD, product, product_list, variant_id
):
    hidden = product_list[0]
    hidden.channel_listings.update(is_published=False)
    ref = SaleorCheckoutGateway().create_checkout(
        channel_USD.slug,
        "ada@example.com",
        ADDRESS,
        ADDRESS,
        "en",
        [gid("Product", product.pk), gid("Product", hidden.pk), "not an id"],
        "",
        {},
    )

    checkout = read_checkout(api_client, ref.id)
    assert checkout["lines"] == [{"quantity": 1, "variant": {"id": variant_id}}]


def test_a_click_through_saleors_plugin_route_opens_the_prefilled_checkout(
    client, api_client, channel_USD, offers_in, voucher_percentage, variant_id
):
    offers_in(channel_USD, offer(kind="products", products=[variant_id]))
    message, path = offer_text(channel_USD)

    response = client.get(path, HTTP_USER_AGENT=IPHONE)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert response["Location"].startswith(f"{STOREFRONT}/{channel_USD.slug}/en/checkout?")
    [checkout_id] = parse_qs(location.query)["checkout"]
    checkout = read_checkout(api_client, checkout_id)
    order = message.context["order"]
    assert checkout["email"] == order["email"]
    assert (
        checkout["shippingAddress"]["streetAddress1"]
        == order["shipping_address"]["street_address_1"]
    )
    assert checkout["lines"] == [{"quantity": 1, "variant": {"id": variant_id}}]
    assert checkout["voucherCode"] == "saleor"
    assert checkout["totalPrice"]["gross"]["amount"] == 9.0
    link = OfferLink.objects.get(message=message)
    assert {item["key"]: item["value"] for item in checkout["metadata"]} == {
        links.METADATA_LINK: link.key,
        links.METADATA_MESSAGE: str(message.pk),
        links.METADATA_FLOW: Flow.POST_PURCHASE_OFFER.value,
    }
    assert client.get(path, HTTP_USER_AGENT=IPHONE)["Location"] == response["Location"]
    assert Checkout.objects.count() == 1


def test_each_recipient_gets_a_new_code_of_the_offers_voucher_applied_to_the_total(
    client, api_client, channel_USD, offers_in, voucher_percentage, variant_id
):
    offers_in(
        channel_USD,
        offer(
            kind="products",
            products=[variant_id],
            voucher_code="",
            voucher_id=gid("Voucher", voucher_percentage.pk),
        ),
    )
    message, path = offer_text(channel_USD)

    code = OfferLink.objects.get(message=message).voucher_code
    assert VoucherCode.objects.get(code=code).voucher == voucher_percentage
    assert code in message_body(message)
    location = client.get(path, HTTP_USER_AGENT=IPHONE)["Location"]
    checkout = read_checkout(api_client, parse_qs(urlsplit(location).query)["checkout"][0])
    assert checkout["voucherCode"] == code
    assert checkout["totalPrice"]["gross"]["amount"] == 9.0


def message_body(message: Message) -> str:
    return compose(message, get_channel_settings(message.channel_slug)).body


def test_the_choice_page_shows_saleors_prices_with_the_offer(
    client, channel_USD, offers_in, voucher_percentage, product, product_list
):
    refs = [gid("ProductVariant", p.variants.first().pk) for p in (product, product_list[0])]
    offers_in(channel_USD, offer(kind="choice", discount_value=10, products=refs))
    _, path = offer_text(channel_USD)

    page = client.get(client.get(path, HTTP_USER_AGENT=IPHONE)["Location"].split(".com", 1)[1])

    html = page.content.decode()
    assert page.status_code == 200
    assert product.name in html
    assert product_list[0].name in html
    assert "$9.00" in html  # 10.00 less 10 %


def test_offered_products_carry_the_channels_prices(channel_USD, product):
    ref = gid("Product", product.pk)

    [offered] = SaleorCheckoutGateway().offered_products(
        channel_USD.slug, [ref], Discount(DiscountType.FIXED, Decimal("2.50"))
    )

    assert (offered.ref, offered.currency) == (ref, "USD")
    assert (offered.price, offered.offered_price) == (Decimal("10.000"), Decimal("7.500"))
    assert offered.name == product.name


def test_the_gateway_inside_saleor_is_saleors():
    assert isinstance(get_gateway(), SaleorCheckoutGateway)


def test_an_order_completed_from_the_links_checkout_is_the_texts_conversion(
    client,
    api_client,
    channel_USD,
    offers_in,
    voucher_percentage,
    variant_id,
    shipping_method,
):
    channel_USD.allow_unpaid_orders = True
    channel_USD.save(update_fields=["allow_unpaid_orders"])
    offers_in(channel_USD, offer(kind="products", products=[variant_id]), offer(id="later", step=2))
    message, path = offer_text(channel_USD)
    location = client.get(path, HTTP_USER_AGENT=IPHONE)["Location"]
    checkout_id = parse_qs(urlsplit(location).query)["checkout"][0]
    method = read_checkout(api_client, checkout_id)["shippingMethods"][0]["id"]
    get_graphql_content(
        api_client.post_graphql(DELIVERY_METHOD_UPDATE, {"id": checkout_id, "method": method})
    )

    completed = get_graphql_content(
        api_client.post_graphql(CHECKOUT_COMPLETE, {"id": checkout_id})
    )["data"]["checkoutComplete"]

    assert completed["errors"] == []
    order = Order.objects.get(number=completed["order"]["number"])
    assert order.metadata[links.METADATA_LINK] == OfferLink.objects.get(message=message).key
    message.refresh_from_db()
    assert message.converted_at is not None
    assert timezone.now() - message.converted_at < timedelta(minutes=1)
    assert message.revenue == order.total_gross_amount
    assert message.revenue_currency == "USD"
    assert Conversion.objects.get().order_id == str(order.id)
    later = Message.objects.get(order_id=message.order_id, step=2)
    assert (later.status, later.reason) == ("cancelled", "converted")


PLUGIN_UPDATE = """
mutation ($id: ID!, $channel: ID, $configuration: [ConfigurationItemInput!]) {
  pluginUpdate(id: $id, channelId: $channel, input: {active: true, configuration: $configuration}) {
    errors { field code message }
  }
}
"""


def test_the_dashboard_save_refuses_a_wrong_offer_naming_the_field_and_the_offer(
    staff_api_client_can_manage_plugins, channel_USD
):
    configuration = {
        conf.PUBLIC_BASE_URL: "https://api.example.com",
        conf.CHECKOUT_URL_TEMPLATE: CHECKOUT_URL_TEMPLATE,
        conf.OFFERS: json.dumps([offer(), offer(id="pick", step=2, kind="choice")]),
    }

    content = get_graphql_content(
        staff_api_client_can_manage_plugins.post_graphql(
            PLUGIN_UPDATE,
            {
                "id": conf.PLUGIN_ID,
                "channel": gid("Channel", channel_USD.pk),
                "configuration": [{"name": k, "value": v} for k, v in configuration.items()],
            },
        )
    )

    [error] = content["data"]["pluginUpdate"]["errors"]
    assert error["field"] == "offers"
    assert error["code"] == "INVALID"
    assert "offer 2 ('pick'): products must be a list" in error["message"]
