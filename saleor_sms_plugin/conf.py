"""One channel's configuration: the fields an admin edits, parsed and validated once.

Every configuration field is declared here, once. The Saleor plugin builds its Dashboard form
(`DEFAULT_CONFIGURATION`, `CONFIG_STRUCTURE`) from `FIELDS`, and validates a save with
`validate_values`; the core reads a channel's settings through `get_channel_settings`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from .constants import Flow
from .phones import is_e164

PLUGIN_ID = "saleor_sms_plugin.sms"


class FieldType:
    """The field types of Saleor's `ConfigurationTypeField`, by value."""

    STRING = "String"
    MULTILINE = "Multiline"
    BOOLEAN = "Boolean"
    SECRET = "Secret"  # noqa: S105 - a field type, not a password
    OUTPUT = "OUTPUT"


class ConfigurationError(ValueError):
    """Invalid configuration values; `errors` maps each field name to its problem."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: str
    default: Any
    label: str
    help_text: str
    parse: Parser = field(default=lambda value: value)


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
        raise ValueError("must be a Twilio Account SID: 'AC' followed by 32 hexadecimal digits")
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
)

FIELDS: list[ConfigField] = [
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
    *(
        ConfigField(
            flow_switch(flow),
            FieldType.BOOLEAN,
            default,
            "Send: " + flow.value.replace("_", " "),
            help_text,
            _boolean,
        )
        for flow, default, help_text in CONFIGURABLE_FLOWS
    ),
]


def fields_by_name() -> dict[str, ConfigField]:
    return {config_field.name: config_field for config_field in FIELDS}


def parse_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse raw configuration values into typed ones, defaults filling the gaps.

    Raises ConfigurationError naming every field whose value is invalid.
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
            errors[config_field.name] = str(error)
    for name, message in _cross_field_errors(parsed).items():
        errors.setdefault(name, message)
    if errors:
        raise ConfigurationError(errors)
    return parsed


def _cross_field_errors(parsed: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if parsed.get(ACCOUNT_SID):
        for name in (AUTH_TOKEN, SENDER):
            if name in parsed and not parsed[name]:
                errors[name] = "is required when an Account SID is set"
    return errors


def values_from_configuration(
    configuration: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Saleor keeps a configuration as a list of {"name", "value"} items."""
    return {item["name"]: item.get("value") for item in configuration}


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

    def flow_enabled(self, flow: Flow) -> bool:
        return bool(self.values.get(flow_switch(flow), False))

    def text_override(self, key: str) -> str | None:
        """The channel's own template for a text key, if the admin wrote one."""
        return self.values.get(f"text_{key}") or None

    def route_url(self, path: str) -> str:
        """Absolute URL of one of the plugin's routes for this channel ('' without a base URL)."""
        if not self.public_base_url:
            return ""
        return f"{self.public_base_url}/plugins/channel/{self.channel_slug}/{PLUGIN_ID}/{path}"


SettingsLoader = Callable[[str], ChannelSettings | None]


def get_channel_settings(channel_slug: str) -> ChannelSettings | None:
    """The channel's settings, from wherever this installation keeps them.

    Inside Saleor that is the plugin's configuration (through the Saleor bridge); elsewhere the
    `ChannelConfiguration` table. `SALEOR_SMS_SETTINGS_LOADER` names another loader.
    """
    return _loader()(channel_slug)


def _loader() -> SettingsLoader:
    path = getattr(django_settings, "SALEOR_SMS_SETTINGS_LOADER", None)
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
