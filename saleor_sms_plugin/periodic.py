"""The plugin's periodic tasks, as a Celery beat schedule.

Celery beat registers a schedule in its scheduler's own table when it starts, and runs what is
there: inside Saleor the adapter adds these entries to Saleor's Celery app, whose
`DatabaseScheduler` keeps them in its `CustomPeriodicTask` table beside Saleor's own tasks; the
standalone app (demo, tests) hands them to django-celery-beat's scheduler.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery

DISPATCH_TASK = "saleor_sms_plugin.dispatch_due_messages"
DISPATCH_TASK_NAME = "saleor-sms-plugin: send due messages"
DISPATCH_EVERY_SECONDS = 30
PREPARE_TASK = "saleor_sms_plugin.prepare_checkouts"
PREPARE_TASK_NAME = "saleor-sms-plugin: prepare offer checkouts"
PREPARE_EVERY_SECONDS = 15
EVENTS_TASK = "saleor_sms_plugin.process_recorded_events"
EVENTS_TASK_NAME = "saleor-sms-plugin: handle recorded events"
EVENTS_EVERY_SECONDS = 15
RECOVERY_TASK = "saleor_sms_plugin.recover_stale_messages"
RECOVERY_TASK_NAME = "saleor-sms-plugin: settle texts left sending"
RECOVERY_EVERY_SECONDS = 30
HOUSEKEEPING_TASK = "saleor_sms_plugin.housekeeping"
HOUSEKEEPING_TASK_NAME = "saleor-sms-plugin: forward replies, purge old texts"
HOUSEKEEPING_EVERY_SECONDS = 3600

#: (name shown in the admin, task, every so many seconds)
SCHEDULE = (
    (DISPATCH_TASK_NAME, DISPATCH_TASK, DISPATCH_EVERY_SECONDS),
    (PREPARE_TASK_NAME, PREPARE_TASK, PREPARE_EVERY_SECONDS),
    (EVENTS_TASK_NAME, EVENTS_TASK, EVENTS_EVERY_SECONDS),
    (RECOVERY_TASK_NAME, RECOVERY_TASK, RECOVERY_EVERY_SECONDS),
    (HOUSEKEEPING_TASK_NAME, HOUSEKEEPING_TASK, HOUSEKEEPING_EVERY_SECONDS),
)

TASK_NAMES = tuple(name for name, _, _ in SCHEDULE)


def add_to_beat_schedule(app: Celery) -> None:
    """Add the periodic tasks to Celery app `app`'s beat schedule (before or after the app is
    configured), beside the app's own."""
    for name, task, seconds in SCHEDULE:
        app.add_periodic_task(timedelta(seconds=seconds), app.signature(task), name=name)
