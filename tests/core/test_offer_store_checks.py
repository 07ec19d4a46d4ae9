"""Offers are checked against the store when the admin saves them (the in-memory store here;
Saleor's in tests/saleor)."""

from decimal import Decimal

from saleor_sms_plugin import checkouts
from saleor_sms_plugin.offers import parse_offers

from ..conftest import MUG_VARIANT, OFFERS, UNIQUE_VOUCHER


def offer(**fields):
    """An offer of a shared voucher code unless `voucher_id` is given."""
    defaults = {
        "id": "spring",
        "flow": "post_purchase_offer",
        "step": 1,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": "15",
    }
    if "voucher_id" not in fields:
        defaults["voucher_code"] = "THANKS15"
    return {**defaults, **fields}


def test_offers_the_store_can_honour_have_no_problems(checkout_store):
    assert checkouts.offers_problems("default-channel", parse_offers(OFFERS)) == []


def test_a_voucher_code_the_store_does_not_have_is_named_with_its_offer(checkout_store):
    offers = parse_offers([offer(voucher_code="NOSUCHCODE")])

    assert checkouts.offers_problems("default-channel", offers) == [
        "offer 1 ('spring'): voucher code 'NOSUCHCODE' does not exist"
    ]


def test_a_voucher_to_draw_codes_from_must_exist(checkout_store):
    offers = parse_offers([offer(voucher_id="Vm91Y2hlcjo5OQ=="), offer(id="ok", step=2)])
    offers += parse_offers([offer(id="unique", step=3, voucher_id=UNIQUE_VOUCHER)])

    assert checkouts.offers_problems("default-channel", offers) == [
        "offer 1 ('spring'): voucher 'Vm91Y2hlcjo5OQ==' does not exist"
    ]


def test_products_must_exist_and_be_sold_in_the_channel(checkout_store):
    checkout_store.add_product(
        checkouts.CatalogueProduct("UHJvZHVjdFZhcmlhbnQ6OQ==", "Dollar-only", {"USD": Decimal(1)})
    )
    offers = parse_offers(
        [
            offer(
                kind="products",
                products=[MUG_VARIANT, "UHJvZHVjdFZhcmlhbnQ6OTk=", "UHJvZHVjdFZhcmlhbnQ6OQ=="],
            )
        ]
    )

    assert checkouts.offers_problems("channel-pln", offers) == [
        "offer 1 ('spring'): product 'UHJvZHVjdFZhcmlhbnQ6OTk=' does not exist",
        "offer 1 ('spring'): product 'UHJvZHVjdFZhcmlhbnQ6OQ==' is not sold in channel "
        "'channel-pln'",
    ]
