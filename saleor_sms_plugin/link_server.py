"""A light server for offer links: the click and the choice page, without the rest.

Saleor routes a request to a plugin through its whole middleware and by loading the channel's
plugins, which costs tens of milliseconds before the plugin runs. This application serves
only the link routes (`link_urls`), with no middleware, in the same Django settings as the
rest of the installation: Saleor's settings inside Saleor (the channel's configuration is
read as the plugin's route reads it), the plugin's standalone settings elsewhere.

    uvicorn saleor_sms_plugin.link_server:application --workers 2      # ASGI
    gunicorn saleor_sms_plugin.link_server:wsgi_application            # WSGI

`DJANGO_SETTINGS_MODULE` chooses the settings; unset, Saleor's when Saleor is installed.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import ResolverMatch

LINK_URLCONF = "saleor_sms_plugin.link_urls"


def default_settings_module() -> str:
    if importlib.util.find_spec("saleor") is not None:
        return "saleor.settings"
    return "saleor_sms_plugin.standalone_settings"


class LinkHandlerMixin(BaseHandler):
    """Resolves with the link URLconf and runs no middleware: the link views set their own
    security headers and need neither sessions, CSRF nor Saleor's JWT refresh."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        request.urlconf = LINK_URLCONF
        return super().resolve_request(request)


class LinkASGIHandler(LinkHandlerMixin, ASGIHandler):
    pass


class LinkWSGIHandler(LinkHandlerMixin, WSGIHandler):
    pass


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_settings_module())
    django.setup(set_prefix=False)


_setup()
application = LinkASGIHandler()
wsgi_application = LinkWSGIHandler()
