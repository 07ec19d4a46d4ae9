"""What the core needs from Saleor, in Saleor's terms: snapshots and channel settings.

With `plugin.py`, the only module that imports Saleor.
"""

from __future__ import annotations

import binascii
import logging
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import graphene
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import HttpRequest
from saleor.account.models import User
from saleor.channel.models import Channel
from saleor.plugins.models import PluginConfiguration
from saleor.site.models import Site

from .auth import ANONYMOUS, InvalidToken, Viewer, ViewerKind
from .checkouts import CheckoutError, CheckoutRef, Discount, OfferedProduct, UnknownVoucher
from .conf import PLUGIN_ID, ChannelSettings, stored_values
from .events import (
    AddressSnapshot,
    CustomerSnapshot,
    FulfillmentSnapshot,
    OrderLineSnapshot,
    OrderSnapshot,
)
from .offers import Offer, OfferKind, discounted
from .statements import first_row, quoted

if TYPE_CHECKING:
    from saleor.account.models import Address
    from saleor.order.models import Fulfillment, Order

logger = logging.getLogger(__name__)


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
        checkout_token=str(order.checkout_token or ""),
        customer_metadata=dict(user.metadata or {}) if user else {},
    )


def placed_order(order_id: str) -> Order | None:
    """The order as it is now, to text about; None once it is gone, or cancelled before its
    texts were scheduled."""
    from saleor.order import OrderStatus
    from saleor.order.models import Order

    order = (
        Order.objects.filter(pk=_uuid(order_id))
        .select_related("channel", "user", "billing_address", "shipping_address")
        .prefetch_related("lines")
        .first()
    )
    if order is None or order.status == OrderStatus.CANCELED:
        return None
    return order


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
    Every offer link click asks: where the plugin is configured, this is one short statement,
    and a configuration is parsed once for as long as it stays the same.
    """
    row = first_row(PluginConfiguration, _stored_configuration_sql(), [PLUGIN_ID, channel_slug])
    shop_name = Site.objects.get_current().name
    if row is not None:
        active, configuration, channel_active, country, currency = row
        return ChannelSettings(
            channel_slug,
            bool(active and channel_active),
            stored_values(configuration),
            shop_name=shop_name,
            default_country=country or "",
            currency=currency,
        )
    channel = Channel.objects.filter(slug=channel_slug).first()
    if channel is None:
        return None
    return ChannelSettings.build(
        channel_slug,
        False,
        {},
        shop_name=shop_name,
        default_country=channel.default_country.code or "",
        currency=channel.currency_code,
    )


@cache
def _stored_configuration_sql() -> str:
    plugin, channel = PluginConfiguration, Channel
    return (
        f"SELECT p.{quoted(plugin, 'active')}, p.{quoted(plugin, 'configuration')}, "  # noqa: S608 - names from the models
        f"c.{quoted(channel, 'is_active')}, c.{quoted(channel, 'default_country')}, "
        f"c.{quoted(channel, 'currency_code')} "
        f"FROM {quoted(plugin)} p JOIN {quoted(channel)} c "
        f"ON c.{quoted(channel, 'id')} = p.{quoted(plugin, 'channel')} "
        f"WHERE p.{quoted(plugin, 'identifier')} = %s AND c.{quoted(channel, 'slug')} = %s"
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


# Offer links: checkouts and vouchers ------------------------------------------------------


class SaleorCheckoutGateway:
    """Offer-link checkouts made with Saleor's own code (`checkouts.CheckoutGateway`).

    A checkout is built the way `checkoutCreate` builds one (lines with stock reservations,
    address copies, metadata, gift rewards, the CHECKOUT_CREATED event) and gets its voucher
    the way `checkoutAddPromoCode` adds one, so the discount is in the checkout's total.
    """

    def create_checkout(
        self,
        channel_slug: str,
        email: str,
        shipping_address: AddressSnapshot | None,
        billing_address: AddressSnapshot | None,
        language: str,
        lines: Sequence[str],
        voucher_code: str,
        metadata: Mapping[str, str],
    ) -> CheckoutRef:
        from saleor.checkout.actions import call_checkout_event
        from saleor.checkout.models import Checkout
        from saleor.checkout.utils import create_checkout_metadata
        from saleor.core.utils.country import get_active_country
        from saleor.core.utils.metadata_manager import MetadataItem, MetadataItemCollection
        from saleor.graphql.checkout.mutations.utils import (
            apply_gift_reward_if_applicable_on_checkout_creation,
        )
        from saleor.plugins.manager import get_plugins_manager
        from saleor.webhook.event_types import WebhookEventAsyncType

        channel = Channel.objects.filter(slug=channel_slug, is_active=True).first()
        if channel is None:
            raise CheckoutError(f"no active channel {channel_slug!r}")
        with transaction.atomic():
            shipping, billing = _saleor_address(shipping_address), _saleor_address(billing_address)
            checkout = Checkout(
                channel=channel,
                email=email or None,
                currency=channel.currency_code,
                language_code=language or settings.LANGUAGE_CODE,
                shipping_address=shipping,
                billing_address=billing,
            )
            checkout.set_country(get_active_country(channel, shipping, billing))
            checkout.save()
            _add_lines(checkout, channel, _sellable_variants(channel, lines, checkout.country.code))
            create_checkout_metadata(
                checkout,
                metadata=MetadataItemCollection(
                    [MetadataItem(key, value) for key, value in metadata.items()]
                ),
                private_metadata=None,
            )
            apply_gift_reward_if_applicable_on_checkout_creation(checkout)
            manager = get_plugins_manager(allow_replica=False)
            if voucher_code:
                _add_voucher(manager, checkout, voucher_code)
            call_checkout_event(manager, WebhookEventAsyncType.CHECKOUT_CREATED, checkout)
        return CheckoutRef(
            graphene.Node.to_global_id("Checkout", checkout.token), str(checkout.token)
        )

    def checkout_is_open(self, token: str) -> bool:
        from saleor.checkout.models import Checkout

        key = _uuid(token)
        if key is None:
            return False
        return first_row(Checkout, _checkout_exists_sql(), [key]) is not None

    def delete_checkouts(self, tokens: Sequence[str]) -> int:
        from saleor.checkout.models import Checkout
        from saleor.checkout.utils import delete_checkouts
        from saleor.payment.models import Payment, TransactionItem

        keys = {key for token in tokens if (key := _uuid(token)) is not None}
        # As Saleor's own expiry does, checkouts where payment has started are left alone.
        paying = {
            *TransactionItem.objects.filter(checkout_id__in=keys).values_list(
                "checkout_id", flat=True
            ),
            *Payment.objects.filter(checkout_id__in=keys).values_list("checkout_id", flat=True),
        }
        deletable = list(Checkout.objects.filter(pk__in=keys - paying).values_list("pk", flat=True))
        delete_checkouts(deletable)  # its count includes the rows deleted with them
        return len(deletable) - Checkout.objects.filter(pk__in=deletable).count()

    def draw_unique_voucher_code(self, voucher_ref: str) -> str:
        from saleor.core.utils.promo_code import generate_promo_code
        from saleor.discount.models import Voucher, VoucherCode

        voucher = Voucher.objects.filter(pk=_pk_of(voucher_ref, "Voucher")).first()
        if voucher is None:
            raise UnknownVoucher(voucher_ref)
        return VoucherCode.objects.create(voucher=voucher, code=generate_promo_code()).code

    def offered_products(
        self, channel_slug: str, product_refs: Sequence[str], discount: Discount
    ) -> list[OfferedProduct]:
        from saleor.product.models import ProductVariantChannelListing

        channel = Channel.objects.filter(slug=channel_slug, is_active=True).first()
        if channel is None:
            return []
        variants = _sellable_variants(channel, product_refs, channel.default_country.code)
        listings = {
            listing.variant_id: listing
            for listing in ProductVariantChannelListing.objects.filter(
                channel=channel, variant__in=variants
            )
        }
        offer = Offer("", "", OfferKind.CHOICE, discount.type, discount.value)
        offered = []
        for ref, variant in _variants_by_ref(product_refs, variants):
            listing = listings[variant.pk]
            price = listing.discounted_price_amount or listing.price_amount
            offered.append(
                OfferedProduct(
                    ref=ref,
                    variant_id=graphene.Node.to_global_id("ProductVariant", variant.pk),
                    name=_product_name(variant),
                    price=price,
                    offered_price=discounted(price, offer),
                    currency=listing.currency,
                    image_url=_image_url(variant.product),
                )
            )
        return offered

    def offer_problems(self, channel_slug: str, offer: Offer) -> list[str]:
        channel = Channel.objects.filter(slug=channel_slug).first()
        if channel is None:
            return [f"channel {channel_slug!r} does not exist"]
        problems = []
        if offer.voucher_code:
            problems += _voucher_code_problems(channel, offer.voucher_code)
        if offer.voucher_id:
            problems += _voucher_problems(channel, offer.voucher_id)
        problems += [
            problem for ref in offer.products if (problem := _product_problem(channel, ref))
        ]
        return problems


def _voucher_code_problems(channel: Channel, code: str) -> list[str]:
    from saleor.discount.models import VoucherCode

    voucher_code = VoucherCode.objects.filter(code=code).select_related("voucher").first()
    if voucher_code is None:
        return [f"voucher code {code!r} does not exist"]
    if not voucher_code.is_active:
        return [f"voucher code {code!r} is not active"]
    return _voucher_problems(channel, voucher_code.voucher, f"voucher code {code!r}")


def _voucher_problems(channel: Channel, voucher: Any, what: str = "") -> list[str]:
    """Problems of a voucher (or its GraphQL id) in the channel, as its codes would meet them."""
    from django.utils import timezone
    from saleor.discount.models import Voucher

    if isinstance(voucher, str):
        what = f"voucher {voucher!r}"
        voucher = Voucher.objects.filter(pk=_pk_of(voucher, "Voucher") or None).first()
        if voucher is None:
            return [f"{what} does not exist"]
    now = timezone.now()
    if not Voucher.objects.filter(pk=voucher.pk).active(now, validate_usage_limit=False).exists():
        return [f"{what} is not active (see its start and end dates)"]
    if not voucher.channel_listings.filter(channel=channel).exists():
        return [f"{what} is not available in channel {channel.slug!r}"]
    return []


def _product_problem(channel: Channel, ref: str) -> str | None:
    """Why product or variant `ref` cannot be sold in the channel, or None."""
    from saleor.graphql.checkout.mutations.utils import get_not_published_variants
    from saleor.product.models import Product, ProductVariant

    if variant_pk := _pk_of(ref, "ProductVariant"):
        variant_pks = set(ProductVariant.objects.filter(pk=variant_pk).values_list("pk", flat=True))
        what = f"variant {ref!r}"
    elif product_pk := _pk_of(ref, "Product"):
        variant_pks = set(
            ProductVariant.objects.filter(product_id=product_pk).values_list("pk", flat=True)
        )
        what = f"product {ref!r}"
        if not variant_pks and Product.objects.filter(pk=product_pk).exists():
            return f"{what} has no variants"
    else:
        return f"{ref!r} is not a product or variant id"
    if not variant_pks:
        return f"{what} does not exist"
    if variant_pks <= get_not_published_variants(variant_pks, channel.pk)[0]:
        return f"{what} is not published in channel {channel.slug!r}"
    priced = ProductVariant.objects.filter(
        pk__in=variant_pks,
        channel_listings__channel=channel,
        channel_listings__price_amount__isnull=False,
    )
    if not priced.exists():
        return f"{what} has no price in channel {channel.slug!r}"
    return None


@cache
def _checkout_exists_sql() -> str:
    from saleor.checkout.models import Checkout

    return f"SELECT 1 FROM {quoted(Checkout)} WHERE {quoted(Checkout, 'token')} = %s"  # noqa: S608 - names from the models


def _uuid(token: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(token)
    except ValueError:
        return None


def _pk_of(ref: str, *types: str) -> str:
    """The database id inside a GraphQL id of one of `types` ('' for anything else)."""
    try:
        kind, pk = graphene.Node.from_global_id(ref)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        return ""
    return pk if kind in types and pk.isdigit() else ""


def _saleor_address(address: AddressSnapshot | None) -> Address | None:
    from saleor.account.models import Address

    if address is None or not address.country:
        return None
    return Address.objects.create(
        first_name=address.first_name,
        last_name=address.last_name,
        company_name=address.company_name,
        street_address_1=address.street_address_1,
        street_address_2=address.street_address_2,
        city=address.city,
        postal_code=address.postal_code,
        country=address.country,
        country_area=address.country_area,
        phone=address.phone,
    )


def _sellable_variants(channel: Channel, refs: Sequence[str], country: str) -> list[Any]:
    """The variants of product or variant ids that the channel sells and has in stock,
    checked with the validations of Saleor's checkout mutations; the others are left out."""
    from django.core.exceptions import ValidationError
    from saleor.graphql.checkout.mutations.utils import (
        check_lines_quantity,
        get_not_available_variants_for_purchase,
        get_not_published_variants,
    )
    from saleor.product.models import Product, ProductVariant
    from saleor.warehouse.reservations import is_reservation_enabled

    variant_pks = [int(pk) for ref in refs if (pk := _pk_of(ref, "ProductVariant"))]
    product_pks = [int(pk) for ref in refs if (pk := _pk_of(ref, "Product"))]
    for product in Product.objects.filter(pk__in=product_pks).prefetch_related("variants"):
        # A product without a default variant stands for its first one, as in the Dashboard.
        first = min(product.variants.all(), key=lambda variant: variant.pk, default=None)
        default = product.default_variant_id or (first.pk if first else None)
        if default:
            variant_pks.append(default)
    ids = set(
        ProductVariant.objects.filter(
            pk__in=variant_pks,
            channel_listings__channel=channel,
            channel_listings__price_amount__isnull=False,
        ).values_list("pk", flat=True)
    )
    ids -= get_not_available_variants_for_purchase(ids, channel.pk)[0]
    ids -= get_not_published_variants(ids, channel.pk)[0]
    site = Site.objects.get_current()
    sellable = []
    for variant in ProductVariant.objects.filter(pk__in=ids).select_related("product"):
        try:
            check_lines_quantity(
                [variant],
                [1],
                country,
                channel.slug,
                site.settings.limit_quantity_per_checkout,
                check_reservations=is_reservation_enabled(site.settings),
                calculate_stocks_with_shipping_zones=(
                    site.settings.use_legacy_shipping_zone_stock_availability
                ),
            )
        except ValidationError:
            continue
        sellable.append(variant)
    return [variant for _, variant in _variants_by_ref(refs, sellable)]


