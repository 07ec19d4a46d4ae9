"""System checks: sending settings that cannot work, alone or together, are refused at startup."""

from __future__ import annotations

import pytest
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def plugin_messages():
    """What `manage.py check` reports about this plugin (registered with Django's checks)."""
    return [message for message in run_checks() if message.id.startswith("saleor_sms_plugin.")]


def test_the_defaults_pass(monkeypatch):
    for name in ("SALEOR_SMS_SENDING_LEASE", "SALEOR_SMS_TWILIO_TIMEOUT", "SALEOR_SMS_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    assert plugin_messages() == []


def test_a_lease_shorter_than_four_twilio_timeouts_is_refused(settings):
    settings.SALEOR_SMS_SENDING_LEASE = 15
    settings.SALEOR_SMS_TWILIO_TIMEOUT = 30

    [message] = plugin_messages()

    assert isinstance(message, Error)
    assert message.id == "saleor_sms_plugin.E001"
    assert message.msg == (
        "SALEOR_SMS_SENDING_LEASE (15 s) is shorter than 4 x SALEOR_SMS_TWILIO_TIMEOUT (30 s), "
        "120 s."
    )
    assert "Set the lease to 120 s or more, or lower the timeout" in message.hint


def test_a_lease_of_four_twilio_timeouts_is_enough(settings):
    settings.SALEOR_SMS_SENDING_LEASE = 8
    settings.SALEOR_SMS_TWILIO_TIMEOUT = 2

    assert plugin_messages() == []


def test_settings_from_the_environment_are_checked_too(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_SENDING_LEASE", "60")
    monkeypatch.setenv("SALEOR_SMS_TWILIO_TIMEOUT", "20")

    assert [message.id for message in plugin_messages()] == ["saleor_sms_plugin.E001"]


@pytest.mark.parametrize(
    "name", ["SALEOR_SMS_CONCURRENCY", "SALEOR_SMS_DISPATCH_LOOPS", "SALEOR_SMS_MAX_ATTEMPTS"]
)
def test_a_count_below_one_is_refused(settings, name):
    setattr(settings, name, 0)

    [message] = plugin_messages()

    assert (message.id, message.msg) == (
        "saleor_sms_plugin.E002",
        f"{name} is 0; it must be greater than zero.",
    )


def test_a_timeout_of_zero_is_refused_and_not_compared_with_the_lease(settings):
    settings.SALEOR_SMS_TWILIO_TIMEOUT = 0

    assert [message.id for message in plugin_messages()] == ["saleor_sms_plugin.E002"]


def test_an_unreadable_setting_is_reported_with_its_name(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_SENDING_LEASE", "ten minutes")

    [message] = plugin_messages()

    assert message.id == "saleor_sms_plugin.E003"
    assert message.msg.startswith("SALEOR_SMS_SENDING_LEASE: 'ten minutes' cannot be read")


def test_a_concurrency_above_the_batch_size_is_flagged(settings):
    settings.SALEOR_SMS_CONCURRENCY = 1000

    [message] = plugin_messages()

    assert isinstance(message, Warning)
    assert message.id == "saleor_sms_plugin.W001"
    assert "above the batch size (500)" in message.msg


def test_manage_py_check_stops_on_settings_that_cannot_work_together(settings):
    settings.SALEOR_SMS_SENDING_LEASE = 15

    with pytest.raises(SystemCheckError, match=r"saleor_sms_plugin\.E001"):
        call_command("check")
