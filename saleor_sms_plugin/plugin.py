"""The Saleor plugin: declares the configuration and turns Saleor's hooks into core events.

This module and `saleor_bridge` are the only ones that import Saleor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from saleor.plugins.base_plugin import BasePlugin

from . import conf, handlers, saleor_bridge, views

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


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
    def validate_plugin_configuration(cls, plugin_configuration: Any, **kwargs: Any) -> None:
        """Reject a save with every invalid field named, before anything is stored."""
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

    def order_created(self, order: Any, previous_value: Any, **kwargs: Any) -> Any:
        if self.active:
            handlers.on_order_placed(saleor_bridge.order_snapshot(order))
        return previous_value

    def webhook(self, request: HttpRequest, path: str, previous_value: Any) -> HttpResponse:
        if self.channel is None:
            return previous_value
        return views.channel_route(request, self.channel.slug, (path or "").lstrip("/"))

    def order_cancelled(self, order: Any, previous_value: Any, **kwargs: Any) -> Any:
        if self.active:
            handlers.on_order_cancelled(str(order.id))
        return previous_value

    def fulfillment_created(
        self,
        fulfillment: Any,
        notify_customer: bool | None = True,
        previous_value: Any = None,
        **kwargs: Any,
    ) -> Any:
        if self.active:
            handlers.on_fulfillment_created(
                saleor_bridge.fulfillment_snapshot(fulfillment, notify_customer is not False)
            )
        return previous_value

    def tracking_number_updated(
        self, fulfillment: Any, previous_value: Any = None, **kwargs: Any
    ) -> Any:
        if self.active:
            handlers.on_tracking_updated(saleor_bridge.fulfillment_snapshot(fulfillment))
        return previous_value

    # Customer hooks run once per channel's plugin instance (Saleor calls them without a
    # channel); the core schedules a welcome once per customer, whichever channel comes first.
    def customer_created(self, customer: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        if self.active and self.channel is not None:
            handlers.on_customer_created(
                saleor_bridge.customer_snapshot(customer), self.channel.slug
            )
        return previous_value

    def customer_updated(self, customer: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        if self.active and self.channel is not None:
            handlers.on_customer_updated(
                saleor_bridge.customer_snapshot(customer), self.channel.slug
            )
        return previous_value

    # Erasure does not depend on the channel being active: the texts are stored either way.
    def customer_deleted(self, customer: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        handlers.on_customer_deleted(saleor_bridge.customer_snapshot(customer))
        return previous_value

    def account_deleted(self, user: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        handlers.on_account_deleted(saleor_bridge.customer_snapshot(user))
        return previous_value