def _variants_by_ref(refs: Sequence[str], variants: Sequence[Any]) -> list[tuple[str, Any]]:
    """(ref, variant) in the order of `refs`, each variant once."""
    by_pk = {str(variant.pk): variant for variant in variants}
    by_product = {str(variant.product_id): variant for variant in variants}
    pairs: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for ref in refs:
        variant = by_pk.get(_pk_of(ref, "ProductVariant")) or by_product.get(_pk_of(ref, "Product"))
        if variant is not None and str(variant.pk) not in seen:
            seen.add(str(variant.pk))
            pairs.append((ref, variant))
    return pairs


def _add_lines(checkout: Any, channel: Channel, variants: Sequence[Any]) -> None:
    from saleor.checkout.utils import add_variants_to_checkout
    from saleor.graphql.checkout.mutations.utils import CheckoutLineData
    from saleor.warehouse.reservations import get_reservation_length

    if not variants:
        return
    site = Site.objects.get_current()
    add_variants_to_checkout(
        checkout,
        list(variants),
        [
            CheckoutLineData(variant_id=str(v.pk), quantity=1, quantity_to_update=True)
            for v in variants
        ],
        channel,
        reservation_length=get_reservation_length(site=site, user=None),
        calculate_stocks_with_shipping_zones=site.settings.use_legacy_shipping_zone_stock_availability,
    )


