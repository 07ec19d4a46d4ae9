"""The plugin in Saleor as a store runs it: Saleor's own Celery worker and beat as processes.

Saleor's test settings run Celery eagerly, which would hide whether any periodic or deferred
work ever runs. Here the test's requests publish to a real Redis broker; `celery -A
saleor.celeryconf:app worker` and `celery --app saleor.celeryconf:app beat --scheduler
saleor.schedulers.schedulers.DatabaseScheduler` run with Saleor's own settings on the test
database; texts go through the Twilio SDK to the Twilio-compatible server on loopback, and its
delivery reports come back over HTTP to Saleor's plugin route.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.utils import timezone
from saleor.checkout.models import Checkout
from saleor.schedulers.models import CustomPeriodicTask

from saleor_sms_plugin import conf, periodic
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.models import CheckoutPreparation, Message, OfferLink, PeriodicTaskRun

from ..conftest import ROOT, stop_process, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def saleor_environment(twilio_server: Any, broker: str) -> dict[str, str]:
    """Saleor's production settings on the test database, as a store's processes have them."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saleor.settings",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "SECRET_KEY": "saleor-sms-plugin-tests",
        "CELERY_BROKER_URL": broker,
        "SALEOR_SMS_TWILIO_API_URL": twilio_server.base_url,
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def broker() -> Iterator[str]:
    """A Redis database of its own for Saleor's broker; the test's requests publish to it."""
    from saleor.celeryconf import app

    url = f"redis://127.0.0.1:6379/{os.environ.get('SMS_SALEOR_TEST_REDIS_DB', '8')}"
    eager, previous = app.conf.task_always_eager, app.conf.broker_url
    # The app reads Django's settings under the CELERY_ namespace, so it takes these names.
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.CELERY_BROKER_URL = url
    redis.Redis.from_url(url).flushdb()
    with app.connection_for_write() as publisher:
        assert publisher.as_uri().startswith("redis://"), publisher.as_uri()
    yield url
    app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_BROKER_URL = eager, previous


@pytest.fixture
def saleor_worker_and_beat(twilio: Any, broker: str) -> Iterator[dict[str, subprocess.Popen]]:
    """Saleor's worker and beat, started the way Saleor documents."""
    env = saleor_environment(twilio, broker)
    celery = (sys.executable, "-m", "celery")
    processes = {
        "worker": subprocess.Popen(
            [*celery, "--app", "saleor.celeryconf:app", "worker", "--loglevel=WARNING"],
            env=env,
            cwd=ROOT,
        ),
        "beat": subprocess.Popen(
            [
                *celery,
                *("--app", "saleor.celeryconf:app", "beat", "--loglevel=WARNING"),
                *("--scheduler", "saleor.schedulers.schedulers.DatabaseScheduler"),
            ],
            env=env,
            cwd=ROOT,
        ),
    }
    yield processes
    for process in processes.values():
        stop_process(process)


