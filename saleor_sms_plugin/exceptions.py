"""One tree of errors for everything that can go wrong when a text is sent."""

from __future__ import annotations


class SmsError(Exception):
    """Sending failed. `code` is the provider's error code, `status` its HTTP status."""

    retryable = False

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def __str__(self) -> str:
        detail = super().__str__()
        return f"[{self.code}] {detail}" if self.code else detail


class TransientSmsError(SmsError):
    """Rate limits, provider outages and network errors: worth trying again later."""

    retryable = True


class UncertainDelivery(TransientSmsError):
    """The request may have reached the provider, but no answer came back (a read timeout,
    a connection lost mid-answer). The text is not sent again until the provider has been
    asked whether it went out."""


class RecipientError(SmsError):
    """The number can never receive this text; retrying cannot help."""


class InvalidRecipient(RecipientError):
    """Not a valid mobile number (Twilio 21211, 21614)."""


class RecipientOptedOut(RecipientError):
    """The recipient has unsubscribed from the sender at the carrier (Twilio 21610)."""


class ProviderConfigurationError(SmsError):
    """The channel's credentials or sender are wrong (e.g. Twilio 20003, 21212)."""


class LeaseLost(SmsError):
    """Not sent, nor asked about: the batch no longer holds the text's row (another worker
    took it over after the lease ran out), so that worker decides what becomes of it."""
