"""Process-wide settings: Django settings, then the environment, then one default."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from saleor_sms_plugin.settings import SETTINGS, get_setting


def test_default_is_used_when_neither_settings_nor_environment_name_it(monkeypatch, settings):
    monkeypatch.delenv("SALEOR_SMS_SENDING_LEASE", raising=False)
    assert get_setting("SALEOR_SMS_SENDING_LEASE") == timedelta(minutes=10)


def test_environment_is_read_when_django_settings_do_not_name_it(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_SENDING_LEASE", "90")
    monkeypatch.setenv("SALEOR_SMS_LINK_RATE_LIMIT", "5, 10")
    monkeypatch.setenv("SALEOR_SMS_TWILIO_API_URL", "http://127.0.0.1:9/")
    assert get_setting("SALEOR_SMS_SENDING_LEASE") == timedelta(seconds=90)
    assert get_setting("SALEOR_SMS_LINK_RATE_LIMIT") == (5, 10)
    assert get_setting("SALEOR_SMS_TWILIO_API_URL") == "http://127.0.0.1:9/"


def test_django_settings_win_over_the_environment(monkeypatch, settings):
    monkeypatch.setenv("SALEOR_SMS_CONCURRENCY", "8")
    settings.SALEOR_SMS_CONCURRENCY = 16
    assert get_setting("SALEOR_SMS_CONCURRENCY") == 16


def test_an_unreadable_value_names_the_setting(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_MAX_ATTEMPTS", "many")
    with pytest.raises(ImproperlyConfigured, match="SALEOR_SMS_MAX_ATTEMPTS"):
        get_setting("SALEOR_SMS_MAX_ATTEMPTS")


def test_every_setting_the_code_reads_is_declared():
    import pathlib
    import re

    package = pathlib.Path(__file__).resolve().parents[2] / "saleor_sms_plugin"
    read = set()
    for path in package.rglob("*.py"):
        read |= set(re.findall(r'get_setting\("(SALEOR_SMS_[A-Z_]+)"\)', path.read_text()))
    assert read
    assert read <= set(SETTINGS)
