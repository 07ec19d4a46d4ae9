"""Checkouts made ahead of the click, once an offer's text has been sent.

Creating a Saleor checkout costs about a hundred milliseconds of Saleor's own code; made in
the background, the click only looks the link up, checks the checkout is still open, records
the click and redirects. A periodic task claims links of sent texts in small batches with
`SELECT ... FOR UPDATE SKIP LOCKED` and makes each checkout through `links.checkout_for`, the
same code and the same row lock as a click, so a click at that moment, or a second preparer,
still ends with one checkout. The click falls back to making the checkout itself whenever
none was prepared or the prepared one is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import conf, links
from .constants import Status
from .models import CheckoutPreparation, OfferLink
from .offers import offer_by_id

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5  # links locked at once: a click on one of them waits for the batch
MAX_ATTEMPTS = 4
#: The wait after the first failed attempt, four times longer after each next one: 30 s, 2 min,
#: 8 min, so that a store restarting or briefly refusing does not use up the attempts.
RETRY_DELAY = timedelta(seconds=30)
RETRY_FACTOR = 4
SENT_STATUSES = (Status.SENT, Status.DELIVERED)
# Texts that will not reach the shopper: their links need no checkout.
UNSENT_STATUSES = (Status.FAILED, Status.CANCELLED, Status.SKIPPED, Status.UNDELIVERED)


@dataclass
class PreparationReport:
    claimed: int = 0
    prepared: int = 0
    failed: int = 0
    skipped: int = 0


def prepare_checkouts(
    batch_size: int = DEFAULT_BATCH_SIZE, now: datetime | None = None
) -> PreparationReport:
    """Claim one batch of links waiting for their checkout and make the checkouts.

    A link is prepared once its text is sent, while it has not expired and its offer (still
    configured, in a channel where the plugin is active and preparing is on) has fixed lines.
    Links of texts that were not sent, expired links and links whose offer changed are marked
    skipped. A failure is logged and counted on the link, which waits (`retry_delay`) before the
    next attempt; after MAX_ATTEMPTS the link is given up (`failed`, with the error) and its
    first click makes the checkout.
    """
    now = now or timezone.now()
    report = PreparationReport()
    channels: dict[str, conf.ChannelSettings | None] = {}
    with transaction.atomic():
        batch = list(
            OfferLink.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("message", "message__recipient")
            .filter(prepare_state=CheckoutPreparation.PENDING)
            .filter(Q(prepare_after__isnull=True) | Q(prepare_after__lte=now))
            .filter(Q(message__status__in=SENT_STATUSES + UNSENT_STATUSES) | Q(expires_at__lte=now))
            .order_by("pk")[:batch_size]
        )
        report.claimed = len(batch)
        for link in batch:
            slug = link.channel_slug
            if slug not in channels:
                channels[slug] = conf.get_channel_settings(slug)
            outcome = _prepare(link, channels[slug], now)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _prepare(link: OfferLink, channel: conf.ChannelSettings | None, now: datetime) -> str:
    opened = _openable(link, channel, now)
    if opened is None or channel is None:
        _set_state(link, CheckoutPreparation.SKIPPED)
        return "skipped"
    try:
        with transaction.atomic():
            links.checkout_for(opened, channel, links.lines_for(opened))
    except Exception as error:  # recorded on the link; the click still makes the checkout
        logger.warning("Could not prepare the checkout of link %s: %r", link.pk, error)
        attempts = link.prepare_attempts + 1
        state = CheckoutPreparation.FAILED if attempts >= MAX_ATTEMPTS else link.prepare_state
        OfferLink.objects.filter(pk=link.pk).update(
            prepare_state=state,
            prepare_attempts=attempts,
            prepare_error=repr(error)[:255],
            prepare_after=now + retry_delay(attempts),
        )
        return "failed"
    return "prepared"


def retry_delay(failed_attempts: int) -> timedelta:
    """How long a link waits after its `failed_attempts`-th failed preparation."""
    return RETRY_DELAY * RETRY_FACTOR ** (failed_attempts - 1)


def _openable(
    link: OfferLink, channel: conf.ChannelSettings | None, now: datetime
) -> links.OpenedLink | None:
    """The link as a click would open it, or None when its checkout should not be made."""
    if link.expires_at <= now or link.message.status not in SENT_STATUSES:
        return None
    if channel is None or not channel.active or not channel.prepares_checkouts:
        return None
    offer = offer_by_id(links.channel_offers(channel), link.offer_id)
    if offer is None or not links.has_fixed_lines(offer):
        return None
    return links.OpenedLink(link, link.message, offer, links.page_language(link.message, channel))


def _set_state(link: OfferLink, state: CheckoutPreparation) -> None:
    OfferLink.objects.filter(pk=link.pk).update(prepare_state=state)
