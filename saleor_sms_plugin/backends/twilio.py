"""Sends texts with Twilio's Messages API through the official SDK."""

from __future__ import annotations

import functools
import threading
from datetime import datetime

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ..constants import TwilioError
from ..exceptions import (
    InvalidRecipient,
    ProviderConfigurationError,
    RecipientOptedOut,
    SmsError,
    TransientSmsError,
    UncertainDelivery,
)
from ..settings import get_setting
from .base import OutgoingSms, SendResult, SmsBackend
from .twilio_http import BaseUrlHttpClient, NoAnswer, NotSent

INVALID_RECIPIENT_CODES = frozenset({TwilioError.INVALID_TO_NUMBER, TwilioError.NOT_MOBILE})
CONFIGURATION_CODES = frozenset(
    {
        TwilioError.AUTHENTICATION_FAILED,
        TwilioError.INVALID_FROM_NUMBER,
        21606,
        21603,
        21659,
    }
)


class TwilioBackend(SmsBackend):
    @property
    def concurrency(self) -> int:  # type: ignore[override]
        return int(get_setting("SALEOR_SMS_CONCURRENCY"))

    @functools.cached_property
    def client(self) -> Client:
        # Looked up once per backend (a backend serves one batch), not once per text.
        return _client(
            self.channel.account_sid,
            self.channel.auth_token,
            get_setting("SALEOR_SMS_TWILIO_API_URL"),
            self.concurrency,
            get_setting("SALEOR_SMS_TWILIO_TIMEOUT"),
        )

    def send(self, sms: OutgoingSms) -> SendResult:
        sender = sms.sender or self.channel.sender
        params: dict[str, str] = {"to": sms.to, "body": sms.body}
        if sender.startswith("MG"):
            params["messaging_service_sid"] = sender
        else:
            params["from_"] = sender
        if sms.status_callback:
            params["status_callback"] = sms.status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as error:
            raise translate_error(error) from error
        except NoAnswer as error:
            raise UncertainDelivery(f"no answer from Twilio: {error}") from error
        except (NotSent, TwilioException) as error:
            raise TransientSmsError(f"could not reach Twilio: {error}") from error
        segments = int(message.num_segments) if message.num_segments else None
        return SendResult(
            provider_id=message.sid, provider_status=message.status, segments=segments
        )

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        try:
            candidates = self.client.messages.list(to=to, date_sent_after=since, limit=50)
        except TwilioRestException as error:
            raise translate_error(error) from error
        except (OSError, TwilioException) as error:
            raise TransientSmsError(f"could not reach Twilio: {error}") from error
        for message in candidates:
            if message.body == body:
                return message.sid
        return None


def translate_error(error: TwilioRestException) -> SmsError:
    """Twilio's error, as the type of this plugin's error tree that says what to do next."""
    text = error.msg or str(error)
    code, status = error.code, error.status
    if code == TwilioError.UNSUBSCRIBED_RECIPIENT:
        return RecipientOptedOut(text, code=code, status=status)
    if code in INVALID_RECIPIENT_CODES:
        return InvalidRecipient(text, code=code, status=status)
    if status == 429 or code == TwilioError.TOO_MANY_REQUESTS or (status or 0) >= 500:
        return TransientSmsError(text, code=code, status=status)
    if code in CONFIGURATION_CODES or status in (401, 403):
        return ProviderConfigurationError(text, code=code, status=status)
    return SmsError(text, code=code, status=status)


_clients: dict[tuple[str, str, str | None, int, float], Client] = {}
_clients_lock = threading.Lock()


def _client(
    account_sid: str, auth_token: str, api_url: str | None, pool_size: int, timeout: float
) -> Client:
    """One client per account and process: its HTTP connections stay open between batches.

    Made under a lock: the first batch's sending threads all ask for it at the same moment.
    """
    key = (account_sid, auth_token, api_url, pool_size, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            http_client = BaseUrlHttpClient(base_url=api_url, pool_size=pool_size, timeout=timeout)
            client = _clients[key] = Client(account_sid, auth_token, http_client=http_client)
        return client
