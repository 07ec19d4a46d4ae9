"""Process-wide settings (`SALEOR_SMS_*`): each one's default, parser and documentation, once.

A value comes from Django's settings, else from the environment (as Saleor's own settings do,
so a Saleor deployment configures the plugin without a settings module), else the default.
Values are read when used, never at import, so tests may override them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured


def _seconds(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


def _integer(value: Any) -> int:
    return int(value)


def _number(value: Any) -> float:
    return float(value)


def _text(value: Any) -> str:
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    return _text(value) or None


def _pair(value: Any) -> tuple[int, int]:
    """(count, seconds): a tuple in Django settings, "30,60" in the environment."""
    items = value.split(",") if isinstance(value, str) else value
    first, second = (int(item) for item in items)
    return first, second


def _addresses(value: Any) -> tuple[str, ...]:
    """Addresses or networks: a list in Django settings, comma-separated in the environment."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


def _networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks ("10.0.0.0/8", "192.0.2.7"), each read as a network."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in _addresses(value))


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


_SETTINGS = (
    Setting(
        "SALEOR_SMS_BACKEND",
        None,
        _optional_text,
        "Dotted path of the sending backend; default: Twilio with credentials, else console.",
    ),
    Setting("SALEOR_SMS_CONCURRENCY", 64, _integer, "Texts in flight per batch loop (Twilio)."),
    Setting(
        "SALEOR_SMS_DISPATCH_LOOPS", 3, _integer, "Batch loops side by side in a worker process."
    ),
    Setting(
        "SALEOR_SMS_MAX_ATTEMPTS",
        6,
        _integer,
        "Sends before a transient provider error fails the text.",
    ),
    Setting(
        "SALEOR_SMS_RETRY_DELAY",
        timedelta(seconds=30),
        _seconds,
        "First backoff delay, doubled each attempt (capped at an hour); seconds.",
    ),
    Setting(
        "SALEOR_SMS_SENDING_LEASE",
        timedelta(minutes=10),
        _seconds,
        "A batch renews its hold on its texts every third of this; a text left `sending` "
        "this long by a worker that stopped is checked with the provider; seconds, at least "
        "4 x SALEOR_SMS_TWILIO_TIMEOUT.",
    ),
    Setting(
        "SALEOR_SMS_TWILIO_TIMEOUT", 30.0, _number, "Socket timeout of a Twilio request; seconds."
    ),
    Setting(
        "SALEOR_SMS_TWILIO_API_URL",
        None,
        _optional_text,
        "Another Twilio-compatible API (the bundled test server); default: Twilio's.",
    ),
    Setting(
        "SALEOR_SMS_PUBLISH_TIMEOUT",
        0.1,
        _number,
        "How long a request waits for the broker when it hands work to a worker (connecting, "
        "and each answer); seconds.",
    ),
    Setting(
        "SALEOR_SMS_PUBLISH_PAUSE",
        timedelta(seconds=5),
        _seconds,
        "After the broker failed a publish, requests hand nothing to it for this long (the "
        "periodic tasks catch up); seconds.",
    ),
    Setting(
        "SALEOR_SMS_LINK_RATE_LIMIT",
        (30, 60),
        _pair,
        "Offer link clicks per client per seconds; (0, 0) turns the limit off.",
    ),
    Setting(
        "SALEOR_SMS_LINK_RATE_LIMIT_CACHE",
        "default",
        _text,
        "The Django cache counting clicks (use a shared one, e.g. Redis).",
    ),
    Setting(
        "SALEOR_SMS_CLIENT_IP_HEADER",
        "",
        _text,
        "The request header (META key, e.g. HTTP_X_FORWARDED_FOR) the proxies in front write "
        "the client's address in; read from the right, SALEOR_SMS_PROXY_COUNT entries in.",
    ),
    Setting(
        "SALEOR_SMS_PROXY_COUNT",
        1,
        _integer,
        "Proxies in front of the application that each append to SALEOR_SMS_CLIENT_IP_HEADER "
        "(a header a single proxy sets, such as X-Real-IP: 1); 0 ignores the header.",
    ),
    Setting(
        "SALEOR_SMS_TRUSTED_PROXIES",
        (),
        _networks,
        "Addresses or networks of the proxy connecting to the application (REMOTE_ADDR); when "
        "given, the header is read only on requests from them. Comma-separated in the "
        "environment.",
    ),
    Setting(
        "SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE",
        65_536,
        _integer,
        "Largest GraphQL request body, in bytes; 0: no limit but Django's.",
    ),
    Setting(
        "SALEOR_SMS_GRAPHQL_MAX_DEPTH",
        20,
        _integer,
        "Deepest nesting of fields and fragments in a GraphQL request; 0: no limit.",
    ),
    Setting(
        "SALEOR_SMS_GRAPHQL_MAX_FIELDS",
        500,
        _integer,
        "Most fields a GraphQL request selects, a fragment's counted wherever it is spread; "
        "0: no limit.",
    ),
    Setting(
        "SALEOR_SMS_GRAPHQL_MAX_ALIASES",
        30,
        _integer,
        "Most aliases in a GraphQL request, counted like fields; 0: no limit.",
    ),
    Setting(
        "SALEOR_SMS_GRAPHQL_TIME_BUDGET",
        timedelta(seconds=10),
        _seconds,
        "After this, no further field of a GraphQL request is resolved; seconds, 0: no limit.",
    ),
    Setting(
        "SALEOR_SMS_TOKEN_MAX_AGE",
        timedelta(hours=1),
        _seconds,
        "Lifetime of staff tokens the plugin issues; seconds.",
    ),
    Setting(
        "SALEOR_SMS_SESSION_MAX_AGE",
        timedelta(hours=1),
        _seconds,
        "Lifetime of statistics page sessions; seconds.",
    ),
    Setting(
        "SALEOR_SMS_AUTHENTICATOR",
        None,
        _optional_text,
        "Dotted path of the request authenticator; default: Saleor's inside Saleor.",
    ),
    Setting(
        "SALEOR_SMS_CHECKOUT_GATEWAY",
        None,
        _optional_text,
        "Dotted path of the checkout gateway; default: Saleor's inside Saleor.",
    ),
    Setting(
        "SALEOR_SMS_SETTINGS_LOADER",
        None,
        _optional_text,
        "Dotted path of the channel settings loader; default: Saleor's inside Saleor.",
    ),
)

SETTINGS: dict[str, Setting] = {setting.name: setting for setting in _SETTINGS}


def get_setting(name: str) -> Any:
    """The value of process-wide setting `name`: Django settings, the environment, or its
    default. Raises ImproperlyConfigured, naming the setting, when a value cannot be read."""
    setting = SETTINGS[name]
    value = getattr(django_settings, name, None)
    if value is None:  # not in Django's settings, or set to None there
        value = os.environ.get(name)
    if value is None:
        return setting.default
    try:
        return setting.parse(value)
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"{name}: {value!r} cannot be read ({setting.help})") from error
