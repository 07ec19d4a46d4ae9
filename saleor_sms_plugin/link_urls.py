"""The link server's URLconf: offer links and the choice page, and nothing else.

`<channel>/l/<token>` is what texts carry when the channel has a link host; Saleor's plugin
paths of the same routes are served too, so a proxy can send them here (and links already
sent keep working when a channel moves to a link host).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import offer_pages
from .conf import PLUGIN_ID, get_channel_settings
from .views import ChannelView


def channel_view(view: ChannelView) -> ChannelView:
    """A link view of one channel, found as the plugin's route finds it (Saleor's plugin
    configuration inside Saleor); a channel where the plugin is not active has no links."""

    @csrf_exempt
    def serve(request: HttpRequest, channel_slug: str, token: str) -> HttpResponse:
        channel = get_channel_settings(channel_slug)
        if channel is None or not channel.active:
            return HttpResponseNotFound("unknown channel")
        return view(request, channel, token=token)

    return serve


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


link_click = channel_view(offer_pages.link_click)
offer_choice = channel_view(offer_pages.offer_choice)

urlpatterns = [
    path("health/", health, name="saleor-sms-link-health"),
    path("<slug:channel_slug>/l/<str:token>", link_click, name="saleor-sms-link"),
    path("<slug:channel_slug>/l/<str:token>/choose", offer_choice, name="saleor-sms-choice"),
    path(f"plugins/channel/<slug:channel_slug>/{PLUGIN_ID}/l/<str:token>", link_click),
    path(f"plugins/channel/<slug:channel_slug>/{PLUGIN_ID}/l/<str:token>/choose", offer_choice),
]
