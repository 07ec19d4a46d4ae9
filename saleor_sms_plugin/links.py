"""Offer links: signed tokens, the link of each text, clicks, checkouts and conversions.

A link's URL ends in a token of 32 characters: base64url of a random 128-bit key and a 64-bit
HMAC over it (Django's `salted_hmac`, keyed by SECRET_KEY, with SECRET_KEY_FALLBACKS honoured).
A forged or altered token is rejected before anything is looked up; the key finds the
`OfferLink` row, which points at the text and through it at the order's details. The URL
itself carries nothing personal.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import conf, link_statements
from .checkouts import CheckoutError, CheckoutGateway, CheckoutRef, get_gateway
from .client_address import client_address
from .constants import SkipReason, Status
from .events import AddressSnapshot, OrderSnapshot
from .link_texts import page_text
from .models import CheckoutPreparation, Conversion, Message, OfferLink
from .offers import OFFER_FLOWS, DiscountType, Offer, OfferKind, offer_by_id, offer_for
from .settings import get_setting
from .signals import conversion, link_clicked
from .texts import format_date, format_discount, format_money

logger = logging.getLogger(__name__)

KEY_BYTES = 16
MAC_BYTES = 8
TOKEN_LENGTH = 32  # base64url of KEY_BYTES + MAC_BYTES, no padding
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
SALT = "saleor_sms_plugin.links.token"
CLIENT_SALT = "saleor_sms_plugin.links.client"
CLICK_PATH = "l/{token}"
CHOICE_PATH = "l/{token}/choose"

#: Checkout metadata keys: Saleor copies a checkout's metadata onto the order it becomes.
METADATA_LINK = "sms_link"
METADATA_MESSAGE = "sms_message_id"
METADATA_FLOW = "sms_flow"


class LinkProblem(Exception):
    """A link that cannot be opened; `status` is the HTTP status to answer with."""

    status = 404

    def __init__(self, language: str = "") -> None:
        super().__init__(self.__class__.__name__)
        self.language = language


class InvalidToken(LinkProblem):
    """Malformed, altered or forged: rejected before any lookup."""


class UnknownLink(LinkProblem):
    """Well signed, but no such link in this channel (deleted, or another channel's)."""


class ExpiredLink(LinkProblem):
    status = 410


# Tokens -----------------------------------------------------------------------------------


def new_key() -> str:
    """A fresh random link key: 128 bits, base64url (22 characters)."""
    return _b64encode(secrets.token_bytes(KEY_BYTES))


def sign(key: str) -> str:
    """The token for a link key: the key and its MAC, base64url (32 characters)."""
    raw = _b64decode(key)
    return _b64encode(raw + _mac(raw, django_settings.SECRET_KEY))


def verify(token: str) -> str:
    """The link key a token carries. Raises InvalidToken for anything not signed by us."""
    if not TOKEN_RE.match(token or ""):
        raise InvalidToken
    raw = _b64decode(token)
    key, mac = raw[:KEY_BYTES], raw[KEY_BYTES:]
    secrets_in_use = [django_settings.SECRET_KEY, *django_settings.SECRET_KEY_FALLBACKS]
    if not any(hmac.compare_digest(mac, _mac(key, secret)) for secret in secrets_in_use):
        raise InvalidToken
    return _b64encode(key)


def _mac(raw_key: bytes, secret: str | bytes) -> bytes:
    return salted_hmac(SALT, raw_key, secret=secret, algorithm="sha256").digest()[:MAC_BYTES]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken from None


def click_url(channel: conf.ChannelSettings, link: OfferLink) -> str:
    return channel.link_url(CLICK_PATH.format(token=sign(link.key)))


def choice_url(channel: conf.ChannelSettings, link: OfferLink) -> str:
    return channel.link_url(CHOICE_PATH.format(token=sign(link.key)))


# The link of a text -----------------------------------------------------------------------


def channel_offers(channel: conf.ChannelSettings) -> tuple[Offer, ...]:
    offers: tuple[Offer, ...] = channel.values.get(conf.OFFERS) or ()
    return offers


def offer_variables(
    message: Message, channel: conf.ChannelSettings, language: str
) -> dict[str, str]:
    """`offer_link`, `voucher_code`, `discount` and `expiry` for a text, creating its link.

    A step without an offer still gets a tracked link to the store when the channel has a
    store URL. Nothing without a public base URL or a link host: there is no address to link
    to.
    """
    if message.flow not in OFFER_FLOWS or message.pk is None:
        return {}
    offer = offer_for(channel_offers(channel), message.flow, message.step)
    if not channel.link_url("") or (offer is None and not store_url(channel, "")):
        return {}
    link = link_for_message(message, channel, offer)
    variables = {"offer_link": click_url(channel, link)}
    if offer is not None:
        variables.update(
            voucher_code=link.voucher_code,
            discount=format_offer_discount(offer, channel.currency, language),
            expiry=format_date(local_day(link.expires_at, message), language),
        )
    return variables


def link_for_message(
    message: Message, channel: conf.ChannelSettings, offer: Offer | None
) -> OfferLink:
    """The message's link, created with its voucher code the first time the text is written.

    A text written again (a retry) gets the same link and code.
    """
    existing = OfferLink.objects.filter(message_id=message.pk).first()
    if existing is not None:
        return existing
    now = timezone.now()
    days = (offer.lifetime_days if offer else None) or channel.values.get(
        conf.OFFER_LINK_LIFETIME_DAYS, 7
    )
    link = OfferLink(
        key=new_key(),
        message=message,
        channel_slug=channel.channel_slug,
        offer_id=offer.id if offer else "",
        voucher_code=voucher_code_for(offer) if offer else "",
        expires_at=now + timedelta(days=days),
        prepare_state=CheckoutPreparation.PENDING
        if offer is not None and has_fixed_lines(offer) and channel.prepares_checkouts
        else CheckoutPreparation.NONE,
    )
    try:
        with transaction.atomic():
            link.save(force_insert=True)
    except IntegrityError:  # written at the same time by another worker
        return OfferLink.objects.get(message_id=message.pk)
    return link


def has_fixed_lines(offer: Offer) -> bool:
    """True when the checkout's lines do not wait for the shopper's pick (not a choice)."""
    return offer.kind != OfferKind.CHOICE


def voucher_code_for(offer: Offer) -> str:
    """The shared code, or a new unique code drawn from the offer's voucher ('' if none can be)."""
    if not offer.unique_codes:
        return offer.voucher_code
    try:
        return get_gateway().draw_unique_voucher_code(offer.voucher_id)
    except CheckoutError as error:
        logger.warning("No voucher code could be drawn for offer %s: %r", offer.id, error)
        return ""


def format_offer_discount(offer: Offer, currency: str, language: str) -> str:
    if offer.discount_type == DiscountType.PERCENTAGE:
        return format_discount(offer.discount_value, language)
    if offer.discount_type == DiscountType.FIXED:
        return format_money(offer.discount_value, currency or "USD", language)
    return page_text("free_shipping", language)


def local_day(moment: datetime, message: Message) -> Any:
    zone_name = message.recipient.time_zone if message.recipient else ""
    try:
        zone = ZoneInfo(zone_name) if zone_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


# Opening a link ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedLink:
    link: OfferLink
    message: Message
    offer: Offer | None
    language: str


def open_link(token: str, channel: conf.ChannelSettings, now: datetime | None = None) -> OpenedLink:
    """The link a token names in this channel, if it still works.

    Raises InvalidToken (before any lookup), UnknownLink or ExpiredLink.
    """
    link = link_statements.find_link(verify(token), channel.channel_slug)
    if link is None:
        raise UnknownLink
    message = link.message
    language = page_language(message, channel)
    offer = offer_by_id(channel_offers(channel), link.offer_id) if link.offer_id else None
    if link.offer_id and offer is None:  # the offer was removed from the configuration
        raise ExpiredLink(language)
    if (now or timezone.now()) >= link.expires_at:
        raise ExpiredLink(language)
    return OpenedLink(link, message, offer, language)


def page_language(message: Message, channel: conf.ChannelSettings) -> str:
    from .composing import message_language  # composing uses this module

    return message.language or message_language(message, channel)


def record_click(opened: OpenedLink, device: str, url: str, now: datetime | None = None) -> bool:
    """Store a click; the first human click marks the message clicked. Returns first_click.

    Clicks by bots (link previews, scanners) are stored with their device family and
    change nothing else.
    """
    now = now or timezone.now()
    if device == BOT:
        link_statements.insert_click(opened.link.pk, device, now, message_id=None)
        return False
    first = link_statements.insert_click(opened.link.pk, device, now, message_id=opened.message.pk)
    link_clicked.send(
        sender=Message, message_id=opened.message.pk, url=url, clicked_at=now, first_click=first
    )
    return first


# Checkouts --------------------------------------------------------------------------------


def lines_for(opened: OpenedLink, chosen: str = "") -> list[str]:
    """The product or variant ids a click's checkout gets, per the offer's kind."""
    offer = opened.offer
    if offer is None or offer.kind == OfferKind.VOUCHER:
        return []
    if offer.kind == OfferKind.PRODUCTS:
        return list(offer.products)
    if offer.kind == OfferKind.CHOICE:
        return [chosen] if chosen in offer.products else []
    return _mystery_pick(opened)


def _mystery_pick(opened: OpenedLink) -> list[str]:
    # The same surprise on every click; something the shopper did not just buy, if possible.
    if opened.link.checkout_lines:
        return list(opened.link.checkout_lines)
    assert opened.offer is not None
    bought = {line.get("variant_id") for line in _order(opened.message).get("lines", [])}
    candidates = [ref for ref in opened.offer.products if ref not in bought]
    return [secrets.choice(candidates or list(opened.offer.products))]


def checkout_for(
    opened: OpenedLink, channel: conf.ChannelSettings, lines: Sequence[str]
) -> CheckoutRef:
    """The link's open checkout with these lines, or a new one, prefilled from the order.

    The link's row is locked meanwhile, so two clicks at once make one checkout.
    Raises CheckoutError when the store cannot create one.
    """
    gateway = get_gateway()
    if _reusable(opened.link, lines, gateway):  # the common repeat click needs no lock
        return CheckoutRef(opened.link.checkout_id, opened.link.checkout_token, True)
    with transaction.atomic():
        link = OfferLink.objects.select_for_update().get(pk=opened.link.pk)
        if _reusable(link, lines, gateway):
            return CheckoutRef(link.checkout_id, link.checkout_token, True)
        if opened.offer is not None and not link.voucher_code:
            link.voucher_code = voucher_code_for(opened.offer)
        order = _order(opened.message)
        ref = gateway.create_checkout(
            channel.channel_slug,
            email=order.get("email", ""),
            shipping_address=_address(order.get("shipping_address")),
            billing_address=_address(order.get("billing_address")),
            language=order.get("language_code") or opened.language,
            lines=list(lines),
            voucher_code=link.voucher_code,
            metadata=checkout_metadata(opened),
        )
        OfferLink.objects.filter(pk=link.pk).update(
            checkout_id=ref.id,
            checkout_token=ref.token,
            checkout_lines=list(lines),
            voucher_code=link.voucher_code,
            # A click that comes first leaves the preparer nothing to do.
            prepare_state=CheckoutPreparation.pending_becomes(CheckoutPreparation.PREPARED),
        )
        return ref


def _reusable(link: OfferLink, lines: Sequence[str], gateway: CheckoutGateway) -> bool:
    return bool(
        link.checkout_token
        and link.checkout_lines == list(lines)
        and gateway.checkout_is_open(link.checkout_token)
    )


def checkout_metadata(opened: OpenedLink) -> dict[str, str]:
    return {
        METADATA_LINK: opened.link.key,
        METADATA_MESSAGE: str(opened.message.pk),
        METADATA_FLOW: opened.message.flow,
    }


def storefront_url(channel: conf.ChannelSettings, ref: CheckoutRef, language: str) -> str:
    template = channel.values.get(conf.CHECKOUT_URL_TEMPLATE, "")
    return _fill(
        template,
        channel=channel.channel_slug,
        language=language,
        checkout_id=ref.id,
        checkout_token=ref.token,
    )


def store_url(channel: conf.ChannelSettings, language: str) -> str:
    """The store's home for a shopper: the configured URL, else the storefront's origin."""
    template = channel.values.get(conf.STORE_URL, "")
    if template:
        return _fill(template, channel=channel.channel_slug, language=language)
    checkout = urlsplit(channel.values.get(conf.CHECKOUT_URL_TEMPLATE, ""))
    return f"{checkout.scheme}://{checkout.netloc}/" if checkout.netloc else ""


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


def _order(message: Message) -> dict[str, Any]:
    order: dict[str, Any] = message.context.get("order") or {}
    return order


def _address(data: Mapping[str, Any] | None) -> AddressSnapshot | None:
    if not data:
        return None
    known = AddressSnapshot.__dataclass_fields__
    return AddressSnapshot(**{name: str(value) for name, value in data.items() if name in known})


# Clients ----------------------------------------------------------------------------------

BOT, MOBILE, TABLET, DESKTOP, OTHER = "bot", "mobile", "tablet", "desktop", "other"
_BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|telegram|slack|"
    r"discord|skype|headless|curl/|wget/|python-|httpx|aiohttp|okhttp|go-http|java/|scanner",
    re.IGNORECASE,
)
_TABLET_RE = re.compile(r"ipad|tablet|kindle|silk/|playbook|android(?!.*mobile)", re.IGNORECASE)
_MOBILE_RE = re.compile(
    r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini", re.IGNORECASE
)
_DESKTOP_RE = re.compile(r"windows nt|macintosh|x11|cros|linux", re.IGNORECASE)


