"""Mutations: thin wrappers around `operations`, answering in Saleor's style.

A refused input comes back as `errors { field code message }` with no change made; a viewer
without permission gets a `PermissionDenied` GraphQL error and no data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene
from graphql_relay import from_global_id

from .. import auth, operations
from ..constants import Consent
from .context import Context
from .permissions import check_permission
from .types import SmsConsent, SmsError, SmsMessage, SmsRecipient

Errors = graphene.List(graphene.NonNull(SmsError), required=True)


def run(context: Context, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Check the viewer's permission, run the operation, turn a refusal into errors."""
    check_permission(context)
    try:
        return {**action(), "errors": []}
    except operations.OperationError as error:
        return {
            "errors": [SmsError(field=_camel(error.field), code=error.code, message=str(error))]
        }


def _camel(name: str | None) -> str | None:
    if name is None:
        return None
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def message_pk(global_id: str, field: str = "id") -> int:
    """The primary key of an `SmsMessage` global ID; raises OperationError for another."""
    try:
        type_name, pk = from_global_id(global_id)
    except (TypeError, ValueError, UnicodeDecodeError):
        type_name, pk = "", ""
    if type_name != SmsMessage.__name__ or not str(pk).isdigit():
        raise operations.OperationError(
            f"{global_id!r} is not the ID of a message.",
            code=operations.ErrorCode.INVALID,
            field=field,
        )
    return int(pk)


def channel_of(context: Context, channel: str | None) -> str:
    return channel or context.channel.channel_slug


class SendTestMessage(graphene.Mutation):
    """Send a test text now to check the channel's provider settings."""

    class Arguments:
        phone = graphene.String(required=True, description="Any format; E.164 is safest.")
        text = graphene.String(description="Default: the catalogue's test text.")
        channel = graphene.String(description="Default: the channel of the route.")

    message = graphene.Field(SmsMessage)
    errors = Errors

    @staticmethod
    def mutate(
        root: Any, info: Any, phone: str, text: str | None = None, channel: str | None = None
    ) -> Any:
        context: Context = info.context
        return SendTestMessage(
            **run(
                context,
                lambda: {
                    "message": operations.send_test_message(
                        channel_of(context, channel),
                        phone,
                        text,
                        requested_by=auth.describe(context.viewer),
                    )
                },
            )
        )


class SendMessageInput(graphene.InputObjectType):
    phone = graphene.String(required=True)
    text = graphene.String(required=True)
    transactional = graphene.Boolean(
        default_value=False,
        description="A text about an order the customer placed: sent without an opt-in "
        "(never to a number that opted out) and without the opt-out line.",
    )
    order_id = graphene.String(description="The order the text is about.")
    order_number = graphene.String()
    idempotency_key = graphene.String(
        description="Sending again with the same key returns the first message."
    )
    channel = graphene.String(description="Default: the channel of the route.")


class SendMessage(graphene.Mutation):
    """Send a text written by staff to one customer (a marketing text unless transactional)."""

    class Arguments:
        input = SendMessageInput(required=True)

    message = graphene.Field(SmsMessage)
    errors = Errors

    @staticmethod
    def mutate(root: Any, info: Any, input: dict[str, Any]) -> Any:
        context: Context = info.context
        return SendMessage(
            **run(
                context,
                lambda: {
                    "message": operations.send_custom_message(
                        channel_of(context, input.get("channel")),
                        input["phone"],
                        input["text"],
                        transactional=bool(input.get("transactional")),
                        order_id=input.get("order_id") or "",
                        order_number=input.get("order_number") or "",
                        idempotency_key=input.get("idempotency_key") or "",
                        requested_by=auth.describe(context.viewer),
                    )
                },
            )
        )


class ScheduleWinBackCampaign(graphene.Mutation):
    """Text every customer of the channel who has not bought for a while (opted-in numbers
    without a pending win-back text). With `dryRun`, only count them."""

    class Arguments:
        channel = graphene.String(description="Default: the channel of the route.")
        inactive_days = graphene.Int(
            description="Days since the last purchase; default: the first win-back delay."
        )
        dry_run = graphene.Boolean(default_value=False)

    count = graphene.Int(description="Texts scheduled, or that would be with `dryRun`.")
    dry_run = graphene.Boolean(required=True)
    errors = Errors

    @staticmethod
    def mutate(
        root: Any,
        info: Any,
        channel: str | None = None,
        inactive_days: int | None = None,
        dry_run: bool = False,
    ) -> Any:
        context: Context = info.context
        return ScheduleWinBackCampaign(
            dry_run=dry_run,
            **run(
                context,
                lambda: {
                    "count": operations.schedule_win_back_campaign(
                        channel_of(context, channel), inactive_days=inactive_days, dry_run=dry_run
                    )
                },
            ),
        )


class CancelScheduledMessage(graphene.Mutation):
    """Cancel a text that has not been sent yet."""

    class Arguments:
        id = graphene.ID(required=True)

    message = graphene.Field(SmsMessage)
    errors = Errors

    @staticmethod
    def mutate(root: Any, info: Any, id: str) -> Any:
        return CancelScheduledMessage(
            **run(
                info.context,
                lambda: {"message": operations.cancel_scheduled_message(message_pk(id))},
            )
        )


class SetConsent(graphene.Mutation):
    """Record that a number agreed to marketing texts (OPTED_IN) or withdrew (OPTED_OUT)."""

    class Arguments:
        phone = graphene.String(required=True)
        consent = SmsConsent(required=True)
        channel = graphene.String(
            description="The channel that confirms an opt-in by text. Default: the route's."
        )

    recipient = graphene.Field(SmsRecipient)
    errors = Errors

    @staticmethod
    def mutate(root: Any, info: Any, phone: str, consent: str, channel: str | None = None) -> Any:
        context: Context = info.context
        return SetConsent(
            **run(
                context,
                lambda: {
                    "recipient": operations.set_consent(
                        phone, Consent(consent), channel_slug=channel_of(context, channel)
                    )
                },
            )
        )


class RetryFailedMessages(graphene.Mutation):
    """Send failed texts again (not those to numbers that opted out or cannot receive texts).
    Without arguments, every failed text of every channel, at most 1000 per call."""

    class Arguments:
        channel = graphene.String()
        ids = graphene.List(graphene.NonNull(graphene.ID))

    count = graphene.Int(description="Texts scheduled again.")
    messages = graphene.List(graphene.NonNull(SmsMessage), required=True)
    errors = Errors

    @staticmethod
    def mutate(
        root: Any, info: Any, channel: str | None = None, ids: list[str] | None = None
    ) -> Any:
        def retry() -> dict[str, Any]:
            pks = None if ids is None else [message_pk(value, "ids") for value in ids]
            retried = operations.retry_failed_messages(channel_slug=channel, message_ids=pks)
            return {"count": len(retried), "messages": retried}

        result = run(info.context, retry)
        result.setdefault("messages", [])
        return RetryFailedMessages(**result)


class Mutation(graphene.ObjectType):
    send_test_message = SendTestMessage.Field()
    send_message = SendMessage.Field()
    schedule_win_back_campaign = ScheduleWinBackCampaign.Field()
    cancel_scheduled_message = CancelScheduledMessage.Field()
    set_consent = SetConsent.Field()
    retry_failed_messages = RetryFailedMessages.Field()
