"""Test helpers shipped with the plugin, for this project and for stores' own suites."""

from .server import AcceptedMessage, Callback, TwilioApiError, TwilioServer

__all__ = ["AcceptedMessage", "Callback", "TwilioApiError", "TwilioServer"]