def device_family(user_agent: str) -> str:
    """bot, tablet, mobile, desktop or other, from a User-Agent header."""
    if not user_agent or _BOT_RE.search(user_agent):
        return BOT if user_agent else OTHER
    if _TABLET_RE.search(user_agent):
        return TABLET
    if _MOBILE_RE.search(user_agent):
        return MOBILE
    if _DESKTOP_RE.search(user_agent):
        return DESKTOP
    return OTHER


def client_allowed(request: HttpRequest) -> bool:
    """False once a client has opened more links than the rate limit allows.

    The client is counted under an HMAC of its address in Django's cache (Redis in
    production), never under the address itself. `SALEOR_SMS_LINK_RATE_LIMIT` is
    (clicks, seconds); (0, 0) turns the limit off. Without a working cache, clicks pass.
    """
    limit, window = get_setting("SALEOR_SMS_LINK_RATE_LIMIT")
    if limit <= 0:
        return True
    key = "saleor-sms:clicks:" + salted_hmac(CLIENT_SALT, client_address(request)).hexdigest()
    cache = caches[get_setting("SALEOR_SMS_LINK_RATE_LIMIT_CACHE")]
    try:
        count = _count_click(cache, key, window)
    except ValueError:  # expired between add and incr
        return True
    except Exception as error:  # a cache outage must not break links
        logger.warning("Offer link rate limit unavailable: %r", error)
        return True
    return count <= limit