def test_delayed_texts_and_every_periodic_task_run_under_saleors_worker_and_beat(
    place_order,
    configure_sms,
    channel_USD,
    voucher_percentage,
    variant_id,
    live_server,
    twilio,
    saleor_worker_and_beat,
):
    configure_sms(
        channel_USD,
        public_base_url=live_server.url,
        retention_days="30",
        # Texts may go out at any hour, so the test does not depend on the time of day.
        send_window_start="00:00",
        send_window_end="00:00",
        **{
            conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
            conf.OFFER_DELAYS_MINUTES: "1",
            conf.CHECKOUT_URL_TEMPLATE: "https://shop.example.com/checkout?checkout={checkout_id}",
            conf.OFFERS: json.dumps(
                [
                    {
                        "id": "thanks10",
                        "flow": "post_purchase_offer",
                        "step": 1,
                        "kind": "products",
                        "discount_type": "percentage",
                        "discount_value": 10,
                        "voucher_code": voucher_percentage.codes.first().code,
                        "products": [variant_id],
                    }
                ]
            ),
        },
    )
    old_text = Message.objects.create(
        channel_slug=channel_USD.slug,
        flow=Flow.ORDER_CONFIRMATION,
        dedupe_key="deployment-test:old",
        status=Status.DELIVERED,
        due_at=timezone.now() - timedelta(days=90),
        body="An old text past the channel's retention",
    )
    Message.objects.filter(pk=old_text.pk).update(created_at=timezone.now() - timedelta(days=90))

    order = place_order(metadata={"sms_marketing_consent": "true"})

    # Saleor's beat registered every periodic task of the plugin in its own table (Saleor
    # takes a while to start on a busy machine).
    wait_until(
        lambda: running(saleor_worker_and_beat)
        and set(
            CustomPeriodicTask.objects.filter(name__in=periodic.TASK_NAMES).values_list(
                "task", flat=True
            )
        )
        == {task for _, task, _ in periodic.SCHEDULE},
        timeout=240,
        interval=0.5,
    )
    # The confirmation went at once through the worker; the offer, due a minute after the
    # order, through the periodic dispatcher that Saleor's beat runs.
    # (The worker reads the order and schedules its texts once the order has committed.)
    confirmation = wait_until(
        lambda: Message.objects.filter(
            order_id=str(order.id), flow=Flow.ORDER_CONFIRMATION
        ).first(),
        timeout=120,
    )
    offer = Message.objects.get(order_id=str(order.id), flow=Flow.POST_PURCHASE_OFFER, step=1)
    try:
        wait_until(lambda: len(twilio.messages) >= 2, timeout=300, interval=0.5)
    finally:
        print(  # what the texts were doing, should the wait fail
            list(Message.objects.values("flow", "step", "status", "reason", "due_at")),
            [accepted.form["Body"] for accepted in twilio.messages],
        )
    first, second = twilio.messages[:2]
    assert str(order.number) in first.form["Body"]
    assert "/l/" in second.form["Body"]
    for message in (confirmation, offer):
        delivered = wait_until(
            lambda message=message: Message.objects.filter(
                pk=message.pk, status=Status.DELIVERED
            ).first(),
            timeout=30,
        )
        assert delivered.provider_id in {first.sid, second.sid}
    # Saleor's beat runs the preparer: the offer's checkout is a real Saleor checkout.
    link = wait_until(
        lambda: OfferLink.objects.filter(
            message=offer, prepare_state=CheckoutPreparation.PREPARED
        ).first(),
        timeout=60,
    )
    checkout = Checkout.objects.get(token=link.checkout_token)
    assert checkout.voucher_code == voucher_percentage.codes.first().code
    assert [line.variant_id for line in checkout.lines.all()] == [int(variant_pk(variant_id))]
    # Housekeeping runs hourly: as time would, move the last run of every task back by its
    # interval; Saleor's scheduler sees the change and runs them.
    for task in CustomPeriodicTask.objects.filter(name__in=periodic.TASK_NAMES):
        task.last_run_at = timezone.now() - timedelta(seconds=task.interval.every + 1)
        task.save()
    wait_until(lambda: Message.objects.get(pk=old_text.pk).body == "", timeout=60)
    # Every periodic task of the plugin finished in Saleor's worker, as its run record shows.
    every_task = {task for _, task, _ in periodic.SCHEDULE}
    wait_until(
        lambda: set(PeriodicTaskRun.objects.filter(runs__gte=1).values_list("task", flat=True))
        >= every_task,
        timeout=60,
    )
    # Nothing went out twice.
    assert len(twilio.messages) == 2
    assert Message.objects.filter(order_id=str(order.id)).exclude(provider_id=None).count() == 2


def running(processes: dict[str, subprocess.Popen]) -> bool:
    for name, process in processes.items():
        if process.poll() is not None:
            pytest.fail(f"Saleor's {name} exited with {process.returncode}")
    return True


def variant_pk(global_id: str) -> str:
    import graphene

    return graphene.Node.from_global_id(global_id)[1]
