"""The `sms_preview` command renders a channel's texts with segments and cost."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from saleor_sms_plugin.texts import SHIPPED_LANGUAGES, TEXT_KEYS

pytestmark = pytest.mark.django_db


def preview(*args):
    out = StringIO()
    call_command("sms_preview", *args, stdout=out)
    return out.getvalue().splitlines()


def test_every_text_in_every_language_is_listed_with_segments_and_cost(channel):
    lines = preview("--channel", "default-channel", "--price-per-segment", "0.0079")

    rows = [line.split() for line in lines[1:]]
    assert len(rows) == len(SHIPPED_LANGUAGES) * len(TEXT_KEYS)
    confirmation_en = next(row for row in rows if row[:2] == ["order_confirmation", "en"])
    assert confirmation_en[2:5] == ["GSM-7", "1", confirmation_en[4]]
    assert confirmation_en[5] == "0.0079"


def test_overrides_are_previewed_and_long_texts_are_flagged(configure_channel):
    configure_channel(text_thank_you="{{ shop_name }} " + "thanks a lot! " * 40)

    [header, *rows] = preview("--channel", "default-channel", "--language", "de", "--show-text")

    thank_you = next(line for line in rows if line.startswith("thank_you"))
    assert "WARNING: more than three segments" in thank_you
    assert any("Acme Outfitters thanks a lot!" in line for line in rows)
    assert all(" de " in line for line in rows if not line.startswith("    "))


def test_unknown_channel_or_language_is_a_clear_error(channel):
    with pytest.raises(CommandError, match="unknown channel"):
        preview("--channel", "nowhere")
    with pytest.raises(CommandError, match="no shipped language"):
        preview("--channel", "default-channel", "--language", "ja")