def _count_click(cache: BaseCache, key: str, window: int) -> int:
    """This click's number in the client's window: one round trip where the cache is Redis."""
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        pipeline = _redis_client(cache).pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=window, nx=True)  # Django stores integers as they are
        pipeline.incr(full_key)
        return int(pipeline.execute()[1])
    if cache.add(key, 1, timeout=window):
        return 1
    return int(cache.incr(key))


_redis_clients: WeakKeyDictionary[RedisCache, Any] = WeakKeyDictionary()


def _redis_client(cache: RedisCache) -> Any:
    # Django's Redis cache builds a client object for every call; one per cache will do.
    client = _redis_clients.get(cache)
    if client is None:
        client = _redis_clients[cache] = cache._cache.get_client(write=True)
    return client


# Conversions ------------------------------------------------------------------------------


def record_conversion(order: OrderSnapshot, now: datetime | None = None) -> Conversion | None:
    """Attribute an order placed from a link's checkout to that link's text, once per order.

    The message gets its conversion time and the order's revenue; the recipient's remaining
    scheduled texts of the same flow are cancelled; `signals.conversion` is sent.
    """
    link = _link_of_order(order)
    if link is None:
        return None
    now = now or timezone.now()
    try:
        with transaction.atomic():
            converted = Conversion.objects.create(
                order_id=order.id,
                message_id=link.message_id,
                link=link,
                revenue=order.total,
                currency=order.currency,
                converted_at=now,
            )
    except IntegrityError:  # this order was counted already
        return None
    Message.objects.filter(pk=link.message_id).update(
        clicked_at=Coalesce(F("clicked_at"), Value(now)),
        converted_at=Coalesce(F("converted_at"), Value(now)),
        revenue=Coalesce(F("revenue"), Value(Decimal(0))) + order.total,
        revenue_currency=order.currency,
        updated_at=now,
    )
    stop_flow_after_conversion(link.message)
    conversion.send(
        sender=Message,
        message_id=link.message_id,
        order_id=order.id,
        revenue=order.total,
        currency=order.currency,
        converted_at=now,
    )
    return converted


