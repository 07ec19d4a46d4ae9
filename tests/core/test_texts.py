"""The shipped texts, language choice, formatting, overrides and segment counting."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.template import Context

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.flows import WIN_BACK_VARIANTS
from saleor_sms_plugin.texts import (
    GSM7_LANGUAGES,
    SHIPPED_LANGUAGES,
    TEXT_KEYS,
    MissingVariables,
    carries_opt_out_line,
    choose_language,
    count_segments,
    format_date,
    format_discount,
    format_money,
    render_source,
    render_text,
    rendering,
    required_variables,
    sample_variables,
    segment_budget,
    segments,
    transliterate,
)
from saleor_sms_plugin.texts.catalogue import flow_of, texts_of, variant_key

MARKETING_KEYS = frozenset(key for key in TEXT_KEYS if carries_opt_out_line(key))
ISSUE_LANGUAGES = {
    "en", "de", "fr", "es", "it", "pl", "nl", "pt-PT", "pt-BR",
    "sv", "da", "fi", "cs", "sk", "hu", "ro", "hr", "tr",
}  # fmt: skip


def as_sent(key: str, language: str, variables: dict[str, str]) -> str:
    body = render_text(key, language, variables)
    if carries_opt_out_line(key):
        body += "\n" + render_text("opt_out_line", language, variables)
    return body


def test_eighteen_languages_ship_every_text():
    assert set(SHIPPED_LANGUAGES) == ISSUE_LANGUAGES
    for language in SHIPPED_LANGUAGES:
        assert set(texts_of(language)) == set(TEXT_KEYS), language


def test_every_flow_has_its_texts():
    flows_with_texts = {flow_of(key) for key in TEXT_KEYS} - {None}

    assert flows_with_texts == set(Flow) - {Flow.CUSTOM}
    assert {f"win_back_{step}" for step in range(1, WIN_BACK_VARIANTS + 1)} <= set(TEXT_KEYS)
    assert {f"post_purchase_offer_{step}" for step in (1, 2, 3)} <= set(TEXT_KEYS)
    assert {"opt_out_line", "stop_reply", "start_reply", "help_reply"} <= set(TEXT_KEYS)


def test_marketing_texts_and_only_they_carry_the_opt_out_line():
    assert "win_back_4" in MARKETING_KEYS
    assert "review_request" in MARKETING_KEYS
    assert "order_confirmation" not in MARKETING_KEYS
    assert "opt_in_confirmation" not in MARKETING_KEYS
    assert "stop_reply" not in MARKETING_KEYS


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("currency", ["EUR", "USD", "PLN"])
def test_every_text_renders_with_sample_data_within_its_segment_budget(language, currency):
    variables = sample_variables(language, currency)
    for key in TEXT_KEYS:
        body = as_sent(key, language, variables)
        info = count_segments(body)

        assert not {"{", "}"} & set(body), (language, key, body)
        assert info.segments <= segment_budget(key, language), (language, key, info, body)


@pytest.mark.parametrize("language", sorted(GSM7_LANGUAGES))
def test_languages_that_fit_gsm7_send_every_text_in_gsm7(language):
    variables = sample_variables(language)
    for key in TEXT_KEYS:
        body = as_sent(key, language, variables)
        info = count_segments(body)

        assert info.encoding == "GSM-7", (language, key, body)


def test_a_transactional_text_without_a_link_fits_one_segment_in_gsm7_languages():
    for language in GSM7_LANGUAGES:
        variables = sample_variables(language)
        for key in ("order_confirmation", "thank_you", "opt_in_confirmation", "help_reply"):
            assert count_segments(as_sent(key, language, variables)).segments == 1


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


def test_win_back_steps_beyond_the_variants_rotate_through_them():
    assert variant_key("win_back_4") == "win_back_4"
    assert variant_key("win_back_5") == "win_back_1"
    assert variant_key("win_back_6") == "win_back_2"
    variables = sample_variables("de")
    assert render_text("win_back_5", "de", variables) == render_text("win_back_1", "de", variables)
    assert len({render_text(f"win_back_{n}", "de", variables) for n in range(1, 5)}) == 4


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
    assert format_money(Decimal("1234.5"), "EUR", "de") == "1.234,50 €"
    assert format_money(Decimal("59.90"), "USD", "en") == "$59.90"
    assert format_money(Decimal("59.90"), "BRL", "pt-BR") == "R$ 59,90"
    assert format_money(Decimal("249"), "PLN", "pl") == "249,00 zł"
    assert format_money(Decimal("1234.5"), "EUR", "fr") == "1 234,50 €"
    assert format_discount(15, "tr") == "%15"
    assert format_discount(15, "de") == "15 %"
    assert format_date(date(2026, 11, 30), "en") == "Nov 30"
    assert format_date(date(2026, 11, 30), "de") == "30. Nov."
    assert format_date(date(2026, 11, 30), "fi") == "30.11."


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_formatted_values_use_plain_spaces_so_they_stay_in_gsm7(language):
    # CLDR puts non-breaking spaces between amount and sign; any of them makes a text UCS-2.
    values = [
        format_money(Decimal("1234.5"), "EUR", language),
        format_discount(15, language),
        format_date(date(2026, 11, 30), language),
    ]
    for value in values:
        assert not {"\xa0", "\u202f"} & set(value), (language, value)
    assert count_segments(format_money(Decimal("1234.5"), "EUR", language)).encoding == "GSM-7"


DIGITS = "1234567890" * 40


# The test vectors of Twilio's segment calculator (TwilioDevEd/message-segment-calculator,
# tests/index.test.js): bodies built the same way, with the encoding and segments it expects.
@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        (DIGITS[:160], "GSM-7", 1),
        (DIGITS[:161], "GSM-7", 2),
        (DIGITS[:307], "GSM-7", 3),
        ("😜" + DIGITS[1:69], "UCS-2", 1),
        ("😜" + DIGITS[1:70], "UCS-2", 2),
        ("😜" + DIGITS[1:134], "UCS-2", 3),
        ("🇮🇹" + DIGITS[1:67], "UCS-2", 1),
        ("🇮🇹" + DIGITS[1:68], "UCS-2", 2),
        ("🏳️‍🌈" + DIGITS[1:65], "UCS-2", 1),
        ("🏳️‍🌈" + DIGITS[1:66], "UCS-2", 2),
        ("😀" + "]" * 68, "UCS-2", 1),
        ("😀" + "]" * 69, "UCS-2", 2),
        ("é\u0301\u0301\u0301" + "a" * 66, "UCS-2", 1),
        ("é\u0301\u0301\u0301" + "a" * 67, "UCS-2", 2),
        *((char * 70, "UCS-2", 1) for char in "ÁÚúçíÍóÓ"),
        *((char * 71, "UCS-2", 2) for char in "ÁÚúçíÍóÓ"),
        *((char + DIGITS[:158], "GSM-7", 1) for char in "|^€{}[]~\\"),
        *((char + DIGITS[:159], "GSM-7", 2) for char in "|^€{}[]~\\"),
    ],
)
def test_segment_counts_match_twilios_calculator(text, encoding, segments):
    info = count_segments(text)

    assert (info.encoding, info.segments) == (encoding, segments)


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
def test_segment_counts_at_the_gsm7_and_ucs2_boundaries(text, encoding, segments):
    info = count_segments(text)

    assert (info.encoding, info.segments) == (encoding, segments)


def test_segment_figures_report_units_and_segment_size():
    single = count_segments("€ off")
    assert (single.characters, single.per_segment) == (6, 160)
    long_unicode = count_segments("ż" * 71)
    assert (long_unicode.characters, long_unicode.per_segment) == (71, 67)


def test_extension_characters_are_not_split_across_segments():
    # 152 septets then a two-septet character: the pair moves to the second segment.
    assert count_segments("a" * 152 + "{" + "a" * 8).segments == 2
    assert count_segments("a" * 152 + "{" + "a" * 8).characters == 162


def _segments_char_by_char(text):
    """The definition, one character at a time: what the quick paths must agree with."""
    if all(char in segments.GSM7_BASIC or char in segments.GSM7_EXTENSION for char in text):
        units = [2 if char in segments.GSM7_EXTENSION else 1 for char in text]
        single, capacity = 160, 153
    else:
        units = [len(char.encode("utf-16-le")) // 2 for char in text]
        single, capacity = 70, 67
    if sum(units) <= single:
        return (1 if units else 0), sum(units)
    count, used = 1, 0
    for size in units:
        if used + size > capacity:
            count, used = count + 1, 0
        used += size
    return count, sum(units)


@pytest.mark.parametrize("alphabet", ["ab {€", "abż", "abż😀", "a😀{", "ab"])
def test_segment_counts_agree_with_counting_character_by_character(alphabet):
    rng = random.Random(alphabet)
    for length in [0, 1, 66, 67, 68, 69, 70, 71, 152, 153, 154, 159, 160, 161, 306, 307, 500]:
        for _ in range(20):
            text = "".join(rng.choice(alphabet) for _ in range(length))
            info = count_segments(text)
            assert (info.segments, info.characters) == _segments_char_by_char(text), text


def test_transliteration_keeps_meaning_and_returns_to_gsm7():
    typed = "\u201cHello\u201d \u2013 it\u2019s 50\u00a0% off\u2026 \u00abvite\u00bb\u200b"

    assert count_segments(typed).encoding == "UCS-2"
    assert transliterate(typed) == '"Hello" - it\'s 50 % off... "vite"'
    assert count_segments(transliterate(typed)).encoding == "GSM-7"


def test_transliteration_never_changes_letters():
    words = "Zażółć gęślą jaźń, Ærøskøbing, İstanbul, señor, Ç"

    assert transliterate(words) == words


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
    message = rejected.value.errors["text_order_confirmation"]
    assert message.startswith("Texts · Order confirmation: ")
    assert problem in message


def test_every_text_can_be_overridden_and_the_form_shows_variables_and_segments():
    fields = conf.fields_by_name()

    for key in TEXT_KEYS:
        field = fields[f"text_{key}"]
        assert field.type == conf.FieldType.MULTILINE
        assert "{{ shop_name }}" in field.help_text
        assert "segment(s)" in field.help_text
    assert "opt-out line" in fields["text_win_back_1"].help_text
    assert "opt-out line" not in fields["text_order_confirmation"].help_text
    assert "{{ tracking_url }}" in fields["text_shipping_confirmation"].help_text


def test_look_alikes_are_replaced_unless_the_channel_turns_it_off():
    assert conf.parse_values({})[conf.TRANSLITERATE_LOOK_ALIKES] is True
    values = conf.parse_values({conf.TRANSLITERATE_LOOK_ALIKES: "false"})
    assert values[conf.TRANSLITERATE_LOOK_ALIKES] is False
    channel = conf.ChannelSettings("default-channel", True, values)
    assert not channel.transliterates_look_alikes


def _rendered_by_django(source, variables):
    return rendering.compile_template(source).render(Context(dict(variables))).strip()


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_every_shipped_text_renders_as_django_renders_it(language):
    variables = sample_variables(language)
    odd_values = {**variables, "first_name": None, "order_number": 10482, "total": Decimal("5.5")}
    del odd_values["shop_name"]
    for key in TEXT_KEYS:
        source = texts_of(language)[key]
        no_name = {**variables, "first_name": ""}
        for values in (variables, no_name, odd_values, {}):
            assert render_source(source, values) == _rendered_by_django(source, values), key


@pytest.mark.parametrize(
    "override",
    [
        "Hi {{ first_name|upper }}, {{ shop_name }}",
        "{% if first_name %}Hi {{ first_name }}{% else %}Hello{% endif %} from {{ shop_name }}",
        "{{ shop_name }} {{ shop_name.upper }} {{ missing }}!",
        "{% if missing %}x{% elif first_name %}Hi {{ first_name }}{% else %}Hey{% endif %} "
        "{{ shop_name }}",
        "{% if not first_name %}Hello{% endif %} {{ shop_name }}",
        "{% if first_name %}{% if shop_name %}{{ first_name }} at {{ shop_name }}{% endif %}"
        "{% endif %}{{ shop_name }}",
        "Plain words only",
    ],
)
@pytest.mark.parametrize("first_name", ["Ada", "", None])
def test_overrides_with_filters_and_conditions_render_as_django_renders_them(override, first_name):
    values = {"shop_name": "Acme", "first_name": first_name}

    rendered = render_source(override, values)

    assert rendered == _rendered_by_django(override, values)
    assert "Acme" in rendered or override == "Plain words only"


# Values a text's wording needs ----------------------------------------------------------------


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_every_shipped_text_refuses_to_render_without_a_value_its_wording_needs(language):
    values = sample_variables(language)
    for key in TEXT_KEYS:
        needed = required_variables(texts_of(language)[key])
        for name in needed:
            for gap in ({k: v for k, v in values.items() if k != name}, {**values, name: " "}):
                with pytest.raises(MissingVariables) as refused:
                    render_text(key, language, gap)
                assert refused.value.names == (name,), (language, key)

        body = render_text(key, language, values)

        assert all(values[name] in body for name in needed), (language, key, body)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_offer_texts_need_the_offers_values_and_the_shop_name_in_every_language(language):
    for step in (1, 2, 3):
        needed = set(required_variables(texts_of(language)[f"post_purchase_offer_{step}"]))
        assert {"shop_name", "discount", "offer_link"} <= needed, (language, step)
    last_hours = set(required_variables(texts_of(language)["post_purchase_offer_3"]))
    assert {"voucher_code", "expiry"} <= last_hours, language
    # Words that go with a value sit inside {% if %}: the text reads well without it.
    assert "first_name" not in required_variables(texts_of(language)["win_back_1"])
    assert "offer_link" not in required_variables(texts_of(language)["loyalty_invite"])
    assert "tracking_number" not in required_variables(texts_of(language)["shipping_confirmation"])


@pytest.mark.parametrize(
    ("override", "needed"),
    [
        (
            "{{ shop_name }}: {{ discount }} off, code {{ voucher_code }}",
            ("shop_name", "discount", "voucher_code"),
        ),
        (
            "{{ shop_name }}{% if discount %}: {{ discount }} off{% endif %} {{ offer_link }}",
            ("shop_name", "offer_link"),
        ),
        ("{{ shop_name|upper }} {{ first_name|default:'friend' }}", ("shop_name",)),
        ("{% if first_name %}{{ first_name }}{% else %}{{ shop_name }}{% endif %}", ()),
        ("Plain words only", ()),
    ],
)
def test_an_override_needs_what_it_shows_outside_if(override, needed):
    assert required_variables(override) == needed


def test_an_override_without_a_value_it_needs_is_refused():
    override = "{{ shop_name }}: {{ discount }} off today"

    with pytest.raises(MissingVariables) as refused:
        render_text("post_purchase_offer_1", "en", {"shop_name": "Acme"}, override=override)

    assert refused.value.names == ("discount",)
    assert "{{ discount }}" in str(refused.value)


def test_a_shipping_text_without_a_tracking_number_says_nothing_about_tracking():
    values = {**sample_variables("pl"), "tracking_number": "", "tracking_url": ""}

    body = render_text("shipping_confirmation", "pl", values)

    assert body == "Acme Outfitters: zamówienie 10482 jest w drodze!"
