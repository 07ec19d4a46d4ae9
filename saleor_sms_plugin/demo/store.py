"""The demo's store: two channels configured as an admin would, and what the store sells.

The configuration goes through the checks the Dashboard runs when an admin saves it (values,
offers against the store's vouchers and products), so the demo shows a configuration a store
could really save. Products and vouchers live in the in-memory checkout gateway, which stands
in for Saleor's checkouts where no Saleor runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import checkouts, conf
from ..constants import Flow
from ..offers import DiscountType, parse_offers

SHOP_NAME = "Acme Outfitters"
ACCOUNT_SID = "AC" + "de60" * 8
AUTH_TOKEN = "demo" * 8
SENDER = "+14155550100"
STOREFRONT = "https://shop.example.com"
CHECKOUT_URL = STOREFRONT + "/{channel}/{language}/checkout?checkout={checkout_id}"
TRACKING_URL = "https://track.example.com/{tracking_number}"


@dataclass(frozen=True)
class Channel:
    slug: str
    country: str
    currency: str
    # What the provider charges per segment to the channel's numbers (USD), for the figures.
    price_per_segment: str
    # The channel's choice: the thank-you as a text of its own an hour later, or on the
    # confirmation.
    thank_you_with_confirmation: bool


US = Channel("default-channel", "US", "USD", "0.0083", thank_you_with_confirmation=False)
PL = Channel("channel-pln", "PL", "PLN", "0.0490", thank_you_with_confirmation=True)
CHANNELS = (US, PL)


@dataclass(frozen=True)
class Product:
    ref: str
    name: str
    prices: dict[str, Decimal]


PRODUCTS = {
    product.ref: product
    for product in (
        Product("linen-shirt", "Linen shirt", {"USD": Decimal("45.00"), "PLN": Decimal("179.00")}),
        Product("canvas-tote", "Canvas tote", {"USD": Decimal("14.90"), "PLN": Decimal("70.00")}),
        Product("merino-socks", "Merino socks", {"USD": Decimal("19.00"), "PLN": Decimal("79.00")}),
        Product("rain-jacket", "Rain jacket", {"USD": Decimal("89.00"), "PLN": Decimal("349.00")}),
    )
}

VOUCHERS = {"THANKS15": 15, "SOCKS20": 20, "LAST10": 10, "COMEBACK10": 10}

OFFERS: list[dict[str, Any]] = [
    {
        "id": "thanks15",
        "flow": Flow.POST_PURCHASE_OFFER.value,
        "step": 1,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 15,
        "voucher_code": "THANKS15",
    },
    {
        "id": "socks20",
        "flow": Flow.POST_PURCHASE_OFFER.value,
        "step": 2,
        "kind": "products",
        "discount_type": "percentage",
        "discount_value": 20,
        "voucher_code": "SOCKS20",
        "products": ["merino-socks"],
    },
    {
        "id": "last10",
        "flow": Flow.POST_PURCHASE_OFFER.value,
        "step": 3,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 10,
        "voucher_code": "LAST10",
        "lifetime_days": 1,
    },
    {
        "id": "comeback",
        "flow": Flow.WIN_BACK.value,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 10,
        "voucher_code": "COMEBACK10",
    },
]

FLOWS_ON = (
    Flow.ORDER_CONFIRMATION,
    Flow.OPT_IN_CONFIRMATION,
    Flow.THANK_YOU,
    Flow.POST_PURCHASE_OFFER,
    Flow.SHIPPING_CONFIRMATION,
    Flow.REVIEW_REQUEST,
    Flow.WIN_BACK,
)


def stock() -> None:
    """Put the products and vouchers in the in-memory gateway (this process's memory)."""
    store = checkouts.store
    store.clear()
    for product in PRODUCTS.values():
        store.add_product(checkouts.CatalogueProduct(product.ref, product.name, product.prices))
    for code, percent in VOUCHERS.items():
        store.vouchers[code] = checkouts.Discount(DiscountType.PERCENTAGE, Decimal(percent))
    store.channel_currencies.update({channel.slug: channel.currency for channel in CHANNELS})


def configure(public_base_url: str, link_host: str) -> None:
    """Save each channel's configuration, refused as the Dashboard would refuse it."""
    from ..models import ChannelConfiguration

    for channel in CHANNELS:
        values = channel_values(channel, public_base_url, link_host)
        conf.validate_values(values)
        problems = checkouts.offers_problems(channel.slug, parse_offers(values[conf.OFFERS]))
        if problems:
            raise conf.ConfigurationError({conf.OFFERS: "; ".join(problems)})
        ChannelConfiguration.objects.update_or_create(
            channel_slug=channel.slug,
            defaults={
                "active": True,
                "values": values,
                "shop_name": SHOP_NAME,
                "default_country": channel.country,
                "currency": channel.currency,
            },
        )


def channel_values(channel: Channel, public_base_url: str, link_host: str) -> dict[str, Any]:
    """What an admin enters in the Dashboard for one channel of the demo store."""
    return {
        conf.ACCOUNT_SID: ACCOUNT_SID,
        conf.AUTH_TOKEN: AUTH_TOKEN,
        conf.SENDER: SENDER,
        conf.PUBLIC_BASE_URL: public_base_url,
        conf.LINK_HOST: link_host,
        **{conf.flow_switch(flow): True for flow in FLOWS_ON},
        conf.THANK_YOU_WITH_CONFIRMATION: channel.thank_you_with_confirmation,
        conf.WIN_BACK_MAX_TEXTS: "2",
        conf.TRACKING_URL_TEMPLATE: TRACKING_URL,
        conf.CHECKOUT_URL_TEMPLATE: CHECKOUT_URL,
        conf.STORE_URL: STOREFRONT + "/{channel}/{language}/",
        conf.OFFERS: json.dumps(OFFERS),
        # The click makes the checkout: the in-memory gateway keeps checkouts in the memory of
        # the process that made them, and the shopper's click is served by the demo's own.
        conf.PREPARE_CHECKOUTS: False,
        conf.PRICE_PER_SEGMENT: channel.price_per_segment,
    }


def channel_of(slug: str) -> Channel:
    return next(channel for channel in CHANNELS if channel.slug == slug)