def _link_of_order(order: OrderSnapshot) -> OfferLink | None:
    links = OfferLink.objects.select_related("message").filter(channel_slug=order.channel_slug)
    key = (order.metadata or {}).get(METADATA_LINK)
    if isinstance(key, str) and key:
        return links.filter(key=key).first()
    if order.checkout_token:
        return links.filter(checkout_token=order.checkout_token).first()
    return None


def offer_purchases(order: OrderSnapshot, since: datetime) -> list[datetime]:
    """When the order's customer bought through an offer link of its channel since `since`:
    the order itself, at its own time, if it was placed through one; and their other orders
    placed through one, at their conversion."""
    mine = Q(order_id=order.id)
    if order.customer_ref:
        mine |= Q(message__customer_ref=order.customer_ref, converted_at__gte=since)
    rows = Conversion.objects.filter(mine, message__channel_slug=order.channel_slug)
    return [
        order.created_at if order_id == order.id else converted_at
        for order_id, converted_at in rows.values_list("order_id", "converted_at")
    ]


def stop_flow_after_conversion(message: Message) -> int:
    """Cancel the recipient's scheduled texts of the converted message's flow (one UPDATE)."""
    if message.recipient_id is not None:
        whose = Q(recipient_id=message.recipient_id)
    elif message.customer_ref:
        whose = Q(customer_ref=message.customer_ref)
    else:
        whose = Q(order_id=message.order_id) if message.order_id else Q(pk=message.pk)
    return Message.objects.filter(whose, status=Status.SCHEDULED, flow=message.flow).update(
        status=Status.CANCELLED, reason=SkipReason.CONVERTED.value, updated_at=timezone.now()
    )
