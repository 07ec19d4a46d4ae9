"""The demo's shoppers and what each does, when: the script the simulation plays.

Each action goes where a store's event would: an order into the event inbox, recorded in the
order's transaction as the Saleor plugin's hook records it (the worker schedules its texts), a
shipment to `on_fulfillment_created`, a tap on a link to the offer link server over HTTP, a
reply to the signed inbound route through the Twilio-compatible server, as Twilio posts it.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
import requests
from django.db import transaction
from django.utils import timezone

from .. import checkouts, conf, handlers
from ..events import AddressSnapshot, FulfillmentSnapshot, OrderLineSnapshot, OrderSnapshot
from ..testing import TwilioServer
from . import store
from .timeline import Record

CONSENT_KEY = "sms_marketing_consent"
MOBILE_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LINK_RE = re.compile(r"https?://\S+/l/[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class Shopper:
    key: str
    first_name: str
    last_name: str
    phone: str
    street: str
    city: str
    postal_code: str
    country: str
    country_area: str
    time_zone: str
    language: str
    channel: store.Channel

    @property
    def email(self) -> str:
        return f"{self.key}@example.com"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def e164(self) -> str:
        number = phonenumbers.parse(self.phone, self.country)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def address(self) -> AddressSnapshot:
        return AddressSnapshot(
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            country=self.country,
            country_area=self.country_area,
            city=self.city,
            postal_code=self.postal_code,
            street_address_1=self.street,
        )


ADA = Shopper(
    "ada", "Ada", "Lovelace", "(201) 555-0123", "12 Bleecker Street", "New York", "10012",
    "US", "NY", "America/New_York", "en", store.US,
)  # fmt: skip
MIGUEL = Shopper(
    "miguel", "Miguel", "Torres", "(415) 555-0134", "410 Sunset Boulevard", "Los Angeles",
    "90012", "US", "CA", "America/Los_Angeles", "es", store.US,
)  # fmt: skip
ZOFIA = Shopper(
    "zofia", "Zofia", "Nowak", "600 100 200", "ul. Marszałkowska 10", "Warszawa", "00-001",
    "PL", "", "Europe/Warsaw", "pl", store.PL,
)  # fmt: skip
SHOPPERS = (ADA, ZOFIA, MIGUEL)


@dataclass
class World:
    """What the shoppers' actions reach, and where the demo writes down what they did."""

    twilio: TwilioServer
    public_base_url: str
    record: Record
    orders: dict[str, list[OrderSnapshot]] = field(default_factory=dict)
    # The checkout an offer link opened, per shopper, until they pay.
    open_checkouts: dict[str, checkouts.LocmemCheckout] = field(default_factory=dict)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1001))


Action = Callable[[World, Shopper], None]


@dataclass(frozen=True)
class Step:
    at: datetime
    shopper: Shopper
    action: Action


def script(first_day: date) -> list[Step]:
    """Who does what when, `first_day` being the Monday the story starts (local times)."""

    def at(shopper: Shopper, day: int, clock: str) -> datetime:
        local = datetime.combine(first_day + timedelta(days=day), time.fromisoformat(clock))
        # In UTC, as Saleor's timestamps are: the core's arithmetic on them is absolute time.
        return local.replace(tzinfo=shopper.zone).astimezone(UTC)

    steps = [
        Step(at(ADA, 0, "10:02"), ADA, places_order("linen-shirt", "canvas-tote", consent=True)),
        Step(at(ADA, 0, "13:09"), ADA, taps_offer_link(step=2)),
        Step(at(ADA, 0, "13:12"), ADA, pays()),
        Step(at(ADA, 1, "15:30"), ADA, first_order_ships("1Z999AA10123456784")),
        Step(
            at(ZOFIA, 0, "19:40"), ZOFIA, places_order("linen-shirt", "canvas-tote", consent=True)
        ),
        Step(at(ZOFIA, 2, "11:00"), ZOFIA, first_order_ships("PX0012345678PL")),
        Step(at(ZOFIA, 8, "08:15"), ZOFIA, replies("STOP")),
        Step(at(MIGUEL, 1, "17:25"), MIGUEL, places_order("rain-jacket", consent=True)),
        Step(at(MIGUEL, 1, "17:40"), MIGUEL, provider_refuses_next_text(429)),
        Step(at(MIGUEL, 3, "10:00"), MIGUEL, first_order_ships("1Z999AA10123456791")),
    ]
    return sorted(steps, key=lambda step: step.at)


# Actions ------------------------------------------------------------------------------------


def places_order(*products: str, consent: bool) -> Action:
    def act(world: World, shopper: Shopper) -> None:
        currency = shopper.channel.currency
        items = [store.PRODUCTS[ref] for ref in products]
        total = sum((item.prices[currency] for item in items), Decimal(0))
        order = _place(
            world,
            shopper,
            lines=[(item.ref, item.name) for item in items],
            total=total,
            metadata={CONSENT_KEY: "true"} if consent else {},
        )
        names = ", ".join(item.name for item in items)
        agreed = "; agrees to marketing texts at checkout" if consent else ""
        world.record.note(
            shopper.key, f"orders {names}: order {order.number}, {total} {currency}{agreed}"
        )

    return act


