"""Consent to marketing texts: where it comes from and how a change is recorded.

Transactional texts need no consent beyond the number given with the order. Marketing texts
need the recipient's opt-in, from one of these sources: a metadata key on the checkout (copied
to the order) or on the customer account, a call to the core's API (GraphQL or Python), or a
START reply. Consent belongs to the number: a STOP in one channel is honoured in all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from . import conf
from .conf import ChannelSettings
from .constants import Consent, SkipReason
from .dispatch import cancel_pending
from .models import Recipient


class Source:
    """Where a consent change came from, as stored in `Recipient.consent_source`."""

    CHECKOUT = "checkout_metadata"
    CUSTOMER = "customer_metadata"
    API = "api"
    START_REPLY = "start_reply"
    STOP_REPLY = "stop_reply"
    CARRIER = "carrier"


TRUE_VALUES = frozenset({"true", "yes", "1", "on", "y", "opted_in"})
FALSE_VALUES = frozenset({"false", "no", "0", "off", "n", "opted_out"})


def consent_from_metadata(metadata: Mapping[str, str], key: str) -> Consent | None:
    """What a metadata value says: opted in, opted out, or nothing (key absent or unclear)."""
    if not key or key not in metadata:
        return None
    value = str(metadata[key]).strip().lower()
    if value in TRUE_VALUES:
        return Consent.OPTED_IN
    if value in FALSE_VALUES:
        return Consent.OPTED_OUT
    return None


def consent_in_metadata(
    channel: ChannelSettings, *sources: tuple[Mapping[str, str], str]
) -> tuple[Consent, str] | None:
    """The first (consent, source) that the channel's metadata key finds in `sources`.

    `sources` are (metadata, source name) pairs, most specific first (the checkout's choice
    outranks what the account said earlier).
    """
    key = channel.values.get(conf.CONSENT_METADATA_KEY, "")
    for metadata, source in sources:
        found = consent_from_metadata(metadata, key)
        if found is not None:
            return found, source
    return None


def record_consent(
    recipient: Recipient, consent: Consent, source: str, now: datetime | None = None
) -> bool:
    """Store a consent change in one conditional UPDATE; True when the consent changed.

    An opt-out cancels every pending marketing text of the number.
    """
    now = now or timezone.now()
    changed = (
        Recipient.objects.filter(pk=recipient.pk)
        .filter(~Q(consent=consent.value))
        .update(consent=consent.value, consent_source=source, consent_changed_at=now)
    )
    if changed:
        recipient.consent, recipient.consent_source = consent.value, source
        recipient.consent_changed_at = now
    if consent == Consent.OPTED_OUT:
        cancel_pending(recipient_id=recipient.pk, reason=SkipReason.OPTED_OUT, marketing_only=True)
    return bool(changed)
