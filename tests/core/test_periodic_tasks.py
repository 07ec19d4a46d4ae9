"""The periodic tasks run under a real Celery beat and worker, not called by the test.

Beat registers the plugin's beat schedule in its scheduler's table when it starts. A task then
runs once its interval has passed since its last run; the test moves each task's last run an
interval back, as time would, so that beat sends it at once.
"""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from saleor_sms_plugin import handlers, periodic
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.models import CheckoutPreparation, Message, OfferLink, PeriodicTaskRun

from ..conftest import wait_until

TAKEN_UP = (CheckoutPreparation.PREPARED, CheckoutPreparation.FAILED, CheckoutPreparation.SKIPPED)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_the_standalone_app_schedules_every_periodic_task():
    from saleor_sms_plugin.standalone_celery import app

    schedule = app.conf.beat_schedule
    for name, task, seconds in periodic.SCHEDULE:
        assert schedule[name]["task"] == task
        assert schedule[name]["schedule"] == timedelta(seconds=seconds)


def test_beat_registers_and_runs_every_periodic_task(
    offers_channel, order_factory, message_factory, twilio, celery_beat_process
):
    # Texts may arrive at any hour, so that the test does not depend on the time of day.
    offers_channel(
        "channel-pln", retention_days="30", send_window_start="00:00", send_window_end="00:00"
    )
    order = order_factory(
        channel_slug="channel-pln",
        country="PL",
        language_code="pl",
        currency="PLN",
        metadata={"sms_marketing_consent": "true"},
    )
    handlers.on_order_placed(order)
    # The product offer's delay has passed: only the periodic dispatcher sends it.
    offer = Message.objects.get(order_id=order.id, flow=Flow.POST_PURCHASE_OFFER, step=3)
    Message.objects.filter(pk=offer.pk).update(due_at=timezone.now())
    old_text = message_factory(channel_slug="channel-pln", at=timezone.now() - timedelta(days=90))
    Message.objects.filter(pk=old_text.pk).update(created_at=timezone.now() - timedelta(days=90))

    registered = wait_until(
        lambda: set(
            PeriodicTask.objects.filter(name__in=periodic.TASK_NAMES).values_list("task", flat=True)
        )
        == {task for _, task, _ in periodic.SCHEDULE},
        timeout=30,
    )
    assert registered
    for task in PeriodicTask.objects.filter(name__in=periodic.TASK_NAMES):
        task.last_run_at = timezone.now() - timedelta(seconds=task.interval.every + 1)
        task.save()  # beat notices the change and reloads its schedule

    sent = wait_until(
        lambda: Message.objects.filter(pk=offer.pk, status__in=[Status.SENT, Status.DELIVERED])
        .exclude(provider_id=None)
        .first(),
        timeout=30,
    )
    assert sent.provider_id in {accepted.sid for accepted in twilio.messages}
    # Sending the offer left its checkout to prepare: the preparer took it up (this worker's
    # in-memory store has no products, so it may well fail: only that it ran matters here).
    assert wait_until(
        lambda: OfferLink.objects.filter(message=offer)
        .filter(Q(prepare_state__in=TAKEN_UP) | Q(prepare_attempts__gte=1))
        .exists(),
        timeout=30,
    )
    # Housekeeping emptied the text past the channel's retention.
    assert wait_until(lambda: Message.objects.get(pk=old_text.pk).body == "", timeout=30)
    # Every periodic task has finished in the worker, as its run record shows.
    assert wait_until(lambda: every_task_ran(), timeout=30)


def every_task_ran() -> bool:
    ran = set(PeriodicTaskRun.objects.filter(runs__gte=1).values_list("task", flat=True))
    return ran >= {task for _, task, _ in periodic.SCHEDULE}
