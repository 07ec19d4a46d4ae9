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
from django.db.models.signals import post_save, pre_delete
from saleor.account.models import User
from saleor.order import FulfillmentStatus
from saleor.plugins.base_plugin import BasePlugin

from . import checkouts, conf, event_inbox, handlers, periodic, saleor_bridge, views
from .events import CustomerSnapshot

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from saleor.order.models import Fulfillment, Order
    from saleor.plugins.models import PluginConfiguration

logger = logging.getLogger(__name__)

Hook = Callable[..., None]


def notify_core(event: str, handler: Callable[[], object]) -> None:
    """Run the core's handler for something Saleor reports; a failure is logged, not raised.

    Saleor reports orders and accounts inside the shopper's or staff member's request, mostly
    once its transaction has committed: an error raised here would answer that request with a
    500 although the order or account exists. The savepoint keeps an enclosing transaction
    usable.
    """
    try:
        with transaction.atomic():
            handler()
    except Exception:
        logger.exception("The SMS plugin could not handle Saleor's %s", event)


def core_hook(method: Hook) -> Callable[..., Any]:
    """Make a method one of Saleor's notification hooks: `previous_value` (always passed by
    keyword) goes back untouched, and the method's work runs through `notify_core`."""

    @functools.wraps(method)
    def hook(self: SmsPlugin, *args: Any, previous_value: Any = None, **kwargs: Any) -> Any:
        notify_core(method.__name__, lambda: method(self, *args, **kwargs))
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
        field.name: {
            "type": field.type,
            "label": field.dashboard_label,
            "help_text": field.help_text,
        }
        for field in conf.FIELDS
    }

    def get_plugin_configuration(
        self, configuration: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """The configuration Saleor shows, every channel's in the order of the form.

        Saleor keeps the order in which a channel's configuration was first saved and appends
        fields added since: a channel saved before a field moved to its section would show the
        old order.
        """
        return conf.in_form_order(super().get_plugin_configuration(configuration))

    @classmethod
    def validate_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration, **kwargs: Any
    ) -> None:
        """Reject a save with every invalid field named, before anything is stored.

        Saleor calls this with the stored configuration already merged with the admin's
        changes. Each GraphQL error carries the field's name in camelCase (`account_sid` ->
        `accountSid`) and a message that names it by the label the Dashboard shows.
        """
        values = conf.values_from_configuration(plugin_configuration.configuration or [])
        try:
            parsed = conf.validate_values(values)
        except conf.ConfigurationError as error:
            raise ValidationError(
                {
                    name: ValidationError(message, code="invalid")
                    for name, message in error.errors.items()
                }
            ) from error
        channel = plugin_configuration.channel
        if channel is not None and parsed[conf.OFFERS]:
            problems = checkouts.offers_problems(channel.slug, parsed[conf.OFFERS])
            if problems:
                problem = conf.DetailedProblem("; ".join(problems))
                message = conf.problem_message(conf.fields_by_name()[conf.OFFERS], problem)
                raise ValidationError({conf.OFFERS: ValidationError(message, code="invalid")})

    @classmethod
    def pre_save_plugin_configuration(cls, plugin_configuration: PluginConfiguration) -> None:
        """Show the channel's own statistics page address in the Dashboard."""
        channel = plugin_configuration.channel
        configuration = plugin_configuration.configuration or []
        values = conf.values_from_configuration(configuration)
        address = conf.stats_page_address(channel.slug if channel else "<channel>", values)
        for item in configuration:
            if item["name"] == conf.STATS_PAGE:
                item["value"] = address
                return
        configuration.append({"name": conf.STATS_PAGE, "value": address})
        plugin_configuration.configuration = configuration

    @core_hook
    def order_created(self, order: Order, **kwargs: Any) -> None:
        # In the shopper's checkout: one INSERT in the order's transaction, nothing read; a
        # worker schedules the texts (`_order_created`), the confirmation as soon as it commits.
        channel_slug = self.channel.slug if self.channel else order.channel.slug
        event_inbox.record_event(
            ORDER_CREATED, str(order.id), channel_slug=channel_slug, payload={}
        )

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

    def webhook(self, request: HttpRequest, path: str, previous_value: Any) -> HttpResponse:
        """Requests to /plugins/channel/<channel>/<PLUGIN_ID>/<path> (this instance's channel,
        while active) and to /plugins/<PLUGIN_ID>/callbacks/<channel>/<path> (provider
        callbacks: Saleor hands those to an instance of any channel, active or not); Saleor
        passes `/<path>`."""
        route = (path or "").lstrip("/")
        callback_channel, _, callback_path = route.removeprefix(
            conf.CALLBACKS_PATH + "/"
        ).partition("/")
        if route.startswith(conf.CALLBACKS_PATH + "/") and callback_channel:
            return views.callback_route(request, callback_channel, callback_path)
        if self.channel is None:
            return previous_value
        return views.channel_route(request, self.channel.slug, route)


