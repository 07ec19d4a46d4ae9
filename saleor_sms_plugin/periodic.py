"""The periodic tasks, registered with django-celery-beat when the app migrates."""

from __future__ import annotations

from typing import Any

from django.apps import apps

DISPATCH_TASK = "saleor_sms_plugin.dispatch_due_messages"
DISPATCH_TASK_NAME = "saleor-sms-plugin: send due messages"
DISPATCH_EVERY_SECONDS = 30
PREPARE_TASK = "saleor_sms_plugin.prepare_checkouts"
PREPARE_TASK_NAME = "saleor-sms-plugin: prepare offer checkouts"
PREPARE_EVERY_SECONDS = 15
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
    (RECOVERY_TASK_NAME, RECOVERY_TASK, RECOVERY_EVERY_SECONDS),
    (HOUSEKEEPING_TASK_NAME, HOUSEKEEPING_TASK, HOUSEKEEPING_EVERY_SECONDS),
)


def register_periodic_tasks(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Create (or repair) the periodic tasks: sending due messages, preparing offer
    checkouts, housekeeping."""
    if not apps.is_installed("django_celery_beat"):
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, task, seconds in SCHEDULE:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.using(using).update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )
