"""The Saleor plugin: declares the configuration and turns Saleor's hooks into core events.

This module and `saleor_bridge` are the only ones that import Saleor. Saleor calls a hook on
the plugin instance of the order's channel, and only while that instance is active; every hook
hands its value on untouched (`previous_value`), as notification hooks must.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from saleor.order import FulfillmentStatus
from saleor.plugins.base_plugin import BasePlugin

from . import conf, handlers, saleor_bridge, views

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from saleor.account.models import User
    from saleor.order.models import Fulfillment, Order
    from saleor.plugins.models import PluginConfiguration

logger = logging.getLogger(__name__)

Hook = Callable[..., None]


def core_hook(method: Hook) -> Callable[..., Any]:
    """Make a method one of Saleor's notification hooks that hands the core an event.

    Saleor passes `previous_value` by keyword and expects it back untouched. It runs the hooks
    inside the shopper's or staff member's request, mostly once the order's transaction has
    committed: an error raised here would answer that request with a 500 although the order
    exists, so a failure is logged instead, and the savepoint keeps an enclosing transaction
    usable.
    """

    @functools.wraps(method)
    def hook(self: SmsPlugin, *args: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        try:
            with transaction.atomic():
                method(self, *args, **kwargs)
        except Exception:
            logger.exception("The SMS plugin could not handle Saleor's %s", method.__name__)
        return previous_value

    return hook


class SmsPlugin(BasePlugin):
    PLUGIN_ID = conf.PLUGIN_ID
    PLUGIN_NAME = "SMS"
    PLUGIN_DESCRIPTION = (
        "Text messages for orders: confirmations, shipping notices, offers with one-tap "
        "checkout links, win-back and review requests, sent through Twilio."
    )
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_ACTIVE = False
    DEFAULT_CONFIGURATION = [{"name": field.name, "value": field.default} for field in conf.FIELDS]
    CONFIG_STRUCTURE = {
        field.name: {"type": field.type, "label": field.label, "help_text": field.help_text}
        for field in conf.FIELDS
    }

    @classmethod
    def validate_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration, **kwargs: Any
    ) -> None:
        """Reject a save with every invalid field named, before anything is stored.

        Saleor calls this with the stored configuration already merged with the admin's
        changes; the GraphQL error names each field in camelCase (`account_sid` ->
        `accountSid`).
        """
        values = conf.values_from_configuration(plugin_configuration.configuration or [])
        try:
            conf.parse_values(values)
        except conf.ConfigurationError as error:
            raise ValidationError(
                {
                    name: ValidationError(f"{name} {message}", code="invalid")
                    for name, message in error.errors.items()
                }
            ) from error

    @core_hook
    def order_created(self, order: Order, **kwargs: Any) -> None:
        handlers.on_order_placed(saleor_bridge.order_snapshot(order))

    @core_hook
    def order_cancelled(self, order: Order, **kwargs: Any) -> None:
        handlers.on_order_cancelled(str(order.id))

    @core_hook
    def fulfillment_created(
        self, fulfillment: Fulfillment, notify_customer: bool | None = True, **kwargs: Any
    ) -> None:
        # A fulfillment waiting for approval has not shipped: `fulfillment_approved` follows.
        if fulfillment.status != FulfillmentStatus.WAITING_FOR_APPROVAL:
            handlers.on_fulfillment_created(
                saleor_bridge.fulfillment_snapshot(fulfillment, notify_customer is not False)
            )

    @core_hook
    def fulfillment_approved(
        self, fulfillment: Fulfillment, notify_customer: bool | None = True, **kwargs: Any
    ) -> None:
        # Saleor also calls this for fulfillments it already announced as created; the texts
        # of a fulfillment are keyed by its id, so the second call schedules nothing new.
        handlers.on_fulfillment_created(
            saleor_bridge.fulfillment_snapshot(fulfillment, notify_customer is not False)
        )

    @core_hook
    def tracking_number_updated(self, fulfillment: Fulfillment, **kwargs: Any) -> None:
        handlers.on_tracking_updated(saleor_bridge.fulfillment_snapshot(fulfillment, True))

    # Saleor calls the customer hooks without a channel, on every channel instance it has
    # loaded; the core welcomes a customer once, whichever channel comes first.
    @core_hook
    def customer_created(self, customer: User, **kwargs: Any) -> None:
        if self.channel is not None:
            handlers.on_customer_created(
                saleor_bridge.customer_snapshot(customer), self.channel.slug
            )

    @core_hook
    def customer_updated(self, customer: User, **kwargs: Any) -> None:
        if self.channel is not None:
            handlers.on_customer_updated(
                saleor_bridge.customer_snapshot(customer), self.channel.slug
            )

    # Erasure covers every channel's texts, whichever channel's instance Saleor calls.
    @core_hook
    def customer_deleted(self, customer: User, **kwargs: Any) -> None:
        handlers.on_customer_deleted(saleor_bridge.customer_snapshot(customer))

    @core_hook
    def account_deleted(self, user: User, **kwargs: Any) -> None:
        handlers.on_account_deleted(saleor_bridge.customer_snapshot(user))

    def webhook(self, request: HttpRequest, path: str, previous_value: Any) -> HttpResponse:
        """Requests to /plugins/channel/<channel>/<PLUGIN_ID>/<path>; Saleor passes `/<path>`."""
        if self.channel is None:
            return previous_value
        return views.channel_route(request, self.channel.slug, (path or "").lstrip("/"))
