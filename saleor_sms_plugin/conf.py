"""One channel's configuration: the fields an admin edits, parsed and validated once.

Every configuration field is declared here, once, in the section of the form it belongs to.
The Saleor plugin builds its Dashboard form (`DEFAULT_CONFIGURATION`, `CONFIG_STRUCTURE`) from
`FIELDS`, and validates a save with `parse_values`, whose errors name each field by the label
the Dashboard shows; the core reads a channel's settings through `get_channel_settings`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.utils.functional import lazy
from django.utils.module_loading import import_string

from . import texts
from .constants import Flow
from .offers import OFFER_VALUES, OfferProblem, offer_for, parse_offers
from .phones import is_e164
from .settings import get_setting

PLUGIN_ID = "saleor_sms_plugin.sms"


class FieldType:
    """The field types of Saleor's `ConfigurationTypeField`, by value."""

    STRING = "String"
    MULTILINE = "Multiline"
    BOOLEAN = "Boolean"
    SECRET = "Secret"  # noqa: S105 - a field type, not a password
    OUTPUT = "OUTPUT"


class Section(StrEnum):
    """The sections of the form, in the order an admin fills them in."""

    CONNECTION = "Connection"
    FLOWS = "Flows"
    TIMING = "Timing"
    OFFERS = "Offers"
    COMPLIANCE = "Compliance"
    REPORTING = "Reporting"
    TEXTS = "Texts"


