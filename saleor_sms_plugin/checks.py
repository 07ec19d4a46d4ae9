"""System checks: sending settings that cannot work, alone or together, are refused at startup
(`manage.py check`, `migrate`, `runserver`), each with the setting named and what to change.

A batch's own length is not checked against the lease: a batch renews its hold on its rows
while it works (leases.py), so a slow provider or a low concurrency makes it longer, never
unsafe. What the lease must cover is one request, from the last renewal (see E001).
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .dispatch import DEFAULT_BATCH_SIZE
from .leases import REQUEST_WAITS, STARTS_WITHIN_LEASE, shortest_lease
from .settings import get_setting

#: Settings that must be above zero, each read as a number of seconds or a count.
POSITIVE = (
    "SALEOR_SMS_CONCURRENCY",
    "SALEOR_SMS_DISPATCH_LOOPS",
    "SALEOR_SMS_MAX_ATTEMPTS",
    "SALEOR_SMS_RETRY_DELAY",
    "SALEOR_SMS_SENDING_LEASE",
    "SALEOR_SMS_TWILIO_TIMEOUT",
)


def check_sending_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every problem with the sending settings, as Django system check messages."""
    values: dict[str, float] = {}
    problems: list[checks.CheckMessage] = []
    for name in POSITIVE:
        try:
            values[name] = _number(get_setting(name))
        except ImproperlyConfigured as error:
            problems.append(checks.Error(str(error), id="saleor_sms_plugin.E003"))
            continue
        if values[name] <= 0:
            problems.append(_not_positive(name, values[name]))
            del values[name]
    return problems + _lease_covers_a_request(values) + _concurrency_fits_a_batch(values)


def _number(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def _not_positive(name: str, value: float) -> checks.Error:
    return checks.Error(
        f"{name} is {value:g}; it must be greater than zero.",
        hint=f"Remove {name} to use its default, or set a positive value.",
        id="saleor_sms_plugin.E002",
    )


def _lease_covers_a_request(values: dict[str, float]) -> list[checks.CheckMessage]:
    if not {"SALEOR_SMS_SENDING_LEASE", "SALEOR_SMS_TWILIO_TIMEOUT"} <= values.keys():
        return []
    lease, timeout = values["SALEOR_SMS_SENDING_LEASE"], values["SALEOR_SMS_TWILIO_TIMEOUT"]
    shortest = shortest_lease(timeout).total_seconds()
    if lease >= shortest:
        return []
    return [
        checks.Error(
            f"SALEOR_SMS_SENDING_LEASE ({lease:g} s) is shorter than "
            f"{shortest / timeout:g} x SALEOR_SMS_TWILIO_TIMEOUT ({timeout:g} s), "
            f"{shortest:g} s.",
            hint=(
                f"A text may start going out up to {STARTS_WITHIN_LEASE:.0%} of the lease "
                "after its batch last renewed its hold, and a Twilio request can take "
                f"{REQUEST_WAITS} timeouts (connecting, then the answer). With a shorter "
                "lease, recovery may ask Twilio about a text still on its way, find nothing "
                f"and send it again. Set the lease to {shortest:g} s or more, or lower the "
                "timeout."
            ),
            id="saleor_sms_plugin.E001",
        )
    ]


def _concurrency_fits_a_batch(values: dict[str, float]) -> list[checks.CheckMessage]:
    concurrency = values.get("SALEOR_SMS_CONCURRENCY", 0)
    if concurrency <= DEFAULT_BATCH_SIZE:
        return []
    return [
        checks.Warning(
            f"SALEOR_SMS_CONCURRENCY ({concurrency:g}) is above the batch size "
            f"({DEFAULT_BATCH_SIZE}): a batch never has more texts in flight than it holds.",
            hint=(
                f"Set it to {DEFAULT_BATCH_SIZE} or less; for more texts in flight per "
                "process, raise SALEOR_SMS_DISPATCH_LOOPS instead."
            ),
            id="saleor_sms_plugin.W001",
        )
    ]
