"""Personal data: erasing a customer on request, and purging old message texts.

Erasure removes the customer's phone numbers, the texts sent to and received from them and the
order details stored with those texts, and cancels whatever was still to be sent. Their offer
links expire, and the checkouts the links made (with the customer's email and addresses) are
deleted from the store unless they became orders or payment has started. The rows stay
(with their states and timestamps) so that statistics keep adding up. The retention purge
empties the bodies and order details of messages older than the channel's retention period.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone

from . import conf
from .checkouts import get_gateway
from .conf import get_channel_settings
from .constants import SkipReason, Status
from .models import CheckoutPreparation, InboundMessage, Message, OfferLink, Recipient
from .phones import PhoneNumberRejected, normalize_phone

logger = logging.getLogger(__name__)

ERASED_MESSAGE = {"body": "", "context": {}, "error_message": ""}
IN_FLIGHT = (Status.SCHEDULED, Status.SENDING)


@dataclass(frozen=True)
class Erasure:
    recipients: int
    messages: int
    replies: int
    links: int = 0
    checkouts: int = 0


def erase_customer(
    customer_refs: Iterable[str],
    phones: Iterable[tuple[str, str]] = (),
    now: datetime | None = None,
) -> Erasure:
    """Erase a customer's numbers and texts.

    `customer_refs` are the references their orders carried (account id, and the email of
    orders placed as a guest); `phones` are (number, country) pairs from their addresses.
    """
    now = now or timezone.now()
    numbers = _normalized(phones)
    by_ref = Q(customer_ref__in=[ref for ref in customer_refs if ref])
    with transaction.atomic():
        recipient_ids = list(
            Recipient.objects.filter(by_ref | Q(phone__in=numbers)).values_list("pk", flat=True)
        )
        messages = Message.objects.filter(by_ref | Q(recipient_id__in=recipient_ids))
        messages.filter(status=Status.SCHEDULED).update(
            status=Status.CANCELLED, reason=SkipReason.ERASED.value, updated_at=now
        )
        links, checkout_tokens = _expire_links(messages, now)
        erased_messages = messages.update(**ERASED_MESSAGE, customer_ref="", updated_at=now)
        replies = InboundMessage.objects.filter(
            Q(recipient_id__in=recipient_ids) | Q(from_phone__in=numbers)
        ).update(body="", from_phone="")
        erased = Recipient.objects.filter(pk__in=recipient_ids).update(
            phone=None, customer_ref="", country_area="", time_zone="", erased_at=now
        )
    return Erasure(
        recipients=erased,
        messages=erased_messages,
        replies=replies,
        links=links,
        checkouts=_delete_checkouts(checkout_tokens),
    )


def _expire_links(messages: QuerySet[Message], now: datetime) -> tuple[int, list[str]]:
    """Expire the links of these texts and forget their checkouts; returns (links, tokens)."""
    links = OfferLink.objects.filter(message__in=messages)
    tokens = [token for token in links.values_list("checkout_token", flat=True) if token]
    expired = links.update(
        expires_at=Least(F("expires_at"), Value(now)),
        checkout_id="",
        checkout_token="",
        checkout_lines=[],
        prepare_state=CheckoutPreparation.pending_becomes(CheckoutPreparation.SKIPPED),
    )
    return expired, tokens


def _delete_checkouts(tokens: list[str]) -> int:
    if not tokens:
        return 0
    try:
        return get_gateway().delete_checkouts(tokens)
    except Exception as error:  # the plugin's own data is erased either way
        logger.warning(
            "The checkouts of %d erased offer links were not deleted: %r", len(tokens), error
        )
        return 0


def _normalized(phones: Iterable[tuple[str, str]]) -> list[str]:
    numbers = []
    for raw, country in phones:
        try:
            numbers.append(normalize_phone(raw, country or None).e164)
        except PhoneNumberRejected:
            continue
    return numbers


def purge_old_texts(now: datetime | None = None) -> int:
    """Empty old bodies per channel retention, and leftovers of erased numbers; returns rows."""
    now = now or timezone.now()
    purged = 0
    for slug in Message.objects.values_list("channel_slug", flat=True).distinct().order_by():
        days = retention_days(slug)
        if days:
            purged += _purge(Message.objects.filter(channel_slug=slug), now - timedelta(days=days))
            InboundMessage.objects.filter(
                channel_slug=slug, received_at__lt=now - timedelta(days=days)
            ).exclude(body="").update(body="")
    # A text being sent while its recipient was erased may have had its body written back.
    purged += _purge(Message.objects.filter(recipient__erased_at__isnull=False), now)
    return purged


def _purge(messages: QuerySet[Message], cutoff: datetime) -> int:
    return (
        messages.filter(created_at__lt=cutoff)
        .exclude(status__in=IN_FLIGHT)
        .exclude(body="", context={}, error_message="")
        .update(**ERASED_MESSAGE)
    )


def retention_days(channel_slug: str) -> int:
    """The channel's retention period; the default when the channel is gone."""
    channel = get_channel_settings(channel_slug)
    values = channel.values if channel is not None else conf.parse_values({})
    return int(values[conf.RETENTION_DAYS])
