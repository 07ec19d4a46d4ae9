"""Texts shoppers send to the store's number: keywords, consent, two-way conversations.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT opt the number out (and cancel its pending
marketing texts); START and UNSTOP opt it back in; HELP and INFO get the help text. Any other
reply is stored, announced with the `inbound_received` signal and, when the channel names a
forward URL, posted there. Each provider message id is handled once: a replayed webhook is
acknowledged and changes nothing.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import requests
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf, task_queue
from .conf import ChannelSettings, get_channel_settings
from .consent import Source, record_consent
from .constants import Consent
from .models import InboundMessage, Message, Recipient
from .phones import PhoneNumberRejected, normalize_phone
from .scheduling import upsert_recipient
from .signals import inbound_received

logger = logging.getLogger(__name__)

FORWARD_TIMEOUT = 10  # seconds
FORWARD_GRACE = timedelta(minutes=10)
FORWARD_GIVE_UP = timedelta(days=1)


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    NONE = ""


KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.STOP),
    **dict.fromkeys(("START", "UNSTOP"), Keyword.START),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}
REPLY_KEYS = {Keyword.STOP: "stop_reply", Keyword.START: "start_reply", Keyword.HELP: "help_reply"}


_FOLDED_KEYWORDS = {word.casefold(): keyword for word, keyword in KEYWORDS.items()}
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def classify(body: str) -> Keyword:
    """The keyword a text is, if the whole text is one (case, width, invisible characters and
    surrounding punctuation, symbols and spaces aside)."""
    return _FOLDED_KEYWORDS.get(keyword_form(body), Keyword.NONE)


def keyword_form(body: str) -> str:
    """A text as keywords are matched: NFKC (full-width and other compatibility letters become
    plain ones), without format characters (zero-width spaces and joiners, byte order marks,
    direction marks: phones and keyboards slip them in unseen), case-folded, trimmed."""
    text = unicodedata.normalize("NFKC", body)
    text = "".join(character for character in text if unicodedata.category(character) != "Cf")
    return _EDGES.sub("", text.casefold())


class InvalidInbound(ValueError):
    """A signed request that does not describe an incoming text."""


@dataclass(frozen=True)
class InboundResult:
    keyword: Keyword
    # False for a replayed webhook: nothing was changed and nothing should be answered.
    first_time: bool
    reply: str = ""


def receive(channel: ChannelSettings, params: Mapping[str, str]) -> InboundResult:
    """Record one incoming text and act on it; returns what to answer."""
    provider_id = params.get("MessageSid") or params.get("SmsSid") or ""
    from_phone, body = params.get("From", ""), params.get("Body", "")
    if not provider_id or not from_phone:
        raise InvalidInbound("MessageSid and From are required")
    keyword = classify(body)
    with transaction.atomic():
        recipient = _recipient(from_phone, params.get("FromCountry") or channel.default_country)
        inbound = _store_once(channel, params, provider_id, recipient, keyword)
        if inbound is None:
            return InboundResult(keyword, first_time=False)
        if recipient is not None:
            _apply_keyword(recipient, keyword)
        if keyword == Keyword.NONE:
            forward_url = channel.values.get(conf.INBOUND_FORWARD_URL, "")
            transaction.on_commit(functools.partial(_announce, inbound, forward_url))
    return InboundResult(keyword, first_time=True, reply=reply_text(channel, keyword, recipient))


def _recipient(from_phone: str, country: str) -> Recipient | None:
    """The sender; a national number is read in `country` (the provider's, else the channel's)."""
    try:
        phone = normalize_phone(from_phone, country or None)
    except PhoneNumberRejected:
        return None
    return upsert_recipient(phone)


def _store_once(
    channel: ChannelSettings,
    params: Mapping[str, str],
    provider_id: str,
    recipient: Recipient | None,
    keyword: Keyword,
) -> InboundMessage | None:
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(
                provider_id=provider_id,
                channel_slug=channel.channel_slug,
                recipient=recipient,
                from_phone=params.get("From", "")[:20],
                to_phone=params.get("To", "")[:20],
                body=params.get("Body", ""),
                keyword=keyword.value,
            )
    except IntegrityError:
        return None


def _apply_keyword(recipient: Recipient, keyword: Keyword) -> None:
    if keyword == Keyword.STOP:
        record_consent(recipient, Consent.OPTED_OUT, Source.STOP_REPLY)
    elif keyword == Keyword.START:
        record_consent(recipient, Consent.OPTED_IN, Source.START_REPLY)


def _announce(inbound: InboundMessage, forward_url: str) -> None:
    inbound_received.send(sender=InboundMessage, inbound=inbound)
    if not forward_url:
        return
    from .tasks import forward_inbound_task

    # Inside the provider's webhook request. Stored already: if the broker does not take the
    # task, the periodic sweep (`forward_pending`) forwards the reply.
    task_queue.enqueue(forward_inbound_task, inbound.pk)


def forward(inbound_id: int, now: datetime | None = None) -> bool:
    """POST one stored reply to the channel's forward URL; True once it has been forwarded.

    Raises `requests.RequestException` when the store's endpoint fails (the task retries).
    Delivery is at least once: the payload carries `message_sid` for the receiver to dedupe.
    """
    inbound = InboundMessage.objects.filter(pk=inbound_id, forwarded_at__isnull=True).first()
    if inbound is None:
        return True
    channel = get_channel_settings(inbound.channel_slug)
    url = channel.values.get(conf.INBOUND_FORWARD_URL, "") if channel else ""
    if not url:
        return False
    response = requests.post(url, json=forward_payload(inbound), timeout=FORWARD_TIMEOUT)
    response.raise_for_status()
    InboundMessage.objects.filter(pk=inbound.pk, forwarded_at__isnull=True).update(
        forwarded_at=now or timezone.now()
    )
    return True


def forward_payload(inbound: InboundMessage) -> dict[str, str]:
    last = (
        Message.objects.filter(recipient_id=inbound.recipient_id, sent_at__isnull=False)
        .order_by("-sent_at")
        .values("order_number", "flow")
        .first()
        if inbound.recipient_id
        else None
    ) or {}
    return {
        "channel": inbound.channel_slug,
        "message_sid": inbound.provider_id,
        "from": inbound.from_phone,
        "to": inbound.to_phone,
        "body": inbound.body,
        "received_at": inbound.received_at.isoformat(),
        "in_reply_to_order": last.get("order_number", ""),
        "in_reply_to_flow": last.get("flow", ""),
    }


def forward_pending(now: datetime | None = None, limit: int = 100) -> int:
    """Enqueue forwarding of stored replies whose first attempt was lost; returns how many."""
    now = now or timezone.now()
    from .tasks import forward_inbound_task

    ids = list(
        InboundMessage.objects.filter(
            keyword="",
            forwarded_at__isnull=True,
            received_at__lt=now - FORWARD_GRACE,
            received_at__gt=now - FORWARD_GIVE_UP,
        ).values_list("pk", flat=True)[:limit]
    )
    for inbound_id in ids:
        forward_inbound_task.delay(inbound_id)
    return len(ids)


def reply_text(channel: ChannelSettings, keyword: Keyword, recipient: Recipient | None) -> str:
    """The answer to a keyword, in the recipient's language ('' when none is due, or when
    a value its wording needs, the shop's name, is empty)."""
    if keyword == Keyword.NONE:
        return ""
    setting = conf.REPLY_TO_STOP if keyword == Keyword.STOP else conf.REPLY_TO_KEYWORDS
    if not channel.values.get(setting):
        return ""
    from .texts import MissingVariables, choose_language, render_text

    language = choose_language(
        None,
        (recipient.language if recipient else "") or None,
        channel.default_language or channel.default_country or None,
    )
    key = REPLY_KEYS[keyword]
    variables = {"shop_name": channel.shop_name}
    try:
        return render_text(key, language, variables, override=channel.text_override(key))
    except MissingVariables as missing:
        logger.warning("No answer to %s in channel %s: %s", keyword, channel.channel_slug, missing)
        return ""
