"""The core's event API: what the plugin (or any event source) calls when something happens."""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from . import flows
from .conf import get_channel_settings
from .constants import Status
from .events import OrderSnapshot
from .models import Message
from .scheduling import schedule_for_order

logger = logging.getLogger(__name__)


def on_order_placed(order: OrderSnapshot) -> list[Message]:
    """Schedule the texts a new order triggers; texts due now go out once the order commits."""
    channel = get_channel_settings(order.channel_slug)
    if channel is None or not channel.active:
        return []
    created = schedule_for_order(order, flows.plan_order_placed(order, channel))
    enqueue_due(created)
    return created


def enqueue_due(messages: list[Message]) -> None:
    """Send due messages from a worker after the current transaction commits.

    If the broker loses the task, the periodic dispatcher still finds the row.
    """
    now = timezone.now()
    for message in messages:
        if message.status == Status.SCHEDULED and message.due_at <= now:
            transaction.on_commit(functools.partial(_enqueue_send, message.id))


def _enqueue_send(message_id: int) -> None:
    from .tasks import send_message_task

    try:
        send_message_task.delay(message_id)
    except OperationalError as error:
        # The order is placed and the message stored: the periodic dispatcher sends it.
        logger.warning(
            "Could not enqueue message %s, the dispatcher will send it: %s", message_id, error
        )
