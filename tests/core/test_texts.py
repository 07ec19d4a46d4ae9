"""The shipped texts, language choice, formatting, overrides and segment counting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from saleor_sms_plugin import conf
from saleor_sms_plugin.texts import (
    SHIPPED_LANGUAGES,
    TEXT_KEYS,
    choose_language,
    count_segments,
    format_date,
    format_money,
    render_text,
    sample_variables,
    transliterate,
)
from saleor_sms_plugin.texts.catalogue import LONG_KEYS, texts_of, variant_key

MARKETING_KEYS = frozenset(
    key
    for key in TEXT_KEYS
    if key.startswith(("post_purchase_offer", "win_back", "review", "welcome", "loyalty"))
)


def segment_budget(key: str, encoding: str) -> int:
    """One GSM-7 segment; one more for a link; one more where the alphabet needs UCS-2."""
    return 1 + (key in LONG_KEYS) + (encoding == "UCS-2")


def test_at_least_eighteen_languages_ship_every_text():
    assert len(SHIPPED_LANGUAGES) >= 18
    for language in SHIPPED_LANGUAGES:
        assert set(texts_of(language)) == set(TEXT_KEYS), language


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_every_text_renders_with_sample_data_within_its_segment_budget(language):
    variables = sample_variables(language)
    opt_out = render_text("opt_out_line", language, variables)
    for key in TEXT_KEYS:
        body = render_text(key, language, variables)
        if key in MARKETING_KEYS:
            body = f"{body}\n{opt_out}"
        info = count_segments(body)

        assert "{" not in body, (language, key, body)
        assert info.segments <= segment_budget(key, info.encoding), (language, key, info, body)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_texts_carry_what_the_shopper_needs(language):
    variables = sample_variables(language)

    assert variables["order_number"] in render_text("order_confirmation", language, variables)
    shipping = render_text("shipping_confirmation", language, variables)
    assert variables["tracking_number"] in shipping
    assert variables["tracking_url"] in shipping
    for key in MARKETING_KEYS:
        assert "Acme Outfitters" in render_text(key, language, variables), (language, key)
    assert "STOP" in render_text("opt_out_line", language, variables)
    for key in ("post_purchase_offer_1", "win_back_1"):
        assert variables["offer_link"] in render_text(key, language, variables)


def test_missing_first_name_leaves_no_dangling_comma():
    variables = {**sample_variables("en"), "first_name": ""}

    assert render_text("order_confirmation", "en", variables).startswith(
        "Acme Outfitters: thanks! Order 10482"
    )


def test_win_back_steps_rotate_through_the_variants():
    assert variant_key("win_back_4") == "win_back_1"
    assert variant_key("win_back_5") == "win_back_2"
    variables = sample_variables("de")
    assert render_text("win_back_4", "de", variables) == render_text("win_back_1", "de", variables)


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (("PL", "de", "US"), "pl"),
        (("PT_BR", None, None), "pt-BR"),
        (("pt", None, None), "pt-PT"),
        ((None, "de-AT", "FR"), "de"),
        (("xx", None, "BR"), "pt-BR"),
        ((None, None, "CZ"), "cs"),
        ((None, None, "DK"), "da"),
        ((None, None, "SE"), "sv"),
        ((None, None, "AT"), "de"),
        (("ja", "zh", "JP"), "en"),
        ((None, None, None), "en"),
    ],
)
def test_language_falls_back_from_order_to_customer_to_channel_to_english(candidates, chosen):
    assert choose_language(*candidates) == chosen


def test_prices_and_dates_follow_the_locale():
    assert format_money(Decimal("1234.5"), "EUR", "de") == "1.234,50\xa0€"
    assert format_money(Decimal("59.90"), "USD", "en") == "$59.90"
    assert format_money(Decimal("249"), "PLN", "pl") == "249,00\xa0zł"
    assert format_date(date(2026, 11, 30), "en") == "Nov 30"
    assert format_date(date(2026, 11, 30), "de") == "30. Nov."


# Vectors as Twilio's segment calculator reports them.
@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("Hello world", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),
        ("€" * 81, "GSM-7", 2),
        ("a" * 152 + "€", "GSM-7", 1),
        ("a" * 159 + "[", "GSM-7", 2),
        ("Ä ö ü ß é ñ à £ ¥", "GSM-7", 1),
        ("ż" * 70, "UCS-2", 1),
        ("ż" * 71, "UCS-2", 2),
        ("ż" * 134, "UCS-2", 2),
        ("ż" * 135, "UCS-2", 3),
        ("Thanks 😀", "UCS-2", 1),
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
        ("Açaí", "UCS-2", 1),
    ],
)
def test_segment_counts_match_published_vectors(text, encoding, segments):
    info = count_segments(text)

    assert (info.encoding, info.segments) == (encoding, segments)


def test_extension_characters_are_not_split_across_segments():
    # 152 septets then a two-septet character: the pair moves to the second segment.
    assert count_segments("a" * 152 + "{" + "a" * 8).segments == 2
    assert count_segments("a" * 152 + "{" + "a" * 8).characters == 162


def test_transliteration_keeps_meaning_and_returns_to_gsm7():
    typed = "\u201cHello\u201d \u2013 it\u2019s 50\u00a0% off\u2026"

    assert count_segments(typed).encoding == "UCS-2"
    assert transliterate(typed) == '"Hello" - it\'s 50 % off...'
    assert count_segments(transliterate(typed)).encoding == "GSM-7"


def test_a_valid_override_is_used_instead_of_the_shipped_text():
    values = conf.parse_values(
        {"text_order_confirmation": "{{ shop_name }} got #{{ order_number }}"}
    )
    override = values["text_order_confirmation"]

    text = render_text("order_confirmation", "de", sample_variables("de"), override=override)

    assert text == "Acme Outfitters got #10482"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("Hi {{ fist_name }}", "unknown variable {{ fist_name }}; available: shop_name"),
        ("Order {{ order_number }", "template syntax error"),
        ("{% if first_name %}Hi", "template syntax error"),
        ("{% load static %}Hi", "template syntax error"),
        ("{% now 'Y' %}", "only {{ variables }}"),
        ("{{ tracking_url }}", "unknown variable {{ tracking_url }}"),
    ],
)
def test_broken_overrides_are_rejected_on_save_with_the_field_named(source, problem):
    with pytest.raises(conf.ConfigurationError) as rejected:
        conf.parse_values({"text_order_confirmation": source})

    assert list(rejected.value.errors) == ["text_order_confirmation"]
    assert problem in rejected.value.errors["text_order_confirmation"]


def test_every_text_can_be_overridden_and_the_form_shows_variables_and_segments():
    fields = conf.fields_by_name()

    for key in TEXT_KEYS:
        field = fields[f"text_{key}"]
        assert field.type == conf.FieldType.MULTILINE
        assert "{{ shop_name }}" in field.help_text
        assert "segment(s)" in field.help_text
