"""Celery entry points: primitive arguments in, the work done by dispatch."""

from __future__ import annotations

import time

import requests
from celery import Task, shared_task

from . import dispatch, inbound, prepared_checkouts, privacy

# Saleor's Celery app gives tasks a class that flags every query on its primary database (a
# warning per query in production, an error in Saleor's tests) unless Saleor's code allows it.
# These tasks claim, send and record on the primary by design, so they use Celery's own Task.

DISPATCH_TIME_BUDGET = 50.0  # seconds; the periodic task runs every 30 s
RECOVERY_TIME_BUDGET = 25.0  # seconds; the periodic task runs every 30 s
PREPARE_TIME_BUDGET = 12.0  # seconds; the periodic task runs every 15 s


@shared_task(base=Task, name="saleor_sms_plugin.send_message", ignore_result=True, acks_late=True)
def send_message_task(message_id: int) -> None:
    """Send one message now (enqueued after the order's transaction commits)."""
    dispatch.send_message(message_id)


@shared_task(base=Task, name="saleor_sms_plugin.dispatch_due_messages", ignore_result=True)
def dispatch_due_messages_task(batch_size: int = dispatch.DEFAULT_BATCH_SIZE) -> int:
    """Send every due message, batch after batch, within a time budget; returns claimed count."""
    return dispatch.dispatch_all(batch_size=batch_size, time_budget=DISPATCH_TIME_BUDGET)


@shared_task(base=Task, name="saleor_sms_plugin.recover_stale_messages", ignore_result=True)
def recover_stale_messages_task(batch_size: int = dispatch.DEFAULT_BATCH_SIZE) -> int:
    """Settle texts left `sending` past their lease, asking the provider about them
    concurrently, within a time budget; returns how many were settled. A task of its own so
    that asking about many of them never holds up sending new ones."""
    return dispatch.recover_all(batch_size=batch_size, time_budget=RECOVERY_TIME_BUDGET)


@shared_task(
    base=Task,
    name="saleor_sms_plugin.forward_inbound",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(requests.RequestException,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def forward_inbound_task(inbound_id: int) -> None:
    """POST a shopper's reply to the channel's forward URL, retrying while it fails."""
    inbound.forward(inbound_id)


@shared_task(base=Task, name="saleor_sms_plugin.housekeeping", ignore_result=True)
def housekeeping_task() -> int:
    """Forward replies whose first attempt was lost, and purge texts past retention."""
    inbound.forward_pending()
    return privacy.purge_old_texts()


@shared_task(base=Task, name="saleor_sms_plugin.prepare_checkouts", ignore_result=True)
def prepare_checkouts_task(batch_size: int = prepared_checkouts.DEFAULT_BATCH_SIZE) -> int:
    """Make the checkouts of links whose texts were sent, batch after batch, within a time
    budget; returns how many links were claimed."""
    started, claimed = time.monotonic(), 0
    while time.monotonic() - started < PREPARE_TIME_BUDGET:
        report = prepared_checkouts.prepare_checkouts(batch_size=batch_size)
        claimed += report.claimed
        if report.claimed < batch_size:
            break
    return claimed
