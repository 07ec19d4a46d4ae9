"""Provider status callbacks, turned into one conditional state change each.

A callback only moves a message forward (sending -> sent -> delivered | undelivered | failed),
so a replayed or late callback changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .constants import SkipReason, Status, TwilioError
from .models import Message, Recipient
from .signals import message_status_changed

PROVIDER_STATUSES: dict[str, Status] = {
    "accepted": Status.SENT,
    "scheduled": Status.SENT,
    "queued": Status.SENT,
    "sending": Status.SENT,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}
PREDECESSORS: dict[Status, tuple[Status, ...]] = {
    Status.SENT: (Status.SENDING,),
    Status.DELIVERED: (Status.SENDING, Status.SENT),
    Status.UNDELIVERED: (Status.SENDING, Status.SENT),
    Status.FAILED: (Status.SENDING, Status.SENT),
}
# Carrier errors that mean the number will never receive texts.
UNREACHABLE_CODES = frozenset({30005, 30006})


class InvalidCallback(ValueError):
    """A callback that is signed but does not describe a message of ours."""


def apply_status_callback(message_ref: str, params: Mapping[str, str]) -> bool:
    """Apply a provider status callback; True when it changed the message."""
    provider_id = params.get("MessageSid", "")
    provider_status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if not provider_id or provider_status not in PROVIDER_STATUSES:
        raise InvalidCallback("MessageSid and a known MessageStatus are required")
    if not message_ref.isdigit():
        raise InvalidCallback("the callback URL names no message")
    message = (
        Message.objects.filter(pk=int(message_ref)).only("pk", "provider_id", "status").first()
    )
    if message is None or (message.provider_id and message.provider_id != provider_id):
        raise InvalidCallback("no such message")
    status = PROVIDER_STATUSES[provider_status]
    error_code = _error_code(params)
    now = timezone.now()
    changes: dict[str, object] = {
        "status": status,
        "provider_id": Coalesce(F("provider_id"), Value(provider_id)),
        "sent_at": Coalesce(F("sent_at"), Value(now)),
        "updated_at": now,
    }
    if status == Status.DELIVERED:
        changes["delivered_at"] = now
    if error_code is not None:
        changes["error_code"] = error_code
    changed = Message.objects.filter(pk=message.pk, status__in=PREDECESSORS[status]).update(
        **changes
    )
    if changed:
        message_status_changed.send(
            sender=Message,
            message_id=message.pk,
            status=status.value,
            previous_status=message.status,
            error_code=error_code,
        )
        _learn_from_error(message.pk, error_code)
    return bool(changed)


def _error_code(params: Mapping[str, str]) -> int | None:
    raw = params.get("ErrorCode", "")
    return int(raw) if raw.isdigit() else None


def _learn_from_error(message_id: int, error_code: int | None) -> None:
    if error_code is None:
        return
    recipient_id = (
        Message.objects.filter(pk=message_id).values_list("recipient_id", flat=True).first()
    )
    if recipient_id is None:
        return
    from .dispatch import cancel_pending, opt_out

    if error_code == TwilioError.UNSUBSCRIBED_RECIPIENT:
        opt_out(recipient_id, source="carrier")
    elif error_code in UNREACHABLE_CODES:
        Recipient.objects.filter(pk=recipient_id).update(unreachable_code=error_code)
        cancel_pending(recipient_id=recipient_id, reason=SkipReason.INVALID_PHONE)
