"""`manage.py sms_preview --channel <slug>`: every text of a channel, rendered, with its cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import texts
from ...conf import ChannelSettings, get_channel_settings

MARKETING_PREFIXES = ("post_purchase_offer", "win_back", "review", "welcome", "loyalty")
WARN_ABOVE_SEGMENTS = 3


class Command(BaseCommand):
    help = "Render every text of a channel in every shipped language, with segments and cost."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="the channel's slug")
        parser.add_argument("--language", help="only this language (e.g. de, pt-BR)")
        parser.add_argument(
            "--price-per-segment", type=Decimal, default=None, help="overrides the configuration"
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
                self._preview(channel, key, language, price, show_text=options["show_text"])

    def _languages(self, language: str | None) -> tuple[str, ...]:
        if not language:
            return texts.SHIPPED_LANGUAGES
        chosen = texts.choose_language(language)
        if chosen.lower() != language.replace("_", "-").lower():
            raise CommandError(
                f"no shipped language {language!r}; try one of {texts.SHIPPED_LANGUAGES}"
            )
        return (chosen,)

    def _preview(
        self, channel: ChannelSettings, key: str, language: str, price: Decimal, *, show_text: bool
    ) -> None:
        variables = texts.sample_variables(language, channel.currency or "EUR")
        if channel.shop_name:
            variables["shop_name"] = channel.shop_name
        body = texts.render_text(key, language, variables, override=channel.text_override(key))
        if key.startswith(MARKETING_PREFIXES):
            opt_out = channel.text_override("opt_out_line")
            body += "\n" + texts.render_text("opt_out_line", language, variables, override=opt_out)
        info = texts.count_segments(body)
        warning = (
            "  WARNING: more than three segments" if info.segments > WARN_ABOVE_SEGMENTS else ""
        )
        cost = price * info.segments
        self.stdout.write(
            f"{key:<24} {language:<6} {info.encoding:<8} {info.segments:>3} {info.characters:>5} "
            f"{cost:.4f}{warning}"
        )
        if show_text:
            self.stdout.write("    " + body.replace("\n", "\n    "))
