"""What the core needs from Saleor, in Saleor's terms: snapshots and channel settings.

With `plugin.py`, the only module that imports Saleor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from saleor.account.models import User
from saleor.channel.models import Channel
from saleor.plugins.models import PluginConfiguration
from saleor.site.models import Site

from .auth import ANONYMOUS, InvalidToken, Viewer, ViewerKind
from .conf import PLUGIN_ID, ChannelSettings, values_from_configuration
from .events import (
    AddressSnapshot,
    CustomerSnapshot,
    FulfillmentSnapshot,
    OrderLineSnapshot,
    OrderSnapshot,
)

if TYPE_CHECKING:
    from saleor.account.models import Address
    from saleor.order.models import Fulfillment, Order


def address_snapshot(address: Address | None) -> AddressSnapshot | None:
    if address is None:
        return None
    return AddressSnapshot(
        first_name=address.first_name or "",
        last_name=address.last_name or "",
        # A PhoneNumber prints as E.164; an empty field is "".
        phone=str(address.phone or ""),
        country=address.country.code or "",
        country_area=address.country_area or "",
        city=address.city or "",
        postal_code=address.postal_code or "",
        street_address_1=address.street_address_1 or "",
        street_address_2=address.street_address_2 or "",
        company_name=address.company_name or "",
    )


def order_snapshot(order: Order) -> OrderSnapshot:
    user = order.user
    return OrderSnapshot(
        id=str(order.id),
        number=str(order.number),
        channel_slug=order.channel.slug,
        email=order.user_email or (user.email if user else ""),
        total=Decimal(order.total_gross_amount),
        currency=order.currency,
        created_at=order.created_at,
        language_code=order.language_code or "",
        user_id=str(user.pk) if user else "",
        customer_language_code=(user.language_code or "") if user else "",
        billing_address=address_snapshot(order.billing_address),
        shipping_address=address_snapshot(order.shipping_address),
        lines=tuple(
            OrderLineSnapshot(
                variant_id=str(line.variant_id or ""),
                product_name=line.product_name,
                quantity=line.quantity,
                sku=line.product_sku or "",
            )
            for line in order.lines.all()
        ),
        metadata=dict(order.metadata or {}),
        customer_metadata=dict(user.metadata or {}) if user else {},
    )


def fulfillment_snapshot(fulfillment: Fulfillment, notify_customer: bool) -> FulfillmentSnapshot:
    return FulfillmentSnapshot(
        id=str(fulfillment.pk),
        order=order_snapshot(fulfillment.order),
        tracking_number=fulfillment.tracking_number or "",
        created_at=fulfillment.created_at,
        notify_customer=notify_customer,
    )


def customer_snapshot(user: User) -> CustomerSnapshot:
    """A customer account; also called for an account just deleted (Saleor restores its id)."""
    default = _existing(user, "default_billing_address") or _existing(
        user, "default_shipping_address"
    )
    addresses = user.addresses.all() if user.pk else []
    return CustomerSnapshot(
        id=str(user.pk or ""),
        email=user.email or "",
        first_name=user.first_name or "",
        language_code=user.language_code or "",
        default_address=address_snapshot(default),
        metadata=dict(user.metadata or {}),
        addresses=tuple(
            snapshot for address in addresses if (snapshot := address_snapshot(address))
        ),
    )


def committed_customer(user_id: int) -> CustomerSnapshot | None:
    """A customer account as stored, or None for a staff member or a deleted account."""
    user = User.objects.filter(pk=user_id, is_staff=False).first()
    return customer_snapshot(user) if user is not None else None


def active_channel_slugs() -> list[str]:
    """The active channels where the plugin is active, by slug."""
    return list(
        PluginConfiguration.objects.filter(
            identifier=PLUGIN_ID, active=True, channel__is_active=True
        )
        .order_by("channel__slug")
        .values_list("channel__slug", flat=True)
    )


def _existing(instance: Any, relation: str) -> Any:
    # The related row may be gone together with a deleted account.
    try:
        return getattr(instance, relation)
    except ObjectDoesNotExist:
        return None


def load_channel_settings(channel_slug: str) -> ChannelSettings | None:
    """The plugin's configuration for a channel, as Saleor stores it, with the channel's facts.

    Saleor stores a configuration as a list of {"name", "value", ...} items, the values as the
    admin sent them (booleans as booleans); fields it does not store take their defaults.
    The plugin counts as active only while both its configuration and the channel are active.
    """
    channel = Channel.objects.filter(slug=channel_slug).first()
    if channel is None:
        return None
    stored = PluginConfiguration.objects.filter(identifier=PLUGIN_ID, channel=channel).first()
    raw = values_from_configuration(stored.configuration) if stored else {}
    return ChannelSettings.build(
        channel_slug,
        bool(stored and stored.active and channel.is_active),
        raw,
        shop_name=Site.objects.get_current().name,
        default_country=channel.default_country.code or "",
        currency=channel.currency_code,
    )


def authenticate_request(request: HttpRequest) -> Viewer:
    """The app or staff user a request speaks for, as Saleor's own API would see it.

    An app token is looked up as Saleor's GraphQL view does (`get_app_promise`); otherwise the
    request goes through Saleor's authentication backends (`django.contrib.auth.authenticate`,
    as `saleor.graphql.context.get_user`), which check a JWT's signature, type and token key,
    the password-login mode, and ask authentication plugins. Permissions are Saleor's enum
    names (`MANAGE_ORDERS`). Raises InvalidToken for an expired, forged or revoked JWT.
    """
    import jwt
    from django.contrib.auth import authenticate
    from graphql_relay import to_global_id
    from saleor.graphql.app.dataloaders import get_app_promise
    from saleor.permission.enums import get_permission_names

    app = get_app_promise(cast(Any, request)).get()  # a request serves as a SaleorContext
    if app is not None:
        return Viewer(
            ViewerKind.APP,
            id=to_global_id("App", app.pk),
            name=app.name or "",
            permissions=frozenset(get_permission_names(app.permissions.all())),
        )
    try:
        # Saleor's backends authenticate its own `User`.
        user = cast("User | None", authenticate(request=request))
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error), type(error).__name__) from error
    if user is None or not user.is_active:
        return ANONYMOUS
    return Viewer(
        ViewerKind.STAFF if user.is_staff else ViewerKind.CUSTOMER,
        id=to_global_id("User", user.pk),
        email=user.email,
        name=user.get_full_name(),
        permissions=frozenset(get_permission_names(user.effective_permissions))
        if user.is_staff
        else frozenset(),
    )
