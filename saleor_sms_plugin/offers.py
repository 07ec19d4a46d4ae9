"""Offers a channel attaches to its marketing texts, as the admin writes them (JSON), validated.

An offer says what a link in a text opens: a checkout with a store-wide voucher, with named
products, a choice of a few products (landing page), or a mystery product. Its voucher is one
shared code, or a Saleor voucher from which a unique code is drawn per recipient.
See docs/offers.md for the format and examples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from .constants import Flow


class OfferKind(StrEnum):
    VOUCHER = "voucher"
    PRODUCTS = "products"
    CHOICE = "choice"
    MYSTERY = "mystery"


class DiscountType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    FREE_SHIPPING = "free_shipping"


#: Flows whose texts carry an offer link, and the steps each has (None: any number).
OFFER_FLOWS: dict[str, int | None] = {
    Flow.POST_PURCHASE_OFFER.value: 3,
    Flow.WIN_BACK.value: None,
    Flow.LOYALTY_INVITE.value: 0,
}
#: The values a text gets only from an offer; its link, without one, leads to the store.
OFFER_VALUES = frozenset({"voucher_code", "discount", "expiry"})
MAX_CHOICES = 6
MAX_PRODUCTS = 10
MAX_LIFETIME_DAYS = 365
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEYS = frozenset(
    {
        "id",
        "flow",
        "step",
        "kind",
        "discount_type",
        "discount_value",
        "voucher_code",
        "voucher_id",
        "products",
        "lifetime_days",
    }
)


@dataclass(frozen=True)
class Offer:
    id: str
    flow: str
    kind: OfferKind
    discount_type: DiscountType
    discount_value: Decimal
    # None: every step of the flow without an offer of its own.
    step: int | None = None
    voucher_code: str = ""
    # A Saleor voucher (GraphQL id) from which each recipient gets a code of their own.
    voucher_id: str = ""
    products: tuple[str, ...] = ()
    # None: the channel's link lifetime.
    lifetime_days: int | None = None

    @property
    def unique_codes(self) -> bool:
        return bool(self.voucher_id)

    @property
    def names_products(self) -> bool:
        return self.kind != OfferKind.VOUCHER

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "flow": self.flow,
            "kind": self.kind.value,
            "discount_type": self.discount_type.value,
            "discount_value": str(self.discount_value),
        }
        for name in ("step", "lifetime_days"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        for name in ("voucher_code", "voucher_id"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.products:
            data["products"] = list(self.products)
        return data


class OfferProblem(ValueError):
    """An offer that cannot be used; the message names the offer and the key."""


def parse_offers(value: Any) -> tuple[Offer, ...]:
    """The offers of a configuration value: JSON text (or an already decoded list).

    Raises OfferProblem with a message naming the offer (by position and id) and its key.
    """
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise OfferProblem(
                f"must be a JSON list of offers: {error.msg} at line {error.lineno}, "
                f"column {error.colno}"
            ) from None
    if value is None:
        return ()
    if not isinstance(value, list):
        raise OfferProblem('must be a JSON list of offers, e.g. [{"id": "thanks15", ...}]')
    offers = tuple(_offer(item, position) for position, item in enumerate(value, start=1))
    _check_unique(offers)
    return offers


def _offer(item: Any, position: int) -> Offer:
    where = f"offer {position}"
    if not isinstance(item, dict):
        raise OfferProblem(f"{where} must be a JSON object")
    if isinstance(item.get("id"), str) and item["id"]:
        where = f"offer {position} ({item['id']!r})"
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise OfferProblem(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(KEYS))}")
    try:
        return _build(item)
    except OfferProblem as problem:
        raise OfferProblem(f"{where}: {problem}") from None


def _build(item: dict[str, Any]) -> Offer:
    offer_id = item.get("id")
    if not isinstance(offer_id, str) or not ID_RE.match(offer_id):
        raise OfferProblem("id must be 1 to 64 letters, digits, '-' or '_'")
    flow = _choice(item, "flow", OFFER_FLOWS)
    kind = OfferKind(_choice(item, "kind", [kind.value for kind in OfferKind]))
    discount_type = DiscountType(
        _choice(item, "discount_type", [value.value for value in DiscountType])
    )
    return Offer(
        id=offer_id,
        flow=flow,
        kind=kind,
        discount_type=discount_type,
        discount_value=_discount_value(item.get("discount_value"), discount_type),
        step=_step(item.get("step"), flow),
        voucher_code=_optional_text(item, "voucher_code"),
        voucher_id=_voucher_source(item),
        products=_products(item.get("products"), kind),
        lifetime_days=_lifetime(item.get("lifetime_days")),
    )


def _choice(item: dict[str, Any], key: str, allowed: Sequence[str] | dict[str, Any]) -> str:
    value = item.get(key)
    if value not in allowed:
        names = ", ".join(repr(name) for name in allowed)
        raise OfferProblem(f"{key} must be one of {names}")
    return str(value)


def _discount_value(raw: Any, discount_type: DiscountType) -> Decimal:
    if discount_type == DiscountType.FREE_SHIPPING:
        if raw not in (None, "", 0, "0"):
            raise OfferProblem("discount_value must be left out for free shipping")
        return Decimal(0)
    try:
        value = Decimal(str(raw)) if isinstance(raw, int | float | str) else None
    except InvalidOperation:
        value = None
    if isinstance(raw, bool) or value is None or not value.is_finite() or value <= 0:
        raise OfferProblem('discount_value must be a number greater than 0, e.g. 15 or "7.50"')
    if discount_type == DiscountType.PERCENTAGE and value > 100:
        raise OfferProblem("discount_value must be at most 100 for a percentage")
    return value


def _step(raw: Any, flow: str) -> int | None:
    if raw is None:
        return None
    steps = OFFER_FLOWS[flow]
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise OfferProblem("step must be a whole number")
    if steps == 0:
        raise OfferProblem(f"step must be left out: {flow} has a single text")
    if raw < 1 or (steps is not None and raw > steps):
        upper = f" to {steps}" if steps is not None else " or more"
        raise OfferProblem(f"step must be from 1{upper} for {flow}")
    return raw


def _optional_text(item: dict[str, Any], key: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str) or len(value) > 255 or value != value.strip():
        raise OfferProblem(f"{key} must be a string of at most 255 characters, without spaces")
    return value


def _voucher_source(item: dict[str, Any]) -> str:
    voucher_id = _optional_text(item, "voucher_id")
    code = item.get("voucher_code")
    if bool(voucher_id) == bool(code):
        raise OfferProblem(
            "give either voucher_code (one code shared by every recipient) or voucher_id "
            "(a Saleor voucher; each recipient gets a code of their own), not both"
        )
    return voucher_id


def _products(raw: Any, kind: OfferKind) -> tuple[str, ...]:
    if kind == OfferKind.VOUCHER:
        if raw:
            raise OfferProblem("products must be left out for a store-wide voucher")
        return ()
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(ref, str) and ref.strip() == ref and ref for ref in raw)
    ):
        raise OfferProblem("products must be a list of product or variant ids (strings)")
    if len(set(raw)) != len(raw):
        raise OfferProblem("products must not repeat an id")
    if kind == OfferKind.CHOICE and not 2 <= len(raw) <= MAX_CHOICES:
        raise OfferProblem(f"products must name 2 to {MAX_CHOICES} products for a choice")
    if len(raw) > MAX_PRODUCTS:
        raise OfferProblem(f"products must name at most {MAX_PRODUCTS} products")
    return tuple(raw)


def _lifetime(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_LIFETIME_DAYS:
        raise OfferProblem(f"lifetime_days must be a whole number from 1 to {MAX_LIFETIME_DAYS}")
    return raw


def _check_unique(offers: Sequence[Offer]) -> None:
    ids: set[str] = set()
    slots: set[tuple[str, int | None]] = set()
    for offer in offers:
        if offer.id in ids:
            raise OfferProblem(f"offer id {offer.id!r} is used twice")
        ids.add(offer.id)
        slot = (offer.flow, offer.step)
        if slot in slots:
            step = f" step {offer.step}" if offer.step is not None else " (every step)"
            raise OfferProblem(f"two offers are attached to {offer.flow}{step}")
        slots.add(slot)


def offer_for(offers: Sequence[Offer], flow: str, step: int) -> Offer | None:
    """The offer attached to a flow's step: its own, else the flow's offer for every step."""
    exact = next((o for o in offers if o.flow == flow and o.step == step), None)
    return exact or next((o for o in offers if o.flow == flow and o.step is None), None)


def offer_by_id(offers: Sequence[Offer], offer_id: str) -> Offer | None:
    return next((offer for offer in offers if offer.id == offer_id), None)


def discounted(price: Decimal, offer: Offer) -> Decimal:
    """A product price with the offer's discount (shipping discounts leave it unchanged)."""
    if offer.discount_type == DiscountType.PERCENTAGE:
        cut = (price * offer.discount_value / 100).quantize(Decimal("0.01"))
        return max(price - cut, Decimal(0))
    if offer.discount_type == DiscountType.FIXED:
        return max(price - offer.discount_value, Decimal(0))
    return price
