"""Offers as the admin writes them: parsed, attached to flow steps, refused with precise reasons."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from saleor_sms_plugin import conf
from saleor_sms_plugin.offers import (
    DiscountType,
    OfferKind,
    OfferProblem,
    discounted,
    offer_for,
    parse_offers,
)

from ..conftest import OFFERS, channel_values, offer_channel_values

DOCS = Path(__file__).resolve().parents[2] / "docs" / "offers.md"
VOUCHER = {
    "id": "thanks15",
    "flow": "post_purchase_offer",
    "kind": "voucher",
    "discount_type": "percentage",
    "discount_value": 15,
    "voucher_code": "THANKS15",
}


def problem(*offers):
    with pytest.raises(OfferProblem) as raised:
        parse_offers(json.dumps(list(offers)))
    return str(raised.value)


def test_offers_parse_from_json_with_their_kinds_discounts_and_voucher_sources():
    thanks, pick, mug = parse_offers(json.dumps(OFFERS))

    assert (thanks.kind, thanks.discount_type, thanks.discount_value) == (
        OfferKind.VOUCHER,
        DiscountType.PERCENTAGE,
        Decimal(15),
    )
    assert (thanks.voucher_code, thanks.unique_codes) == ("THANKS15", False)
    assert (pick.kind, pick.unique_codes, len(pick.products)) == (OfferKind.CHOICE, True, 3)
    assert (mug.discount_value, mug.lifetime_days) == (Decimal(5), 1)


def test_an_empty_field_means_no_offers():
    assert parse_offers("") == ()
    assert parse_offers("  ") == ()
    assert parse_offers("[]") == ()


def test_a_step_takes_its_own_offer_before_the_flows_offer_for_every_step():
    offers = parse_offers(
        json.dumps(
            [
                {**VOUCHER, "id": "every", "flow": "win_back"},
                {**VOUCHER, "id": "second", "flow": "win_back", "step": 2},
            ]
        )
    )

    assert offer_for(offers, "win_back", 2).id == "second"
    assert offer_for(offers, "win_back", 7).id == "every"
    assert offer_for(offers, "post_purchase_offer", 1) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "gift"}, "kind must be one of 'voucher', 'products', 'choice', 'mystery'"),
        ({"flow": "order_confirmation"}, "flow must be one of 'post_purchase_offer'"),
        ({"discount_value": 120}, "discount_value must be at most 100 for a percentage"),
        ({"discount_value": "abc"}, "discount_value must be a number greater than 0"),
        ({"discount_value": 0}, "discount_value must be a number greater than 0"),
        ({"discount_value": True}, "discount_value must be a number greater than 0"),
        ({"step": 4}, "step must be from 1 to 3 for post_purchase_offer"),
        ({"step": "1"}, "step must be a whole number"),
        ({"voucher_id": "Vm91Y2hlcjox"}, "give either voucher_code"),
        ({"products": ["UHJvZHVjdDox"]}, "products must be left out for a store-wide voucher"),
        ({"lifetime_days": 0}, "lifetime_days must be a whole number from 1 to 365"),
        ({"id": "no spaces"}, "id must be 1 to 64 letters, digits, '-' or '_'"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_offer_and_the_key(change, message):
    text = problem({**VOUCHER, **change})

    assert text.startswith("offer 1")
    assert message in text


def test_a_missing_voucher_source_is_refused():
    offer = {key: value for key, value in VOUCHER.items() if key != "voucher_code"}

    assert "give either voucher_code" in problem(offer)


def test_free_shipping_needs_no_value_and_refuses_one():
    free = {**VOUCHER, "discount_type": "free_shipping"}
    del free["discount_value"]

    [offer] = parse_offers(json.dumps([free]))

    assert offer.discount_value == 0
    assert "left out for free shipping" in problem({**free, "discount_value": 5})


def test_product_offers_need_products_and_a_choice_two_to_six():
    choice = {**VOUCHER, "kind": "choice"}

    assert "products must be a list" in problem(choice)
    assert "2 to 6 products for a choice" in problem({**choice, "products": ["a"]})
    assert "2 to 6 products" in problem({**choice, "products": list("abcdefg")})
    assert "must not repeat" in problem({**choice, "products": ["a", "a"]})
    assert parse_offers(json.dumps([{**VOUCHER, "kind": "mystery", "products": ["a"]}]))


def test_the_second_offer_is_named_by_its_position_and_id():
    text = problem(VOUCHER, {**VOUCHER, "id": "later", "discount_type": "half"})

    assert text.startswith("offer 2 ('later'): discount_type must be one of")


def test_two_offers_on_one_step_or_one_id_twice_are_refused():
    assert "two offers are attached to post_purchase_offer (every step)" in problem(
        VOUCHER, {**VOUCHER, "id": "other"}
    )
    assert "offer id 'thanks15' is used twice" in problem(
        {**VOUCHER, "step": 1}, {**VOUCHER, "step": 2}
    )


def test_text_that_is_not_a_json_list_is_refused_with_the_place_of_the_error():
    with pytest.raises(OfferProblem, match="must be a JSON list of offers: .* line 1, column"):
        parse_offers('[{"id": }]')
    with pytest.raises(OfferProblem, match="must be a JSON list of offers"):
        parse_offers('{"id": "x"}')


def test_loyalty_invites_take_one_offer_without_a_step():
    assert "step must be left out: loyalty_invite has a single text" in problem(
        {**VOUCHER, "flow": "loyalty_invite", "step": 1}
    )


def test_the_configuration_names_the_offers_field_when_it_is_wrong():
    values = channel_values(**offer_channel_values(**{conf.OFFERS: '[{"id": "x"}]'}))

    with pytest.raises(conf.ConfigurationError) as raised:
        conf.parse_values(values)

    assert raised.value.errors == {
        conf.OFFERS: "Offers · Offer list (JSON): offer 1 ('x'): flow must be one of "
        "'post_purchase_offer', 'win_back', 'loyalty_invite'"
    }


def test_offers_need_a_public_base_url_and_a_checkout_url():
    values = channel_values(
        **offer_channel_values(**{conf.PUBLIC_BASE_URL: "", conf.CHECKOUT_URL_TEMPLATE: ""})
    )

    with pytest.raises(conf.ConfigurationError) as raised:
        conf.parse_values(values)

    assert raised.value.errors == {
        conf.PUBLIC_BASE_URL: "Connection · Public base URL is required when "
        "Offers · Offer list (JSON) is filled in",
        conf.CHECKOUT_URL_TEMPLATE: "Connection · Storefront checkout URL is required when "
        "Offers · Offer list (JSON) is filled in",
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://shop.example.com/checkout", "must contain {checkout_id}"),
        ("shop.example.com/{checkout_id}", "must be an absolute http(s) URL"),
        ("https://shop.example.com/{checkout}", "unknown placeholder {checkout}"),
    ],
)
def test_the_checkout_url_must_name_the_checkout(template, message):
    values = channel_values(**offer_channel_values(**{conf.CHECKOUT_URL_TEMPLATE: template}))

    with pytest.raises(conf.ConfigurationError) as raised:
        conf.parse_values(values)

    assert message in raised.value.errors[conf.CHECKOUT_URL_TEMPLATE]


def test_offered_prices_take_percentages_and_fixed_amounts_off_never_below_zero():
    [percent, fixed] = parse_offers(
        json.dumps(
            [
                {**VOUCHER, "step": 1},
                {**VOUCHER, "id": "b", "step": 2, "discount_type": "fixed", "discount_value": 25},
            ]
        )
    )

    assert discounted(Decimal("19.99"), percent) == Decimal("16.99")
    assert discounted(Decimal("19.99"), fixed) == Decimal(0)


def test_every_example_in_the_offers_documentation_is_valid():
    examples = re.findall(r"```json\n(.*?)```", DOCS.read_text("utf-8"), re.S)

    assert examples
    for example in examples:
        assert parse_offers(example)
