"""Exactly once on the real PostgreSQL, Redis and Celery, whatever runs twice or dies.

Every test ends with the same check: the Twilio-compatible server accepted each text exactly
once, and each message row is `sent` with the id the server gave it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from saleor_sms_plugin import dispatch, handlers
from saleor_sms_plugin.checks import check_sending_settings
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.events import FulfillmentSnapshot
from saleor_sms_plugin.models import Message
from saleor_sms_plugin.settings import get_setting

from ..conftest import ROOT, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DISPATCHER = """
import django, time
django.setup()
from saleor_sms_plugin import dispatch
idle = None
while True:
    if dispatch.dispatch_due(batch_size=7).claimed:
        idle = None
    elif idle is None:
        idle = time.monotonic()
    elif time.monotonic() - idle > 1.0:
        break
"""

# A worker running both periodic tasks back to back (recovery, then dispatch), until every text
# is settled or the seconds given run out.
DISPATCHER_WITH_RECOVERY = """
import django, sys, time
django.setup()
from saleor_sms_plugin import dispatch
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.models import Message
deadline = time.monotonic() + float(sys.argv[1])
unsettled = Message.objects.filter(status__in=[Status.SCHEDULED, Status.SENDING])
while unsettled.exists() and time.monotonic() < deadline:
    dispatch.recover_stale()
    if not dispatch.dispatch_due().claimed:
        time.sleep(0.2)
