"""Routes for running the core outside Saleor, at the same paths Saleor serves them."""

from django.urls import path

from . import views
from .conf import CALLBACKS_PATH, PLUGIN_ID

urlpatterns = [
    path(
        f"plugins/{PLUGIN_ID}/{CALLBACKS_PATH}/<slug:channel_slug>/<path:path>",
        views.callback_route,
        name="saleor-sms-callback-route",
    ),
    path(
        f"plugins/channel/<slug:channel_slug>/{PLUGIN_ID}/<path:path>",
        views.channel_route,
        name="saleor-sms-channel-route",
    ),
]