def _add_voucher(manager: Any, checkout: Any, code: str) -> None:
    """Apply a voucher code as `checkoutAddPromoCode` does; a code that cannot apply is left
    off (the shopper still gets the checkout)."""
    from django.core.exceptions import ValidationError
    from saleor.checkout.fetch import fetch_checkout_info, fetch_checkout_lines
    from saleor.checkout.utils import add_promo_code_to_checkout, invalidate_checkout
    from saleor.graphql.checkout.mutations.utils import (
        mark_checkout_deliveries_as_stale_if_needed,
    )

    lines, _ = fetch_checkout_lines(checkout)
    checkout_info = fetch_checkout_info(checkout, lines, manager)
    try:
        add_promo_code_to_checkout(manager, checkout_info, lines, code)
    except ValidationError as error:
        logger.warning(
            "Voucher code %s does not apply to checkout %s: %s", code, checkout.pk, error
        )
        return
    fields = mark_checkout_deliveries_as_stale_if_needed(checkout, lines)
    fields += invalidate_checkout(
        checkout_info, lines, manager, recalculate_discount=False, save=False
    )
    checkout.save(update_fields=fields)


def _product_name(variant: Any) -> str:
    name = str(variant.product.name)
    return f"{name} ({variant.name})" if variant.name and variant.name != name else name


def _image_url(product: Any) -> str:
    from saleor.core.utils import build_absolute_uri

    media = product.media.filter(image__isnull=False).exclude(image="").first()
    return build_absolute_uri(media.image.url) if media is not None else ""
