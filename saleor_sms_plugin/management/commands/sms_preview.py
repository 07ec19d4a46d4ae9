"""`manage.py sms_preview --channel <slug>`: every text of a channel, rendered, with its cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import texts
from ...composing import for_sending
from ...conf import THANK_YOU_WITH_CONFIRMATION, ChannelSettings, get_channel_settings
from ...constants import Flow

WARN_ABOVE_SEGMENTS = 3


class Command(BaseCommand):
    help = (
        "Render every text of a channel in every shipped language with sample values and the "
        "channel's overrides, as it would be sent, with its encoding, segments and cost."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="the channel's slug")
        parser.add_argument("--language", help="only this language (e.g. de, pt-BR)")
        parser.add_argument(
            "--price-per-segment",
            type=Decimal,
            default=None,
            help="price of one segment; default: the channel's configured price",
        )
        parser.add_argument("--show-text", action="store_true", help="print each rendered text")

    def handle(self, *args: Any, **options: Any) -> None:
        channel = get_channel_settings(options["channel"])
        if channel is None:
            raise CommandError(f"unknown channel {options['channel']!r}")
        languages = self._languages(options["language"])
        price = options["price_per_segment"]
        if price is None:
            price = channel.price_per_segment
        self.stdout.write(f"{'text':<24} {'lang':<6} {'encoding':<8} {'seg':>3} {'chars':>5} cost")
        for language in languages:
            for key in texts.TEXT_KEYS:
                body, notes = preview_text(channel, key, language)
                self._report(key, language, body, price, notes, show_text=options["show_text"])

    def _languages(self, language: str | None) -> tuple[str, ...]:
        if not language:
            return texts.SHIPPED_LANGUAGES
        chosen = texts.choose_language(language)
        if chosen.lower() != language.replace("_", "-").lower():
            raise CommandError(
                f"no shipped language {language!r}; try one of {', '.join(texts.SHIPPED_LANGUAGES)}"
            )
        return (chosen,)

    def _report(
        self,
        key: str,
        language: str,
        body: str,
        price: Decimal,
        notes: list[str],
        *,
        show_text: bool,
    ) -> None:
        info = texts.count_segments(body)
        if info.segments > WARN_ABOVE_SEGMENTS:
            notes.append(f"WARNING: more than {WARN_ABOVE_SEGMENTS} segments")
        cost = price * info.segments
        self.stdout.write(
            f"{key:<24} {language:<6} {info.encoding:<8} {info.segments:>3} {info.characters:>5} "
            f"{cost:.4f}" + "".join(f"  {note}" for note in notes)
        )
        if show_text:
            self.stdout.write("    " + body.replace("\n", "\n    "))


def preview_text(channel: ChannelSettings, key: str, language: str) -> tuple[str, list[str]]:
    """A text as the channel would send it, with sample values, and notes on what was added."""
    variables = texts.sample_variables(language, channel.currency or "EUR")
    if channel.shop_name:
        variables["shop_name"] = channel.shop_name
    notes: list[str] = []
    body = texts.render_text(key, language, variables, override=channel.text_override(key))
    if key == Flow.ORDER_CONFIRMATION and _thank_you_rides_along(channel):
        body += "\n" + texts.render_text(
            Flow.THANK_YOU.value,
            language,
            variables,
            override=channel.text_override(Flow.THANK_YOU.value),
        )
        notes.append("with the thank-you")
    if channel.text_override(key):
        notes.append("override")
    if texts.carries_opt_out_line(key):
        opt_out = channel.text_override("opt_out_line")
        body += "\n" + texts.render_text("opt_out_line", language, variables, override=opt_out)
    return for_sending(body, channel), notes


def _thank_you_rides_along(channel: ChannelSettings) -> bool:
    # As flows.plan_order_placed decides it: the thank-you is appended to the confirmation.
    return (
        channel.flow_enabled(Flow.THANK_YOU)
        and channel.flow_enabled(Flow.ORDER_CONFIRMATION)
        and bool(channel.values.get(THANK_YOU_WITH_CONFIRMATION))
    )