class ConfigurationError(ValueError):
    """Invalid configuration values; `errors` maps each field name to a message that names the
    field by its Dashboard label."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class DetailedProblem(ValueError):
    """A problem inside a structured value (an offer of the list, a text's template).

    Its message follows the field's label after a colon ("Offers · Offer list (JSON): offer 2
    ('x'): flow must be ..."), where a plain ValueError's message completes a sentence that
    begins with the label ("Connection · Sender must be ...").
    """


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: str
    default: Any
    label: str
    # A text, or a lazy one (Django's `lazy`) that is built when first read.
    help_text: str
    parse: Parser = field(default=lambda value: value)
    # Given by `grouped`, which places the field in the form.
    section: Section | None = None

    @property
    def dashboard_label(self) -> str:
        """The label the Dashboard shows: the section, then the field's own label.

        Saleor's form has no groups, and the Dashboard moves secrets to a card of their own
        and every checkbox below the text inputs: the prefix keeps each field's section in
        sight wherever it lands.
        """
        return f"{self.section} · {self.label}" if self.section else self.label


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in {"true", "1", "yes", "on"}


ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-f]{32}$")
MESSAGING_SERVICE_SID_RE = re.compile(r"^MG[0-9a-f]{32}$")


def _account_sid(value: Any) -> str:
    sid = _text(value)
    if sid and not ACCOUNT_SID_RE.match(sid):
        raise ValueError("must start with AC followed by 32 hexadecimal digits (0-9, a-f)")
    return sid


def _sender(value: Any) -> str:
    sender = _text(value)
    if sender and not (MESSAGING_SERVICE_SID_RE.match(sender) or is_e164(sender)):
        raise ValueError(
            "must be a phone number in E.164 format (e.g. +14155550123) "
            "or a Messaging Service SID ('MG' followed by 32 hexadecimal digits)"
        )
    return sender


def _base_url(value: Any) -> str:
    url = _text(value).rstrip("/")
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL such as https://api.example.com")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string or fragment")
    return url


ACCOUNT_SID = "account_sid"
AUTH_TOKEN = "auth_token"  # noqa: S105 - a field name
SENDER = "sender"
PUBLIC_BASE_URL = "public_base_url"


def flow_switch(flow: Flow) -> str:
    """The name of the field that turns a flow on or off."""
    return f"flow_{flow.value}_enabled"


CONFIGURABLE_FLOWS: tuple[tuple[Flow, bool, str], ...] = (
    (Flow.ORDER_CONFIRMATION, True, "Text the shopper when an order is placed."),
    (Flow.SHIPPING_CONFIRMATION, True, "Text the tracking number when an order ships."),
    (Flow.THANK_YOU, False, "Thank the shopper for the order."),
    (Flow.POST_PURCHASE_OFFER, False, "Up to three offers within 24 hours of an order."),
    (Flow.WIN_BACK, False, "Invite customers who have not bought for a while to come back."),
    (Flow.REVIEW_REQUEST, False, "Ask for a review some days after an order ships."),
    (Flow.WELCOME, False, "Welcome new customer accounts that agreed to texts."),
    (
        Flow.OPT_IN_CONFIRMATION,
        True,
        "Confirm by text when a shopper agrees to marketing texts (required in many countries).",
    ),
    (Flow.LOYALTY_INVITE, False, "Invite registered customers to the loyalty programme."),
)

THANK_YOU_WITH_CONFIRMATION = "thank_you_with_confirmation"
THANK_YOU_DELAY_MINUTES = "thank_you_delay_minutes"
OFFER_DELAYS_MINUTES = "offer_delays_minutes"
OFFER_PAUSE_AFTER_CONVERSION_HOURS = "offer_pause_after_conversion_hours"
WIN_BACK_FIRST_DAYS = "win_back_first_days"
WIN_BACK_INTERVAL_DAYS = "win_back_interval_days"
WIN_BACK_MAX_TEXTS = "win_back_max_texts"
REVIEW_DELAY_DAYS = "review_delay_days"
LOYALTY_INVITE_DELAY_DAYS = "loyalty_invite_delay_days"
SEND_WINDOW_START = "send_window_start"
SEND_WINDOW_END = "send_window_end"
FREQUENCY_CAP_TEXTS = "frequency_cap_texts"
FREQUENCY_CAP_DAYS = "frequency_cap_days"
CONSENT_METADATA_KEY = "consent_metadata_key"
TRACKING_URL_TEMPLATE = "tracking_url_template"
RETENTION_DAYS = "retention_days"
INBOUND_FORWARD_URL = "inbound_forward_url"
REPLY_TO_KEYWORDS = "reply_to_keywords"
REPLY_TO_STOP = "reply_to_stop"
PRICE_PER_SEGMENT = "price_per_segment"
STATS_PAGE = "stats_page"
CHECKOUT_URL_TEMPLATE = "checkout_url_template"
STORE_URL = "store_url"
OFFER_LINK_LIFETIME_DAYS = "offer_link_lifetime_days"
OFFERS = "offers"
PREPARE_CHECKOUTS = "prepare_checkouts"
LINK_HOST = "link_host"

# Routes under /plugins/channel/<channel>/<PLUGIN_ID>/ for store staff.
GRAPHQL_PATH = "graphql/"
STATS_PATH = "stats/"
#: Channel-less routes for provider callbacks: /plugins/<PLUGIN_ID>/callbacks/<channel>/<path>
CALLBACKS_PATH = "callbacks"

OFFER_WINDOW_MINUTES = 24 * 60
MAX_OFFERS = 3


def _count(minimum: int, maximum: int) -> Parser:
    def parse(value: Any) -> int:
        text = _text(value)
        if not text.isdigit() or not minimum <= int(text) <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        return int(text)

    return parse


def _offer_delays(value: Any) -> tuple[int, ...]:
    parts = [part.strip() for part in _text(value).split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValueError("must be minutes after the order, separated by commas, e.g. 15, 180, 1200")
    delays = tuple(int(part) for part in parts)
    if len(delays) > MAX_OFFERS:
        raise ValueError(f"allows at most {MAX_OFFERS} offers")
    if any(delay >= OFFER_WINDOW_MINUTES for delay in delays):
        raise ValueError(f"must each be less than {OFFER_WINDOW_MINUTES} minutes (24 hours)")
    if list(delays) != sorted(set(delays)):
        raise ValueError("must be increasing, each offer later than the one before")
    return delays


CLOCK_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock(value: Any) -> time:
    match = CLOCK_RE.match(_text(value))
    if not match:
        raise ValueError("must be a time of day as HH:MM, e.g. 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def _http_url(value: Any) -> str:
    url = _text(value)
    parts = urlsplit(url)
    if url and (parts.scheme not in {"http", "https"} or not parts.netloc):
        raise ValueError("must be an absolute http(s) URL")
    return url


def _tracking_url_template(value: Any) -> str:
    template = _http_url(value)
    if template and "{tracking_number}" not in template:
        raise ValueError(
            "must contain {tracking_number}, e.g. https://track.example.com/{tracking_number}"
        )
    return template


def _metadata_key(value: Any) -> str:
    key = _text(value)
    if len(key) > 128 or any(char.isspace() for char in key):
        raise ValueError("must be a metadata key without spaces, at most 128 characters")
    return key


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(_text(value) or "0")
    except InvalidOperation as error:
        raise ValueError("must be a price such as 0.0083") from error
    if not price.is_finite() or price < 0:
        raise ValueError("must be a price of zero or more, such as 0.0083")
    return price


URL_PLACEHOLDERS = ("{channel}", "{language}", "{checkout_id}", "{checkout_token}")
_PLACEHOLDER_RE = re.compile(r"{[^{}]*}")


def _url_template(required: tuple[str, ...], allowed: tuple[str, ...]) -> Parser:
    def parse(value: Any) -> str:
        template = _text(value)
        if not template:
            return template
        _http_url(template.replace("{", "").replace("}", ""))
        for placeholder in _PLACEHOLDER_RE.findall(template):
            if placeholder not in allowed:
                raise ValueError(
                    f"has an unknown placeholder {placeholder}; known: {', '.join(allowed)}"
                )
        for placeholder in required:
            if placeholder not in template:
                raise ValueError(
                    f"must contain {placeholder}, e.g. "
                    "https://shop.example.com/{channel}/{language}/checkout?checkout={checkout_id}"
                )
        return template

    return parse


def _offers(value: Any) -> tuple[Any, ...]:
    try:
        return parse_offers(value)
    except OfferProblem as problem:
        raise DetailedProblem(str(problem)) from None


def text_override(key: str) -> str:
    """The name of the field that overrides a shipped text."""
    return f"text_{key}"


def _template_parser(key: str) -> Parser:
    def parse(value: Any) -> str:
        source = _text(value)
        if source:
            try:
                texts.validate_template(source, key)
            except texts.TemplateProblem as problem:
                raise DetailedProblem(str(problem)) from None
        return source

    return parse


TRANSLITERATE_LOOK_ALIKES = "transliterate_look_alikes"


def grouped(section: Section, *fields: ConfigField) -> list[ConfigField]:
    """The fields of one section of the form, in the order the admin reads them."""
    return [replace(config_field, section=section) for config_field in fields]


# The form, section by section, in the order of `Section`: a new field is one entry in its
# section's list.

CONNECTION_FIELDS = grouped(
    Section.CONNECTION,
    ConfigField(
        ACCOUNT_SID,
        FieldType.STRING,
        "",
        "Twilio Account SID",
        "Starts with AC. Leave empty to print texts to the log instead of sending them.",
        _account_sid,
    ),
    ConfigField(AUTH_TOKEN, FieldType.SECRET, "", "Twilio Auth Token", "", _text),
    ConfigField(
        SENDER,
        FieldType.STRING,
        "",
        "Sender",
        "The Twilio phone number (E.164, e.g. +14155550123) or Messaging Service SID (MG...).",
        _sender,
    ),
    ConfigField(
        PUBLIC_BASE_URL,
        FieldType.STRING,
        "",
        "Public base URL",
        "The address at which Twilio and shoppers reach this Saleor API, e.g. "
        "https://api.example.com. Used for delivery callbacks, replies and offer links.",
        _base_url,
    ),
    ConfigField(
        LINK_HOST,
        FieldType.STRING,
        "",
        "Link host",
        "Serve offer links from a host of their own running saleor_sms_plugin.link_server, "
        "e.g. https://go.shop.example: texts then carry <host>/<channel>/l/<token>. Empty: "
        "links go through Saleor's plugin route under the public base URL. See docs/offers.md.",
        _base_url,
    ),
    ConfigField(
        CHECKOUT_URL_TEMPLATE,
        FieldType.STRING,
        "",
        "Storefront checkout URL",
        "Where an offer link opens the prefilled checkout, e.g. https://shop.example.com/"
        "{channel}/{language}/checkout?checkout={checkout_id}. Placeholders: "
        + ", ".join(URL_PLACEHOLDERS),
        _url_template(("{checkout_id}",), URL_PLACEHOLDERS),
    ),
    ConfigField(
        STORE_URL,
        FieldType.STRING,
        "",
        "Store home URL",
        "Linked from the page shown for an expired or unknown link, e.g. "
        "https://shop.example.com/{channel}/{language}. Placeholders: {channel}, {language}",
        _url_template((), URL_PLACEHOLDERS[:2]),
    ),
    ConfigField(
        TRACKING_URL_TEMPLATE,
        FieldType.STRING,
        "",
        "Tracking URL",
        "Link sent with the tracking number, e.g. https://track.example.com/{tracking_number}",
        _tracking_url_template,
    ),
    ConfigField(
        INBOUND_FORWARD_URL,
        FieldType.STRING,
        "",
        "Forward replies to (URL)",
        "Replies that are not keywords are stored and POSTed here as JSON.",
        _http_url,
    ),
)

FLOW_FIELDS = grouped(
    Section.FLOWS,
    *(
        ConfigField(
            flow_switch(flow),
            FieldType.BOOLEAN,
            default,
            "Send " + flow.value.replace("_", " "),
            help_text,
            _boolean,
        )
        for flow, default, help_text in CONFIGURABLE_FLOWS
    ),
    ConfigField(
        THANK_YOU_WITH_CONFIRMATION,
        FieldType.BOOLEAN,
        True,
        "Thank-you rides on the confirmation",
        "Add the thank-you to the order confirmation instead of sending a text of its own.",
        _boolean,
    ),
)

TIMING_FIELDS = grouped(
    Section.TIMING,
    ConfigField(
        THANK_YOU_DELAY_MINUTES,
        FieldType.STRING,
        "60",
        "Thank-you delay (minutes)",
        "Minutes after the order for a thank-you sent as a text of its own.",
        _count(0, 10080),
    ),
    ConfigField(
        OFFER_DELAYS_MINUTES,
        FieldType.STRING,
        "15, 180, 1200",
        "Offer times (minutes after the order)",
        "Up to three, all within 24 hours. A new order, a cancellation, a purchase through an "
        "offer or an opt-out stops the rest.",
        _offer_delays,
    ),
    ConfigField(
        OFFER_PAUSE_AFTER_CONVERSION_HOURS,
        FieldType.STRING,
        "24",
        "Offers after a purchase through an offer: pause (hours)",
        "An order placed through an offer link starts no new offers: offers due within this "
        "many hours of such a purchase are left out, for that order and the customer's next "
        "ones. 0: every order starts its offers.",
        _count(0, 720),
    ),
    ConfigField(
        WIN_BACK_FIRST_DAYS,
        FieldType.STRING,
        "7",
        "Win-back: first text (days after the last purchase)",
        "",
        _count(1, 365),
    ),
    ConfigField(
        WIN_BACK_INTERVAL_DAYS,
        FieldType.STRING,
        "14",
        "Win-back: days between texts",
        "",
        _count(1, 365),
    ),
    ConfigField(
        WIN_BACK_MAX_TEXTS,
        FieldType.STRING,
        "4",
        "Win-back: most texts per customer",
        "The texts rotate through the win-back variants; a purchase stops them.",
        _count(1, 24),
    ),
    ConfigField(
        REVIEW_DELAY_DAYS,
        FieldType.STRING,
        "7",
        "Review request (days after shipping)",
        "",
        _count(0, 90),
    ),
    ConfigField(
        LOYALTY_INVITE_DELAY_DAYS,
        FieldType.STRING,
        "3",
        "Loyalty invite (days after a registered customer's order)",
        "Sent once per customer.",
        _count(0, 90),
    ),
    ConfigField(
        SEND_WINDOW_START,
        FieldType.STRING,
        "09:00",
        "Texts from (recipient's local time)",
        "Texts due outside these hours wait for the next opening, in the recipient's time zone. "
        "Order and opt-in confirmations are not held back.",
        _clock,
    ),
    ConfigField(
        SEND_WINDOW_END,
        FieldType.STRING,
        "20:00",
        "Texts until (recipient's local time)",
        "",
        _clock,
    ),
    ConfigField(
        FREQUENCY_CAP_TEXTS,
        FieldType.STRING,
        "4",
        "Marketing texts per recipient at most",
        "Within the period below; 0 turns the cap off. Texts over the cap wait.",
        _count(0, 100),
    ),
    ConfigField(
        FREQUENCY_CAP_DAYS,
        FieldType.STRING,
        "7",
        "Frequency cap period (days)",
        "",
        _count(1, 90),
    ),
)

OFFER_FIELDS = grouped(
    Section.OFFERS,
    ConfigField(
        OFFERS,
        FieldType.MULTILINE,
        "",
        "Offer list (JSON)",
        'A JSON list; each offer attaches to a flow\'s text: {"id": "thanks15", "flow": '
        '"post_purchase_offer", "step": 1, "kind": "voucher", "discount_type": "percentage", '
        '"discount_value": 15, "voucher_code": "THANKS15"}. kind: voucher, products, choice, '
        "mystery; discount_type: percentage, fixed, free_shipping; voucher_code (shared) or "
        "voucher_id (a unique code per recipient); products: product or variant ids. See "
        "docs/offers.md.",
        _offers,
    ),
    ConfigField(
        OFFER_LINK_LIFETIME_DAYS,
        FieldType.STRING,
        "7",
        "Offer links work for (days)",
        "After this many days from the text, a link shows an expired page; an offer may set "
        "its own lifetime_days.",
        _count(1, 365),
    ),
    ConfigField(
        PREPARE_CHECKOUTS,
        FieldType.BOOLEAN,
        True,
        "Prepare checkouts when a text is sent",
        "Create the checkout of a voucher, product or mystery offer in the background once its "
        "text is sent, so that the link opens at once. A choice offer's checkout waits for the "
        "shopper's pick. Off: the first click creates the checkout.",
        _boolean,
    ),
)

COMPLIANCE_FIELDS = grouped(
    Section.COMPLIANCE,
    ConfigField(
        CONSENT_METADATA_KEY,
        FieldType.STRING,
        "sms_marketing_consent",
        "Consent metadata key",
        "Checkout, order or customer metadata key whose value (true/false) records consent "
        "to marketing texts. Empty: consent only through the API or a START reply.",
        _metadata_key,
    ),
    ConfigField(
        REPLY_TO_KEYWORDS,
        FieldType.BOOLEAN,
        True,
        "Answer HELP and START",
        "Turn off when Twilio's default or Advanced Opt-Out replies already answer them.",
        _boolean,
    ),
    ConfigField(
        REPLY_TO_STOP,
        FieldType.BOOLEAN,
        False,
        "Answer STOP",
        "Twilio confirms opt-outs itself on long codes, toll-free numbers and Messaging "
        "Services; turn on only for a short code outside a Messaging Service.",
        _boolean,
    ),
    ConfigField(
        RETENTION_DAYS,
        FieldType.STRING,
        "180",
        "Keep message texts (days)",
        "Bodies and order details of older messages are erased; 0 keeps them.",
        _count(0, 3650),
    ),
)

REPORTING_FIELDS = grouped(
    Section.REPORTING,
    ConfigField(
        PRICE_PER_SEGMENT,
        FieldType.STRING,
        "0.0083",
        "Price per text segment (USD)",
        "What the provider charges for one segment (160 GSM-7 or 70 Unicode characters) to "
        "this channel's numbers; the statistics estimate costs with it.",
        _price,
    ),
    ConfigField(
        STATS_PAGE,
        FieldType.OUTPUT,
        f"/plugins/channel/<channel>/{PLUGIN_ID}/{STATS_PATH}",
        "Statistics page",
        "Texts sent, delivered, clicked and converted, per flow and day: this channel's page, "
        "shown in full once a public base URL is saved. Open it with "
        "?token=<a staff access token> once; staff need the "
        "MANAGE_ORDERS or MANAGE_PLUGINS permission. The GraphQL API is next to it, at "
        f"{GRAPHQL_PATH}.",
        _text,
    ),
)


@cache
def text_help(key: str) -> str:
    """The help of a text's override field: its variables, and its English default with the
    encoding and segments it takes with sample values (opt-out line included)."""
    sample_values = texts.sample_variables("en", "USD")
    sample = texts.render_text(key, "en", sample_values)
    if texts.carries_opt_out_line(key):
        sample = f"{sample}\n{texts.render_text('opt_out_line', 'en', sample_values)}"
    info = texts.count_segments(sample)
    variables = ", ".join("{{ " + name + " }}" for name in texts.allowed_variables(key))
    return (
        f"Empty: the shipped text in the shopper's language. Variables: {variables}. "
        + ("The opt-out line is added below. " if texts.carries_opt_out_line(key) else "")
        + f"English default ({info.encoding}, {info.segments} segment(s) with sample "
        f"values): {texts.default_text(key, 'en')}"
    )


# Rendering every shipped text took most of this module's own import time
# (bench/bench_conf_import.py); Saleor reads a help text only when the Dashboard shows the form
# or a channel's first save stores it (its JSON encoder renders a lazy text).
_lazy_text_help = lazy(text_help, str)

TEXT_FIELDS = grouped(
    Section.TEXTS,
    ConfigField(
        TRANSLITERATE_LOOK_ALIKES,
        FieldType.BOOLEAN,
        True,
        "Keep texts in GSM-7",
        "Replace curly quotes, long dashes, special spaces and the ellipsis with their plain "
        "twins before sending. One such character turns a text into Unicode (UCS-2): 70 "
        "characters a segment instead of 160. Letters are never changed.",
        _boolean,
    ),
    *(
        ConfigField(
            text_override(key),
            FieldType.MULTILINE,
            "",
            key.replace("_", " ").capitalize(),
            _lazy_text_help(key),
            _template_parser(key),
        )
        for key in texts.TEXT_KEYS
    ),
)

FIELDS: list[ConfigField] = [
    *CONNECTION_FIELDS,
    *FLOW_FIELDS,
    *TIMING_FIELDS,
    *OFFER_FIELDS,
    *COMPLIANCE_FIELDS,
    *REPORTING_FIELDS,
    *TEXT_FIELDS,
]
_BY_NAME = {config_field.name: config_field for config_field in FIELDS}
_POSITIONS = {name: position for position, name in enumerate(_BY_NAME)}


def fields_by_name() -> dict[str, ConfigField]:
    return dict(_BY_NAME)


def in_form_order[Item: Mapping[str, Any]](items: Iterable[Item]) -> list[Item]:
    """Saleor's configuration items ({"name", "value", ...}) in the order of `FIELDS`; items of
    no field (left from an older version) go last."""
    return sorted(items, key=lambda item: _POSITIONS.get(item["name"], len(_POSITIONS)))


def parse_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse raw configuration values into typed ones, defaults filling the gaps.

    Raises ConfigurationError naming every field whose value is invalid by its Dashboard label.
    """
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for config_field in FIELDS:
        value = raw.get(config_field.name, config_field.default)
        if value is None:
            value = config_field.default
        try:
            parsed[config_field.name] = config_field.parse(value)
        except ValueError as error:
            errors[config_field.name] = problem_message(config_field, error)
    for name, message in _cross_field_errors(parsed).items():
        errors.setdefault(name, message)
    if errors:
        raise ConfigurationError(errors)
    return parsed


def problem_message(config_field: ConfigField, problem: ValueError) -> str:
    """What the admin reads: the field's Dashboard label, then what is wrong with its value."""
    separator = ": " if isinstance(problem, DetailedProblem) else " "
    return f"{config_field.dashboard_label}{separator}{problem}"


# Fields required once another one is filled in: (that one, the fields it requires).
REQUIRED_WITH: tuple[tuple[str, tuple[str, ...]], ...] = (
    (ACCOUNT_SID, (AUTH_TOKEN, SENDER)),
    (OFFERS, (PUBLIC_BASE_URL, CHECKOUT_URL_TEMPLATE)),
)


def _cross_field_errors(parsed: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for trigger, required in REQUIRED_WITH:
        if not parsed.get(trigger):
            continue
        for name in required:
            if name in parsed and not parsed[name]:
                problem = ValueError(
                    f"is required when {_BY_NAME[trigger].dashboard_label} is filled in"
                )
                errors[name] = problem_message(_BY_NAME[name], problem)
    return errors


def validate_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse the values an admin is saving, as `parse_values` does, and enforce the rules only
    a save enforces: a configuration stored before such a rule existed still loads, and its
    texts are checked one by one when they are due (see `composing.compose`).

    Raises ConfigurationError naming every field refused.
    """
    parsed = parse_values(raw)
    errors = {
        flow_switch(flow): problem_message(_BY_NAME[flow_switch(flow)], ValueError(problem))
        for flow in (Flow.POST_PURCHASE_OFFER, Flow.WIN_BACK, Flow.LOYALTY_INVITE)
        if parsed.get(flow_switch(flow)) and (problem := _texts_without_offer(parsed, flow))
    }
    if errors:
        raise ConfigurationError(errors)
    return parsed


def _texts_without_offer(parsed: Mapping[str, Any], flow: Flow) -> str:
    """Why the flow's texts would go out with empty offer values ('' when they would not)."""
    gaps = {
        step: names
        for step in _offer_steps(parsed, flow)
        if (names := _empty_values(parsed, flow, step))
    }
    if not gaps:
        return ""
    missing = dict.fromkeys(name for names in gaps.values() for name in names)
    numbers = ", ".join(str(step) for step in gaps)
    which = "its text" if 0 in gaps else ("texts " if len(gaps) > 1 else "text ") + numbers
    listed = ", ".join("{{ " + name + " }}" for name in missing)
    fixes = _fixes(flow, min(gaps), missing)
    return f"is on, but {which} would go out without {listed}: {fixes}; or turn it off"


def _offer_steps(parsed: Mapping[str, Any], flow: Flow) -> range:
    if flow == Flow.POST_PURCHASE_OFFER:
        return range(1, len(parsed[OFFER_DELAYS_MINUTES]) + 1)
    if flow == Flow.WIN_BACK:
        return range(1, parsed[WIN_BACK_MAX_TEXTS] + 1)
    return range(0, 1)  # one text, without steps


def _fixes(flow: Flow, first_step: int, missing: Iterable[str]) -> str:
    label = {config_field.name: config_field.dashboard_label for config_field in FIELDS}
    fixes = []
    if OFFER_VALUES.intersection(missing):
        fixes.append(
            f'add an offer ("flow": "{flow}", "step": {first_step}) to "{label[OFFERS]}", or '
            'one without "step" for every text'
            if first_step
            else f'add an offer ("flow": "{flow}") to "{label[OFFERS]}"'
        )
    if "offer_link" in missing:
        fixes.append(f'set "{label[PUBLIC_BASE_URL]}" and "{label[CHECKOUT_URL_TEMPLATE]}"')
    return "; ".join(fixes)


def _empty_values(parsed: Mapping[str, Any], flow: Flow, step: int) -> tuple[str, ...]:
    """The values a flow's text (the override, else the shipped one in any language) needs
    that this configuration leaves empty: an offer's without an offer, the link without an
    address to link to."""
    offer = offer_for(parsed.get(OFFERS) or (), flow, step)
    empty = set() if offer else set(OFFER_VALUES)
    link_base = parsed.get(LINK_HOST) or parsed.get(PUBLIC_BASE_URL)
    link_target = offer or parsed.get(STORE_URL) or parsed.get(CHECKOUT_URL_TEMPLATE)
    if not (link_base and link_target):
        empty.add("offer_link")
    key = texts.variant_key(f"{flow}_{step}") if step else flow.value
    override = parsed.get(text_override(key))
    sources = (
        [override]
        if override
        else [texts.default_text(key, language) for language in texts.SHIPPED_LANGUAGES]
    )
    needed = (name for source in sources for name in texts.required_variables(source))
    return tuple(dict.fromkeys(name for name in needed if name in empty))


def values_from_configuration(
    configuration: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Saleor keeps a configuration as a list of {"name", "value"} items."""
    return {item["name"]: item.get("value") for item in configuration}


@lru_cache(maxsize=256)
def stored_values(configuration_json: str) -> Mapping[str, Any]:
    """The parsed values of a configuration stored as Saleor stores it, from its JSON text.

    Remembered per text (read-only): a configuration is parsed once for as long as it stays
    the same, however many clicks read it. Raises ConfigurationError as `parse_values`.
    """
    return MappingProxyType(parse_values(values_from_configuration(json.loads(configuration_json))))


@dataclass(frozen=True)
class ChannelSettings:
    """A channel's facts and its parsed configuration."""

    channel_slug: str
    active: bool
    values: Mapping[str, Any]
    shop_name: str = ""
    default_country: str = ""
    currency: str = ""
    default_language: str = ""

    @classmethod
    def build(
        cls, channel_slug: str, active: bool, raw: Mapping[str, Any], **facts: Any
    ) -> ChannelSettings:
        return cls(channel_slug=channel_slug, active=active, values=parse_values(raw), **facts)

    @property
    def account_sid(self) -> str:
        return self.values[ACCOUNT_SID]

    @property
    def auth_token(self) -> str:
        return self.values[AUTH_TOKEN]

    @property
    def sender(self) -> str:
        return self.values[SENDER]

    @property
    def public_base_url(self) -> str:
        return self.values[PUBLIC_BASE_URL]

    @property
    def has_twilio_credentials(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.sender)

    @property
    def price_per_segment(self) -> Decimal:
        return self.values.get(PRICE_PER_SEGMENT, Decimal(0))

    @property
    def stats_url(self) -> str:
        """The statistics page of this channel ('' without a public base URL)."""
        return self.route_url(STATS_PATH)

    def flow_enabled(self, flow: Flow) -> bool:
        return bool(self.values.get(flow_switch(flow), False))

    def text_override(self, key: str) -> str | None:
        """The channel's own template for a text key, if the admin wrote one."""
        return self.values.get(text_override(key)) or None

    @property
    def transliterates_look_alikes(self) -> bool:
        return bool(self.values.get(TRANSLITERATE_LOOK_ALIKES, True))

    @property
    def prepares_checkouts(self) -> bool:
        return bool(self.values.get(PREPARE_CHECKOUTS, True))

    @property
    def link_host(self) -> str:
        return str(self.values.get(LINK_HOST, ""))

    def link_url(self, path: str) -> str:
        """Absolute URL of an offer link's route: on the link host when the channel has one,
        else Saleor's plugin route ('' with neither)."""
        if self.link_host:
            return f"{self.link_host}/{self.channel_slug}/{path}"
        return self.route_url(path)

    def callback_url(self, path: str) -> str:
        """Absolute URL of one of the provider callback routes of this channel."""
        return callback_url(self.public_base_url, self.channel_slug, path)

    def route_url(self, path: str) -> str:
        """Absolute URL of one of the plugin's routes for this channel ('' without a base URL)."""
        return channel_route_url(self.public_base_url, self.channel_slug, path)


def callback_url(public_base_url: str, channel_slug: str, path: str) -> str:
    """Absolute URL of a provider callback route for a channel ('' without a base URL).

    Callbacks go to Saleor's channel-less plugin route (`/plugins/<PLUGIN_ID>/...`), which
    reaches the plugin whether or not it is active in the channel: texts sent before an admin
    switched the plugin off still get their delivery reports recorded.
    """
    if not public_base_url:
        return ""
    return (
        f"{public_base_url.rstrip('/')}/plugins/{PLUGIN_ID}/{CALLBACKS_PATH}/{channel_slug}/{path}"
    )


def channel_route_url(public_base_url: str, channel_slug: str, path: str) -> str:
    """Absolute URL of one of the plugin's routes for a channel ('' without a base URL)."""
    if not public_base_url:
        return ""
    return f"{public_base_url.rstrip('/')}/plugins/channel/{channel_slug}/{PLUGIN_ID}/{path}"


def stats_page_address(channel_slug: str, values: Mapping[str, Any]) -> str:
    """What the read-only "Statistics page" field shows for a channel: its address."""
    public_base_url = str(values.get(PUBLIC_BASE_URL) or "")
    return channel_route_url(public_base_url, channel_slug, STATS_PATH) or (
        f"/plugins/channel/{channel_slug}/{PLUGIN_ID}/{STATS_PATH} (under the public base URL)"
    )


SettingsLoader = Callable[[str], ChannelSettings | None]


def get_channel_settings(channel_slug: str) -> ChannelSettings | None:
    """The channel's settings, from wherever this installation keeps them.

    Inside Saleor that is the plugin's configuration (through the Saleor bridge); elsewhere the
    `ChannelConfiguration` table. `SALEOR_SMS_SETTINGS_LOADER` names another loader.
    """
    return _loader()(channel_slug)


def _loader() -> SettingsLoader:
    path = get_setting("SALEOR_SMS_SETTINGS_LOADER")
    if path is None:
        from django.apps import apps

        path = (
            "saleor_sms_plugin.saleor_bridge.load_channel_settings"
            if apps.is_installed("saleor.plugins")
            else "saleor_sms_plugin.conf.load_stored_settings"
        )
    return import_string(path)


def load_stored_settings(channel_slug: str) -> ChannelSettings | None:
    """Settings kept in the plugin's own `ChannelConfiguration` table (demo, tests, non-Saleor)."""
    from .models import ChannelConfiguration

    row = ChannelConfiguration.objects.filter(channel_slug=channel_slug).first()
    if row is None:
        return None
    return row.to_settings()
