"""The `sms_preview` command renders a channel's texts with segments and cost."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.texts import SHIPPED_LANGUAGES, TEXT_KEYS

pytestmark = pytest.mark.django_db


def preview(*args):
    out = StringIO()
    call_command("sms_preview", *args, stdout=out)
    return out.getvalue().splitlines()


def row(lines, key, language):
    return next(line.split() for line in lines if line.split()[:2] == [key, language])


def test_every_text_in_every_language_is_listed_with_segments_and_cost(channel):
    lines = preview("--channel", "default-channel", "--price-per-segment", "0.0079")

    assert lines[0].split() == ["text", "lang", "encoding", "seg", "chars", "cost"]
    assert len(lines[1:]) == len(SHIPPED_LANGUAGES) * len(TEXT_KEYS)
    assert row(lines, "order_confirmation", "en")[2:4] == ["GSM-7", "1"]
    assert row(lines, "order_confirmation", "en")[5] == "0.0079"
    [*_, segments, _, cost] = row(lines, "order_confirmation", "pl")
    assert row(lines, "order_confirmation", "pl")[2] == "UCS-2"
    assert Decimal(cost) == Decimal("0.0079") * int(segments)


def test_the_configured_price_is_used_without_the_option(configure_channel):
    configure_channel(**{conf.PRICE_PER_SEGMENT: "0.05"})

    lines = preview("--channel", "default-channel", "--language", "fi")

    [*_, segments, _, cost] = row(lines, "win_back_1", "fi")
    assert Decimal(cost) == Decimal("0.05") * int(segments)


def test_marketing_texts_are_previewed_with_the_opt_out_line(channel):
    lines = preview("--channel", "default-channel", "--language", "en", "--show-text")

    offer = lines.index(next(line for line in lines if line.startswith("post_purchase_offer_1")))
    assert lines[offer + 2].strip() == "Reply STOP to opt out."
    confirmation = lines.index(next(line for line in lines if line.startswith("order_confir")))
    assert "Reply STOP" not in lines[confirmation + 1]


def test_overrides_are_previewed_and_long_texts_are_flagged(configure_channel):
    configure_channel(text_thank_you="{{ shop_name }} " + "thanks a lot! " * 40)

    [header, *rows] = preview("--channel", "default-channel", "--language", "de", "--show-text")

    thank_you = next(line for line in rows if line.startswith("thank_you"))
    assert "override" in thank_you
    assert "WARNING: more than 3 segments" in thank_you
    assert any("Acme Outfitters thanks a lot!" in line for line in rows)
    assert all(" de " in line for line in rows if not line.startswith("    "))


def test_look_alikes_in_an_override_are_previewed_as_they_would_be_sent(configure_channel):
    curly = "{{ shop_name }}: \u201cthanks\u201d \u2013 order {{ order_number }}\u2026"
    configure_channel(text_order_confirmation=curly)
    plain = preview("--channel", "default-channel", "--language", "en", "--show-text")

    configure_channel(text_order_confirmation=curly, **{conf.TRANSLITERATE_LOOK_ALIKES: False})
    kept = preview("--channel", "default-channel", "--language", "en", "--show-text")

    assert row(plain, "order_confirmation", "en")[2] == "GSM-7"
    assert 'Acme Outfitters: "thanks" - order 10482...' in [line.strip() for line in plain]
    assert row(kept, "order_confirmation", "en")[2] == "UCS-2"


def test_a_thank_you_riding_on_the_confirmation_is_counted_with_it(configure_channel):
    configure_channel(**{conf.flow_switch(Flow.THANK_YOU): True})
    riding = preview("--channel", "default-channel", "--language", "en")
    configure_channel(
        **{conf.flow_switch(Flow.THANK_YOU): True, conf.THANK_YOU_WITH_CONFIRMATION: False}
    )
    alone = preview("--channel", "default-channel", "--language", "en")

    assert "with the thank-you" in " ".join(row(riding, "order_confirmation", "en"))
    assert int(row(riding, "order_confirmation", "en")[4]) > int(
        row(alone, "order_confirmation", "en")[4]
    )


def test_unknown_channel_or_language_is_a_clear_error(channel):
    with pytest.raises(CommandError, match="unknown channel"):
        preview("--channel", "nowhere")
    with pytest.raises(CommandError, match="no shipped language"):
        preview("--channel", "default-channel", "--language", "ja")
