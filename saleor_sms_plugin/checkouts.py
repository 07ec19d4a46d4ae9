"""Creating checkouts for offer links, behind one interface chosen by a setting.

`SALEOR_SMS_CHECKOUT_GATEWAY` names the implementation, like Django's `EMAIL_BACKEND`:

- `saleor_sms_plugin.saleor_bridge.SaleorCheckoutGateway` (the default inside Saleor) creates
  real checkouts with Saleor's own code, so the voucher applies to the checkout's total;
- `saleor_sms_plugin.checkouts.LocmemCheckoutGateway` (the default elsewhere) keeps checkouts in
  memory and applies percentage and fixed discounts arithmetically: for tests and the demo,
  like Django's locmem email backend.
"""

from __future__ import annotations

import base64
import functools
import itertools
import secrets
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.utils.module_loading import import_string

from .events import AddressSnapshot
from .offers import DiscountType, Offer, OfferKind, discounted
from .settings import get_setting

SALEOR_GATEWAY = "saleor_sms_plugin.saleor_bridge.SaleorCheckoutGateway"
LOCMEM_GATEWAY = "saleor_sms_plugin.checkouts.LocmemCheckoutGateway"


class CheckoutError(Exception):
    """A checkout could not be created or looked up."""


class UnknownProduct(CheckoutError):
    """An offer names a product or variant the store does not sell in the channel."""


class UnknownVoucher(CheckoutError):
    """A voucher (to draw a code from) does not exist."""


@dataclass(frozen=True)
class CheckoutRef:
    """A checkout as the storefront opens it: `id` is what `?checkout=` takes."""

    id: str
    token: str
    is_open: bool = True


@dataclass(frozen=True)
class Discount:
    """An offer's discount, for showing offered prices."""

    type: DiscountType
    value: Decimal


@dataclass(frozen=True)
class OfferedProduct:
    """A product of an offer with its price in the channel and its price with the offer."""

    ref: str
    variant_id: str
    name: str
    price: Decimal
    offered_price: Decimal
    currency: str
    image_url: str = ""


class CheckoutGateway(Protocol):
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
        """A new checkout; `lines` are product or variant ids (one of each).

        Lines the channel cannot sell are left out; a voucher that cannot apply is left off.
        Raises CheckoutError when the checkout cannot be created at all.
        """
        ...

    def checkout_is_open(self, token: str) -> bool:
        """False once the checkout became an order, or was deleted."""
        ...

    def delete_checkouts(self, tokens: Sequence[str]) -> int:
        """Delete these checkouts (an erased customer's) unless they became orders or payment
        has started on them; returns how many were deleted."""
        ...

    def draw_unique_voucher_code(self, voucher_ref: str) -> str:
        """A new single-use code of the voucher. Raises UnknownVoucher."""
        ...

    def offered_products(
        self, channel_slug: str, product_refs: Sequence[str], discount: Discount
    ) -> list[OfferedProduct]:
        """The products (in the given order) with their prices; unknown ones are left out."""
        ...

    def offer_problems(self, channel_slug: str, offer: Offer) -> list[str]:
        """What the store cannot honour of `offer` in the channel, in the admin's words: a
        voucher code that does not exist, is inactive or is not available in the channel, a
        voucher to draw codes from likewise, a product or variant that does not exist or is
        not published in the channel. Empty when all of it can be honoured."""
        ...


def offers_problems(channel_slug: str, offers: Sequence[Offer]) -> list[str]:
    """What the channel's store cannot honour of its offers, each naming the offer."""
    gateway = get_gateway()
    return [
        f"offer {position} ({offer.id!r}): {problem}"
        for position, offer in enumerate(offers, start=1)
        for problem in gateway.offer_problems(channel_slug, offer)
    ]


def get_gateway() -> CheckoutGateway:
    """The gateway named by `SALEOR_SMS_CHECKOUT_GATEWAY` (Saleor's inside Saleor)."""
    path = get_setting("SALEOR_SMS_CHECKOUT_GATEWAY")
    if not path:
        from django.apps import apps

        path = SALEOR_GATEWAY if apps.is_installed("saleor.checkout") else LOCMEM_GATEWAY
    return _instance(path)


@functools.cache
def _instance(path: str) -> CheckoutGateway:
    gateway: CheckoutGateway = import_string(path)()
    return gateway


# The in-memory gateway --------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueProduct:
    """A product the in-memory gateway sells: one variant, one price per currency."""

    variant_id: str
    name: str
    prices: Mapping[str, Decimal]
    product_id: str = ""
    image_url: str = ""


@dataclass
class LocmemCheckout:
    """A checkout the in-memory gateway created, with everything it was given."""

    id: str
    token: str
    channel_slug: str
    email: str
    shipping_address: AddressSnapshot | None
    billing_address: AddressSnapshot | None
    language: str
    lines: list[str]
    voucher_code: str
    metadata: dict[str, str]
    currency: str
    subtotal: Decimal
    discount: Decimal
    is_open: bool = True

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount


@dataclass
class LocmemStore:
    """What the in-memory gateway knows: products, vouchers, and the checkouts it made."""

    catalogue: dict[str, CatalogueProduct] = field(default_factory=dict)
    # Voucher code -> discount; codes drawn from a voucher get its discount.
    vouchers: dict[str, Discount] = field(default_factory=dict)
    voucher_sources: dict[str, Discount] = field(default_factory=dict)
    checkouts: dict[str, LocmemCheckout] = field(default_factory=dict)
    channel_currencies: dict[str, str] = field(default_factory=dict)
    default_currency: str = "USD"

    def clear(self) -> None:
        for collection in (
            self.catalogue,
            self.vouchers,
            self.voucher_sources,
            self.checkouts,
            self.channel_currencies,
        ):
            collection.clear()

    def add_product(self, product: CatalogueProduct) -> None:
        self.catalogue[product.variant_id] = product
        if product.product_id:
            self.catalogue[product.product_id] = product

    def complete(self, token: str) -> LocmemCheckout:
        """Turn a checkout into an order, as a storefront's `checkoutComplete` would."""
        checkout = self.checkouts[token]
        checkout.is_open = False
        return checkout


#: The in-memory gateway's state, shared by its instances (like `mail.outbox`).
store = LocmemStore()
_lock = threading.Lock()
_codes = itertools.count(1)


class LocmemCheckoutGateway:
    """Checkouts kept in memory (`checkouts.store`): for tests and the demo without Saleor.

    Percentage and fixed vouchers known to `store.vouchers` reduce the total arithmetically;
    free shipping leaves it unchanged (there is no shipping here).
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
        currency = self._currency(channel_slug)
        products = [store.catalogue[ref] for ref in lines if ref in store.catalogue]
        subtotal = sum((p.prices.get(currency, Decimal(0)) for p in products), Decimal(0))
        voucher = store.vouchers.get(voucher_code)
        token = str(uuid.uuid4())
        checkout = LocmemCheckout(
            # Shaped like Saleor's global ids, which the storefront takes in `?checkout=`.
            id=base64.b64encode(f"Checkout:{token}".encode()).decode(),
            token=token,
            channel_slug=channel_slug,
            email=email,
            shipping_address=shipping_address,
            billing_address=billing_address,
            language=language,
            lines=[product.variant_id for product in products],
            voucher_code=voucher_code if voucher else "",
            metadata=dict(metadata),
            currency=currency,
            subtotal=subtotal,
            discount=_discount_of(subtotal, voucher),
        )
        with _lock:
            store.checkouts[token] = checkout
        return CheckoutRef(checkout.id, token, True)

    def checkout_is_open(self, token: str) -> bool:
        checkout = store.checkouts.get(token)
        return checkout is not None and checkout.is_open

    def delete_checkouts(self, tokens: Sequence[str]) -> int:
        open_ones = [token for token in tokens if self.checkout_is_open(token)]
        for token in open_ones:
            del store.checkouts[token]
        return len(open_ones)

    def draw_unique_voucher_code(self, voucher_ref: str) -> str:
        source = store.voucher_sources.get(voucher_ref)
        if source is None:
            raise UnknownVoucher(voucher_ref)
        code = f"SMS-{next(_codes):05d}-{secrets.token_hex(3).upper()}"
        with _lock:
            store.vouchers[code] = source
        return code

    def offered_products(
        self, channel_slug: str, product_refs: Sequence[str], discount: Discount
    ) -> list[OfferedProduct]:
        currency = self._currency(channel_slug)
        offer = Offer("", "", OfferKind.CHOICE, discount.type, discount.value)
        offered = []
        for ref in product_refs:
            product = store.catalogue.get(ref)
            if product is None or currency not in product.prices:
                continue
            price = product.prices[currency]
            offered.append(
                OfferedProduct(
                    ref=ref,
                    variant_id=product.variant_id,
                    name=product.name,
                    price=price,
                    offered_price=discounted(price, offer),
                    currency=currency,
                    image_url=product.image_url,
                )
            )
        return offered

    def offer_problems(self, channel_slug: str, offer: Offer) -> list[str]:
        problems = []
        if offer.voucher_code and offer.voucher_code not in store.vouchers:
            problems.append(f"voucher code {offer.voucher_code!r} does not exist")
        if offer.voucher_id and offer.voucher_id not in store.voucher_sources:
            problems.append(f"voucher {offer.voucher_id!r} does not exist")
        currency = self._currency(channel_slug)
        for ref in offer.products:
            product = store.catalogue.get(ref)
            if product is None:
                problems.append(f"product {ref!r} does not exist")
            elif currency not in product.prices:
                problems.append(f"product {ref!r} is not sold in channel {channel_slug!r}")
        return problems

    @staticmethod
    def _currency(channel_slug: str) -> str:
        return store.channel_currencies.get(channel_slug, store.default_currency)


def _discount_of(subtotal: Decimal, voucher: Discount | None) -> Decimal:
    if voucher is None:
        return Decimal(0)
    if voucher.type == DiscountType.PERCENTAGE:
        return (subtotal * voucher.value / 100).quantize(Decimal("0.01"))
    if voucher.type == DiscountType.FIXED:
        return min(voucher.value, subtotal)
    return Decimal(0)
