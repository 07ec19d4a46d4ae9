"""Celery entry points: primitive arguments in, the work done by dispatch."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import requests
from celery import Task, shared_task
from django.db.models import F
from django.utils import timezone

from . import dispatch, event_inbox, inbound, periodic, prepared_checkouts, privacy
from .models import PeriodicTaskRun

# Saleor's Celery app gives tasks a class that flags every query on its primary database (a
# warning per query in production, an error in Saleor's tests) unless Saleor's code allows it.
# These tasks claim, send and record on the primary by design, so they use Celery's own Task.


def periodic_task(name: str) -> Callable[[Callable[..., int]], Task]:
    """A task beat starts on the plugin's schedule (periodic.SCHEDULE): each finished run is
    counted in PeriodicTaskRun, which shows that beat and the workers do run it."""

    def register(body: Callable[..., int]) -> Task:
        @functools.wraps(body)
        def run(**options: Any) -> int:
            result = body(**options)
            now = timezone.now()
            PeriodicTaskRun.objects.bulk_create(
                [PeriodicTaskRun(task=name, runs=0, last_finished_at=now)], ignore_conflicts=True
            )
            PeriodicTaskRun.objects.filter(task=name).update(
                runs=F("runs") + 1, last_finished_at=now
            )
            return result

        task: Task = shared_task(base=Task, name=name, ignore_result=True)(run)
        return task

    return register


DISPATCH_TIME_BUDGET = 50.0  # seconds; the periodic task runs every 30 s
RECOVERY_TIME_BUDGET = 25.0  # seconds; the periodic task runs every 30 s
PREPARE_TIME_BUDGET = 12.0  # seconds; the periodic task runs every 15 s
EVENTS_TIME_BUDGET = 12.0  # seconds; the periodic task runs every 15 s


@shared_task(base=Task, name="saleor_sms_plugin.send_message", ignore_result=True, acks_late=True)
def send_message_task(message_id: int) -> None:
    """Send one message now (enqueued after the order's transaction commits)."""
    dispatch.send_message(message_id)


@periodic_task(periodic.DISPATCH_TASK)
def dispatch_due_messages_task(batch_size: int = dispatch.DEFAULT_BATCH_SIZE) -> int:
    """Send every due message, batch after batch, within a time budget; returns claimed count."""
    return dispatch.dispatch_all(batch_size=batch_size, time_budget=DISPATCH_TIME_BUDGET)


@periodic_task(periodic.RECOVERY_TASK)
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


@periodic_task(periodic.HOUSEKEEPING_TASK)
def housekeeping_task() -> int:
    """Forward replies whose first attempt was lost, and purge texts past retention."""
    inbound.forward_pending()
    return privacy.purge_old_texts()


@periodic_task(periodic.PREPARE_TASK)
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


@shared_task(base=Task, name="saleor_sms_plugin.process_event", ignore_result=True, acks_late=True)
def process_event_task(event_id: int) -> None:
    """Handle one recorded event (published once the recording transaction commits)."""
    event_inbox.process_event(event_id)


@periodic_task(periodic.EVENTS_TASK)
def process_recorded_events_task() -> int:
    """Handle the recorded events no task handled (broker down, task lost, a failure's retry)
    within a time budget, and purge old handled ones; returns how many were handled."""
    report = event_inbox.process_due(time_budget=EVENTS_TIME_BUDGET)
    event_inbox.purge_processed()
    return report.processed
