"""Plain snapshots of what happened in the store.

The core never sees Saleor's models: the adapter (or any other event source, such as a Saleor
App receiving webhooks) turns orders, fulfillments and customers into these dataclasses.
They are immutable and JSON-serializable, so they can be stored with a scheduled message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class AddressSnapshot:
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    country: str = ""
    country_area: str = ""
    city: str = ""
    postal_code: str = ""
    street_address_1: str = ""
    street_address_2: str = ""
    company_name: str = ""


@dataclass(frozen=True)
class OrderLineSnapshot:
    variant_id: str
    product_name: str
    quantity: int
    sku: str = ""


@dataclass(frozen=True)
class OrderSnapshot:
    id: str
    number: str
    channel_slug: str
    email: str
    total: Decimal
    currency: str
    created_at: datetime
    language_code: str = ""
    user_id: str = ""
    customer_language_code: str = ""
    billing_address: AddressSnapshot | None = None
    shipping_address: AddressSnapshot | None = None
    lines: tuple[OrderLineSnapshot, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    # The checkout the order was placed from (Saleor's `Order.checkout_token`), if any.
    checkout_token: str = ""
    # The ordering customer's own metadata (empty for guests): a consent source.
    customer_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def first_name(self) -> str:
        for address in (self.billing_address, self.shipping_address):
            if address and address.first_name:
                return address.first_name
        return ""

    @property
    def customer_ref(self) -> str:
        """Who bought: the Saleor user id, or the email for guest checkouts."""
        return self.user_id or self.email.lower()

    def phone_candidates(self) -> list[tuple[str, str]]:
        """(phone, country) pairs to try, billing address first."""
        return [
            (address.phone, address.country)
            for address in (self.billing_address, self.shipping_address)
            if address and address.phone
        ]

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderSnapshot:
        """The snapshot `to_json` gave. Raises for anything else: KeyError or TypeError for
        a field missing or unknown, InvalidOperation or ValueError for an unreadable total or
        time."""
        return cls(
            **{
                **data,
                "total": Decimal(data["total"]),
                "created_at": datetime.fromisoformat(data["created_at"]),
                "billing_address": _address(data.get("billing_address")),
                "shipping_address": _address(data.get("shipping_address")),
                "lines": tuple(OrderLineSnapshot(**line) for line in data.get("lines", ())),
            }
        )


def _address(data: dict[str, Any] | None) -> AddressSnapshot | None:
    return AddressSnapshot(**data) if data is not None else None


@dataclass(frozen=True)
class FulfillmentSnapshot:
    id: str
    order: OrderSnapshot
    tracking_number: str = ""
    created_at: datetime | None = None
    # Staff may ship without telling the customer (Saleor's `notify_customer`).
    notify_customer: bool = True


@dataclass(frozen=True)
class CustomerSnapshot:
    id: str
    email: str
    first_name: str = ""
    language_code: str = ""
    default_address: AddressSnapshot | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # Every address in the customer's address book, for erasing their numbers.
    addresses: tuple[AddressSnapshot, ...] = ()

    @property
    def customer_ref(self) -> str:
        """The same reference an order by this customer carries (OrderSnapshot.customer_ref)."""
        return self.id or self.email.lower()

    def phone_candidates(self) -> list[tuple[str, str]]:
        """(phone, country) pairs to try, default address first."""
        return [
            (address.phone, address.country)
            for address in (self.default_address, *self.addresses)
            if address and address.phone
        ]


def to_json(snapshot: Any) -> dict[str, Any]:
    """A JSON-ready dict of a snapshot: decimals and datetimes become strings."""
    return _jsonable(dataclasses.asdict(snapshot))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