def taps_offer_link(step: int) -> Action:
    """The shopper taps the link in offer `step` and lands in a checkout already filled in."""

    def act(world: World, shopper: Shopper) -> None:
        link = _link_in_text(world, shopper, step)
        answer = requests.get(
            link, headers={"User-Agent": MOBILE_BROWSER}, allow_redirects=False, timeout=10
        )
        if answer.status_code != 302:
            raise RuntimeError(f"the offer link answered {answer.status_code}, not a redirect")
        location = answer.headers["Location"]
        checkout = _checkout_behind(location)
        world.open_checkouts[shopper.key] = checkout
        world.record.note(shopper.key, _describe_tap(step, location, checkout))

    return act


def pays() -> Action:
    """The shopper completes the checkout the link opened: Saleor's order carries the
    checkout's token and metadata."""

    def act(world: World, shopper: Shopper) -> None:
        checkout = world.open_checkouts.pop(shopper.key)
        checkouts.store.complete(checkout.token)
        order = _place(
            world,
            shopper,
            lines=[(ref, store.PRODUCTS[ref].name) for ref in checkout.lines],
            total=checkout.total,
            metadata=checkout.metadata,
            checkout_token=checkout.token,
        )
        world.record.note(
            shopper.key,
            f"pays: order {order.number}, {checkout.total} {checkout.currency}, "
            "placed from the offer's checkout",
        )

    return act


def first_order_ships(tracking_number: str) -> Action:
    def act(world: World, shopper: Shopper) -> None:
        order = world.orders[shopper.key][0]
        handlers.on_fulfillment_created(
            FulfillmentSnapshot(
                id=str(uuid.uuid4()),
                order=order,
                tracking_number=tracking_number,
                created_at=timezone.now(),
            )
        )
        world.record.note(shopper.key, f"order {order.number} ships, tracking {tracking_number}")

    return act


def replies(body: str) -> Action:
    """The shopper texts `body` to the store's number: Twilio posts it, signed, to the plugin."""

    def act(world: World, shopper: Shopper) -> None:
        url = conf.channel_route_url(world.public_base_url, shopper.channel.slug, "twilio/inbound")
        status, _ = world.twilio.send_inbound(url, shopper.e164, store.SENDER, body)
        world.record.note(
            shopper.key, f'replies "{body}" (Twilio posts it to the signed inbound route: {status})'
        )

    return act


def provider_refuses_next_text(code: int) -> Action:
    def act(world: World, shopper: Shopper) -> None:
        world.twilio.fail_next(code, to=shopper.e164)
        world.record.note(
            shopper.key, f"the provider is busy: it refuses the next text to this number ({code})"
        )

    return act


# Helpers ------------------------------------------------------------------------------------


def _place(
    world: World,
    shopper: Shopper,
    *,
    lines: list[tuple[str, str]],
    total: Decimal,
    metadata: dict[str, str],
    checkout_token: str = "",
) -> OrderSnapshot:
    order = OrderSnapshot(
        id=str(uuid.uuid4()),
        number=str(next(world.numbers)),
        channel_slug=shopper.channel.slug,
        email=shopper.email,
        total=total,
        currency=shopper.channel.currency,
        created_at=timezone.now(),
        language_code=shopper.language,
        billing_address=shopper.address(),
        shipping_address=shopper.address(),
        lines=tuple(OrderLineSnapshot(ref, name, 1) for ref, name in lines),
        metadata=metadata,
        checkout_token=checkout_token,
    )
    with transaction.atomic():  # as in Saleor: the hook runs inside the order's transaction
        handlers.record_order_placed(order)
    world.orders.setdefault(shopper.key, []).append(order)
    return order


def _link_in_text(world: World, shopper: Shopper, step: int) -> str:
    """The link in the shopper's offer `step`, read from the text as the phone received it."""
    from ..constants import Flow
    from ..models import Message

    provider_id = (
        Message.objects.filter(
            recipient__phone=shopper.e164, flow=Flow.POST_PURCHASE_OFFER, step=step
        )
        .exclude(provider_id=None)
        .values_list("provider_id", flat=True)
        .first()
    )
    received = {message.sid: message.form["Body"] for message in world.twilio.messages}
    found = LINK_RE.search(received.get(provider_id or "", ""))
    if found is None:
        raise RuntimeError(f"{shopper.name} received no offer {step} with a link")
    return found.group(0)


def _checkout_behind(location: str) -> checkouts.LocmemCheckout:
    checkout_id = parse_qs(urlsplit(location).query).get("checkout", [""])[0]
    for checkout in checkouts.store.checkouts.values():
        if checkout.id == checkout_id:
            return checkout
    raise RuntimeError(f"the storefront address names no checkout: {location}")


def _describe_tap(step: int, location: str, checkout: checkouts.LocmemCheckout) -> str:
    items = ", ".join(
        f"{store.PRODUCTS[ref].name} {store.PRODUCTS[ref].prices[checkout.currency]}"
        for ref in checkout.lines
    )
    address = checkout.shipping_address
    ship_to = f"{address.street_address_1}, {address.city}" if address else "-"
    address_part, _, checkout_ref = location.partition("checkout=")
    shown = f"{address_part}checkout={checkout_ref[:12]}..."
    return (
        f"taps the link in offer {step} and lands in the storefront's checkout, {shown}, "
        f"filled in: {items}, code {checkout.voucher_code} -{checkout.discount}, "
        f"total {checkout.total} {checkout.currency}; {checkout.email}, ship to {ship_to}"
    )