ORDER_CREATED = "saleor.order_created"


@event_inbox.handles(ORDER_CREATED)
def _order_created(event: event_inbox.RecordedEvent) -> None:
    """Schedule the texts of an order Saleor reported, as the order is now."""
    order = saleor_bridge.placed_order(event.key)
    if order is not None:
        handlers.on_order_placed(saleor_bridge.order_snapshot(order))


def run_periodic_tasks_in_saleor_beat() -> None:
    """Hand the plugin's periodic tasks to Saleor's Celery beat.

    Saleor's beat (`saleor.schedulers.schedulers.DatabaseScheduler`) runs only the rows of its
    own `CustomPeriodicTask` table, which it fills from its Celery app's beat schedule when it
    starts; Saleor's own periodic tasks get there the same way (`CELERY_BEAT_SCHEDULE`).
    """
    from saleor.celeryconf import app

    periodic.add_to_beat_schedule(app)


def follow_customer_accounts() -> None:
    """Report customer accounts to the core through Saleor's `User` model signals.

    Saleor calls the customer hooks (`customer_created`, `customer_updated`, `customer_deleted`,
    `account_deleted`) without a channel, and so only on the per-channel plugin instances its
    manager happens to have loaded in that request: `customerCreate`, `customerUpdate` and
    `customerDelete` reach none, `accountRegister` reaches one twice. Signals see every account
    saved or deleted. `updateMetadata` writes with a queryset update, which sends no signal:
    consent written that way is read from the account at the customer's next order.
    """
    post_save.connect(_account_saved, sender=User, dispatch_uid="saleor_sms_plugin.account_saved")
    pre_delete.connect(
        _account_deleting, sender=User, dispatch_uid="saleor_sms_plugin.account_deleting"
    )


def _account_saved(
    sender: type,
    instance: User,
    created: bool = False,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw or instance.is_staff:
        return
    # Of an existing account the core reads only the consent kept in its metadata; a login
    # saving `last_login`, say, changes nothing it needs.
    if not created and update_fields is not None and "metadata" not in update_fields:
        return
    handler = handlers.on_customer_created if created else handlers.on_customer_updated
    user_id = instance.pk
    event = "account creation" if created else "account update"
    transaction.on_commit(lambda: notify_core(event, lambda: _announce(handler, user_id)))


def _announce(handler: Callable[[CustomerSnapshot, str], object], user_id: int) -> None:
    """The account as committed, to every channel where the plugin is active."""
    customer = saleor_bridge.committed_customer(user_id)
    if customer is None:
        return
    for channel_slug in saleor_bridge.active_channel_slugs():
        handler(customer, channel_slug)


def _account_deleting(sender: type, instance: User, **kwargs: Any) -> None:
    # Erasure does not depend on the plugin being active anywhere: texts are stored either way.
    # The snapshot is taken now, while the account's addresses still exist.
    notify_core(
        "account deletion", lambda: _erase_once_committed(saleor_bridge.customer_snapshot(instance))
    )


def _erase_once_committed(customer: CustomerSnapshot) -> None:
    transaction.on_commit(
        lambda: notify_core("account deletion", lambda: handlers.on_customer_deleted(customer))
    )