"""


def place_orders(order_factory, count, *, start=0, created_at=None):
    orders = [
        order_factory(country="PL", phone=f"+4860020{n:04d}", created_at=created_at)
        for n in range(start, start + count)
    ]
    for order in orders:
        handlers.on_order_placed(order)
    return orders


def assert_each_text_sent_exactly_once(twilio, orders):
    phones = sorted(order.billing_address.phone for order in orders)
    accepted = twilio.messages
    assert sorted(message.to for message in accepted) == phones
    rows = Message.objects.filter(order_id__in=[order.id for order in orders])
    assert {row.status for row in rows} == {Status.SENT}
    assert sorted(row.provider_id for row in rows) == sorted(m.sid for m in accepted)


def process_environment(settings, **extra):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "SMS_DATABASE_NAME": connection.settings_dict["NAME"],
        "SALEOR_SMS_BACKEND": settings.SALEOR_SMS_BACKEND,
        "SALEOR_SMS_TWILIO_API_URL": settings.SALEOR_SMS_TWILIO_API_URL,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def test_two_dispatcher_processes_send_each_message_exactly_once(
    channel, order_factory, twilio, settings
):
    orders = place_orders(order_factory, 120, created_at=timezone.now() + timedelta(seconds=1))
    twilio.latency = 0.02
    time.sleep(1)

    dispatchers = [
        subprocess.Popen(
            [sys.executable, "-c", DISPATCHER], cwd=ROOT, env=process_environment(settings)
        )
        for _ in range(2)
    ]
    assert [process.wait(timeout=120) for process in dispatchers] == [0, 0]

    assert_each_text_sent_exactly_once(twilio, orders)


def test_a_batch_slower_than_the_lease_is_not_sent_again_by_a_second_dispatcher(
    channel, order_factory, twilio, settings
):
    # The provider takes a second to accept a text (reading texts back is quick), 4 texts in
    # flight: the first dispatcher's batch of 60 takes 15 s, well past the 8 s lease. The
    # second, started 3 s later, runs recovery over and over while the batch is going out.
    lease, timeout = "8", "2"
    settings.SALEOR_SMS_SENDING_LEASE, settings.SALEOR_SMS_TWILIO_TIMEOUT = lease, timeout
    assert check_sending_settings() == []  # settings a deployment may run with
    orders = place_orders(order_factory, 60, created_at=timezone.now() + timedelta(seconds=1))
    twilio.create_latency = 1.0
    time.sleep(1)
    environment = process_environment(
        settings,
        SALEOR_SMS_CONCURRENCY="4",
        SALEOR_SMS_SENDING_LEASE=lease,
        SALEOR_SMS_TWILIO_TIMEOUT=timeout,
    )

    def start_dispatcher() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", DISPATCHER_WITH_RECOVERY, "90"], cwd=ROOT, env=environment
        )

    dispatchers = [start_dispatcher()]
    time.sleep(3)
    dispatchers.append(start_dispatcher())
    assert [process.wait(timeout=120) for process in dispatchers] == [0, 0]

    assert len(twilio.messages) == 60
    assert_each_text_sent_exactly_once(twilio, orders)
    # The batch kept its texts: recovery never had to ask the provider about one.
    assert twilio.requests_count == 60


def test_the_same_hooks_delivered_at_once_schedule_each_text_once(configure_channel, order_factory):
    configure_channel(
        **{
            "flow_post_purchase_offer_enabled": True,
            "flow_review_request_enabled": True,
        }
    )
    order = order_factory(country="PL", metadata={"sms_marketing_consent": "true"})
    fulfillment = FulfillmentSnapshot(id="f1", order=order, tracking_number="1Z")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def deliver_hooks() -> None:
        try:
            start.wait()
            handlers.on_order_placed(order)
            handlers.on_fulfillment_created(fulfillment)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_hooks) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    flows = sorted(Message.objects.values_list("flow", flat=True))
    assert flows == sorted(
        [
            Flow.ORDER_CONFIRMATION,
            Flow.OPT_IN_CONFIRMATION,
            Flow.POST_PURCHASE_OFFER,
            Flow.POST_PURCHASE_OFFER,
            Flow.POST_PURCHASE_OFFER,
            Flow.SHIPPING_CONFIRMATION,
            Flow.REVIEW_REQUEST,
        ]
    )


@pytest.mark.worker
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    channel, order_factory, twilio, celery_worker_factory, monkeypatch
):
    from saleor_sms_plugin.tasks import dispatch_due_messages_task

    # 30 texts in one batch, sent 10 at a time, each held a second by the provider.
    monkeypatch.setenv("SALEOR_SMS_CONCURRENCY", "10")
    twilio.latency = 1.0
    worker = celery_worker_factory()
    # Due in a few seconds: the per-order tasks reach the worker first and find nothing due,
    # even on a busy machine, so the whole batch goes through the dispatcher below.
    orders = place_orders(order_factory, 30, created_at=timezone.now() + timedelta(seconds=5))
    time.sleep(5)

    dispatch_due_messages_task.delay(batch_size=100)
    wait_until(lambda: twilio.requests_count >= 20, timeout=30)  # the second round is out
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()

    # The provider accepts what was in flight; the rows stay `sending` with their bodies.
    time.sleep(1.5)
    assert len(twilio.messages) == 20
    assert Message.objects.filter(status=Status.SENDING).count() == 30
    twilio.latency = 0.0

    lease_over = timezone.now() + get_setting("SALEOR_SMS_SENDING_LEASE") + timedelta(seconds=1)
    assert dispatch.recover_stale(now=lease_over) == 30
    assert Message.objects.filter(status=Status.SENT).count() == 20
    celery_worker_factory()
    dispatch_due_messages_task.delay()
    wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 30, timeout=30)

    assert_each_text_sent_exactly_once(twilio, orders)


def _enqueue_dispatch() -> bool:
    from saleor_sms_plugin.tasks import dispatch_due_messages_task

    try:
        dispatch_due_messages_task.apply_async(retry=False)
    except OperationalError:
        return False
    return True


@pytest.mark.worker
def test_a_redis_restart_loses_nothing(
    channel, order_factory, twilio, celery_worker_factory, private_redis
):
    celery_worker_factory(private_redis.url)
    twilio.latency = 0.2

    first = place_orders(order_factory, 20)  # each enqueued once its order commits
    wait_until(lambda: len(twilio.messages) >= 3, timeout=30)
    private_redis.stop()  # the queued tasks go with it
    # Orders keep coming while the broker is down: their tasks cannot even be enqueued.
    second = place_orders(order_factory, 10, start=20)
    private_redis.start()

    # The periodic dispatcher, as django-celery-beat would run it every 30 s.
    def all_sent() -> bool:
        if Message.objects.filter(status=Status.SENT).count() == 30:
            return True
        _enqueue_dispatch()
        time.sleep(1)
        return False

    wait_until(all_sent, timeout=120, interval=0.5)
    assert_each_text_sent_exactly_once(twilio, first + second)
