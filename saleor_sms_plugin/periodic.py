"""The dispatcher's schedule, registered with django-celery-beat when the app migrates."""

from __future__ import annotations

from typing import Any

from django.apps import apps

DISPATCH_TASK = "saleor_sms_plugin.dispatch_due_messages"
DISPATCH_TASK_NAME = "saleor-sms-plugin: send due messages"
DISPATCH_EVERY_SECONDS = 30
HOUSEKEEPING_TASK = "saleor_sms_plugin.housekeeping"
HOUSEKEEPING_TASK_NAME = "saleor-sms-plugin: forward replies, purge old texts"
HOUSEKEEPING_EVERY_SECONDS = 3600


def register_periodic_tasks(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Create (or repair) the periodic task that sends due messages."""
    if not apps.is_installed("django_celery_beat"):
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=DISPATCH_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.using(using).update_or_create(
        name=DISPATCH_TASK_NAME,
        defaults={"task": DISPATCH_TASK, "interval": schedule, "enabled": True},
    )
    hourly, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=HOUSEKEEPING_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.using(using).update_or_create(
        name=HOUSEKEEPING_TASK_NAME,
        defaults={"task": HOUSEKEEPING_TASK, "interval": hourly, "enabled": True},
    )
