"""The plugin's HTTP routes, served by Saleor's plugin webhook or by `urls.py` outside Saleor.

Every route lives under /plugins/channel/<channel>/<PLUGIN_ID>/<path>. Provider callbacks are
validated (signature first) before anything is looked up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from . import callbacks, inbound
from .conf import ChannelSettings, get_channel_settings
from .graphql.views import serve as graphql_endpoint
from .offer_pages import link_click, offer_choice
from .stats_page import stats_page

logger = logging.getLogger(__name__)

# Views take the request and the channel, and the route's named groups as keyword arguments.
ChannelView = Callable[..., HttpResponse]


def twilio_signature_valid(request: HttpRequest, channel: ChannelSettings) -> bool:
    """True when X-Twilio-Signature matches the URL Twilio called and the posted form."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not channel.auth_token or not channel.public_base_url:
        return False
    url = channel.public_base_url + request.get_full_path()
    validator = RequestValidator(channel.auth_token)
    return validator.validate(url, request.POST.dict(), signature)


def twilio_status(request: HttpRequest, channel: ChannelSettings) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    if not twilio_signature_valid(request, channel):
        logger.warning("Rejected a status callback with a missing or wrong signature")
        return HttpResponseForbidden("invalid signature")
    try:
        callbacks.apply_status_callback(request.GET.get("message", ""), request.POST.dict())
    except callbacks.InvalidCallback as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    return HttpResponse(status=204)


def twilio_inbound(request: HttpRequest, channel: ChannelSettings) -> HttpResponse:
    """A text a shopper sent to the store's number; answered with TwiML."""
    if request.method != "POST":
        return HttpResponse(status=405)
    if not twilio_signature_valid(request, channel):
        logger.warning("Rejected an incoming text with a missing or wrong signature")
        return HttpResponseForbidden("invalid signature")
    try:
        result = inbound.receive(channel, request.POST.dict())
    except inbound.InvalidInbound as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return HttpResponse(str(twiml), content_type="text/xml")


CHANNEL_ROUTES: list[tuple[re.Pattern[str], ChannelView]] = [
    (re.compile(r"^twilio/status/?$"), twilio_status),
    (re.compile(r"^twilio/inbound/?$"), twilio_inbound),
    (re.compile(r"^graphql/?$"), graphql_endpoint),
    (re.compile(r"^stats/?$"), stats_page),
    (re.compile(r"^l/(?P<token>[^/]*)/?$"), link_click),
    (re.compile(r"^l/(?P<token>[^/]*)/choose/?$"), offer_choice),
]


CALLBACK_ROUTES: list[tuple[re.Pattern[str], ChannelView]] = [
    (re.compile(r"^twilio/status/?$"), twilio_status),
]


@csrf_exempt
def callback_route(request: HttpRequest, channel_slug: str, path: str) -> HttpResponse:
    """Dispatch a provider callback for a channel, whether or not the plugin is active there:
    what was sent before it was switched off is still reported on."""
    return _dispatch(CALLBACK_ROUTES, request, channel_slug, path)


@csrf_exempt
def channel_route(request: HttpRequest, channel_slug: str, path: str) -> HttpResponse:
    """Dispatch a request for one channel's route to its view."""
    return _dispatch(CHANNEL_ROUTES, request, channel_slug, path)


def _dispatch(
    routes: list[tuple[re.Pattern[str], ChannelView]],
    request: HttpRequest,
    channel_slug: str,
    path: str,
) -> HttpResponse:
    for pattern, view in routes:
        match = pattern.match(path)
        if match:
            channel = get_channel_settings(channel_slug)
            if channel is None:
                return HttpResponseNotFound("unknown channel")
            return view(request, channel, **match.groupdict())
    return HttpResponseNotFound("unknown route")
