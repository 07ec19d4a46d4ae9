"""Sending backends, chosen like Django's email backends.

`SALEOR_SMS_BACKEND` names a backend class for every channel; without it a channel with
Twilio credentials uses Twilio and one without prints its texts to the console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from ..settings import get_setting
from .base import Lookup, OutgoingSms, SendResult, SmsBackend

if TYPE_CHECKING:
    from ..conf import ChannelSettings

__all__ = ["Lookup", "OutgoingSms", "SendResult", "SmsBackend", "get_backend"]

TWILIO_BACKEND = "saleor_sms_plugin.backends.twilio.TwilioBackend"
CONSOLE_BACKEND = "saleor_sms_plugin.backends.console.ConsoleBackend"


def get_backend(channel: ChannelSettings) -> SmsBackend:
    path = get_setting("SALEOR_SMS_BACKEND")
    if not path:
        path = TWILIO_BACKEND if channel.has_twilio_credentials else CONSOLE_BACKEND
    backend_class: type[SmsBackend] = import_string(path)
    return backend_class(channel)
