"""Writing a message's text: language, variables, the catalogue or the channel's override."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .conf import ChannelSettings
from .constants import TRANSACTIONAL_FLOWS, Flow, SkipReason
from .flows import text_variant
from .links import offer_variables
from .models import Message
from .texts import (
    MissingVariables,
    choose_language,
    count_segments,
    format_money,
    render_text,
    transliterate,
)


@dataclass
class MessageDraft:
    """The text about to be sent. Receivers of `message_sending` may edit or veto it."""

    body: str
    language: str
    vetoed_because: str = ""

    def veto(self, reason: str) -> None:
        self.vetoed_because = reason or "vetoed"


def text_key(message: Message) -> str:
    """The catalogue key of a message: flows with several texts add their step."""
    if message.flow in (Flow.POST_PURCHASE_OFFER, Flow.WIN_BACK):
        return f"{message.flow}_{text_variant(message.flow, message.step)}"
    return message.flow


def message_language(message: Message, channel: ChannelSettings) -> str:
    order = message.context.get("order", {})
    recipient_language = message.recipient.language if message.recipient else ""
    return choose_language(
        order.get("language_code") or None,
        order.get("customer_language_code") or recipient_language or None,
        channel.default_language or channel.default_country or None,
    )


def message_variables(message: Message, channel: ChannelSettings, language: str) -> dict[str, str]:
    order: dict[str, Any] = message.context.get("order", {})
    variables = {
        "shop_name": channel.shop_name,
        "order_number": str(order.get("number", message.order_number or "")),
        "first_name": _first_name(order),
    }
    if order.get("total") is not None and order.get("currency"):
        variables["total"] = format_money(Decimal(order["total"]), order["currency"], language)
    variables.update(
        {key: str(value) for key, value in message.context.get("variables", {}).items()}
    )
    return variables


def compose(message: Message, channel: ChannelSettings) -> MessageDraft:
    """The rendered text of a message, with the opt-out line on marketing texts.

    Raises MissingVariables when a value its wording needs is empty (an offer text in a
    channel without an offer for it, say): that text must not go out.
    """
    if message.flow == Flow.CUSTOM and message.body:
        return MessageDraft(
            body=for_sending(message.body, channel), language=message.language or "en"
        )
    language = message_language(message, channel)
    # The text's own context variables win over the offer's.
    variables = {
        **offer_variables(message, channel, language),
        **message_variables(message, channel, language),
    }
    key = text_key(message)
    body = render_text(key, language, variables, override=channel.text_override(key))
    for extra in message.context.get("append_texts", []):  # e.g. a thank-you riding along
        body += "\n" + render_text(
            extra, language, variables, override=channel.text_override(extra)
        )
    if message.flow not in TRANSACTIONAL_FLOWS:
        opt_out = render_text(
            "opt_out_line", language, variables, override=channel.text_override("opt_out_line")
        )
        body = f"{body}\n{opt_out}"
    return MessageDraft(body=for_sending(body, channel), language=language)


def missing_variable_reason(missing: MissingVariables) -> str:
    """The reason a text refused for empty values is recorded with: `missing_variable:discount`."""
    reason = f"{SkipReason.MISSING_VARIABLE}:{','.join(missing.names)}"
    return reason[: Message._meta.get_field("reason").max_length]


def for_sending(body: str, channel: ChannelSettings) -> str:
    """Typographic look-alikes give way to their GSM-7 twins, unless the channel turned it off."""
    return transliterate(body) if channel.transliterates_look_alikes else body


def segment_figures(body: str) -> tuple[str, int]:
    info = count_segments(body)
    return info.encoding, info.segments


def _first_name(order: dict[str, Any]) -> str:
    for key in ("billing_address", "shipping_address"):
        address = order.get(key) or {}
        if address.get("first_name"):
            return str(address["first_name"])
    return ""
