"""A request never waits on the broker; texts of orders placed while it is away still go out once.

Orders are placed as Saleor reports them, in the order's transaction: directly
(`handlers.on_order_placed`, which hands texts due now to a worker after commit) and through the
event inbox (`handlers.record_order_placed`, which hands the event to a worker after commit).
The broker is a Redis server of the test's own, stopped and started again.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction

from saleor_sms_plugin import handlers, task_queue
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.events import OrderSnapshot
from saleor_sms_plugin.models import InboxEvent, Message

from ..conftest import wait_until

PAUSE_OFF = 0  # every order tries the broker, as the first one after a pause does


def place(orders: list[OrderSnapshot], capture: Callable[..., Any]) -> float:
    """Place the orders one transaction each, every other one through the inbox; returns the
    seconds it took, after-commit publishing included."""
    started = time.perf_counter()
    for order in orders:
        with capture(execute=True), transaction.atomic():
            if int(order.number) % 2:
                handlers.record_order_placed(order)
            else:
                handlers.on_order_placed(order)
    return time.perf_counter() - started


def orders(order_factory: Callable[..., OrderSnapshot], count: int, start: int) -> list[Any]:
    numbers = range(start, start + count)
    return [order_factory(country="PL", phone=f"+4860030{n:04d}") for n in numbers]


@pytest.mark.django_db
def test_orders_placed_while_the_broker_is_down_cost_about_what_they_cost_while_it_is_up(
    channel, order_factory, private_redis, publish_to, settings, django_capture_on_commit_callbacks
):
    settings.SALEOR_SMS_PUBLISH_PAUSE = PAUSE_OFF
    publish_to(private_redis.url)
    place(orders(order_factory, 2, 0), django_capture_on_commit_callbacks)  # connections made
    up = place(orders(order_factory, 20, 100), django_capture_on_commit_callbacks)
    private_redis.stop()

    down = place(orders(order_factory, 20, 200), django_capture_on_commit_callbacks)

    # Celery's own publish retries cost about 0.6 s an order here (12 s for these 20).
    assert down < up + 1.0, f"20 orders took {down:.2f} s with the broker down, {up:.2f} s up"
    # Half the 42 orders were placed directly, half recorded in the inbox (no worker runs).
    assert Message.objects.filter(flow=Flow.ORDER_CONFIRMATION).count() == 21
    assert InboxEvent.objects.filter(processed_at__isnull=True).count() == 21


@contextmanager
def unanswering_broker() -> Iterator[str]:
    """A broker address whose connections never complete, as a host that drops packets: a
    listening socket that accepts nothing, its one-connection backlog already taken."""
    with socket.socket() as listener, socket.socket() as first:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        first.connect(("127.0.0.1", port))
        yield f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db
def test_a_broker_that_never_answers_costs_one_order_the_publish_timeout_and_the_next_nothing(
    channel, order_factory, publish_to, settings, django_capture_on_commit_callbacks
):
    settings.SALEOR_SMS_PUBLISH_TIMEOUT = 0.2
    with unanswering_broker() as broker:
        publish_to(broker)
        seconds = [
            place([order], django_capture_on_commit_callbacks)
            for order in orders(order_factory, 10, 0)
        ]

    assert 0.2 <= seconds[0] < 2.0, seconds  # waited for the broker, as long as allowed
    assert sum(seconds[1:]) < 1.0, seconds  # publishing paused: nobody else waits
    assert Message.objects.filter(flow=Flow.ORDER_CONFIRMATION).count() == 5
    assert InboxEvent.objects.count() == 5


def test_a_publish_is_given_up_and_logged_never_raised(refusing_broker, caplog):
    from saleor_sms_plugin.tasks import send_message_task

    assert task_queue.enqueue(send_message_task, 42) is False

    assert "The broker did not take saleor_sms_plugin.send_message(42,)" in caplog.text
    assert "Connection refused" in caplog.text


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_every_text_of_orders_placed_while_the_broker_was_down_is_sent_once_it_is_back(
    channel,
    order_factory,
    twilio,
    private_redis,
    celery_worker_factory,
    django_capture_on_commit_callbacks,
):
    from saleor_sms_plugin.tasks import dispatch_due_messages_task, process_recorded_events_task

    celery_worker_factory(private_redis.url)
    before = orders(order_factory, 10, 0)
    place(before, django_capture_on_commit_callbacks)
    wait_until(lambda: len(twilio.messages) == 10, timeout=30)  # at once, no periodic task
    private_redis.stop()

    during = orders(order_factory, 10, 100)
    place(during, django_capture_on_commit_callbacks)
    assert InboxEvent.objects.filter(processed_at__isnull=True).count() == 5
    private_redis.start()
    task_queue.resume()  # else this process would not publish for a few seconds

    # The periodic tasks, as django-celery-beat sends them (every 15 s and 30 s in production).
    def all_sent() -> bool:
        if Message.objects.filter(status=Status.SENT).count() == 20:
            return True
        task_queue.enqueue(process_recorded_events_task)
        task_queue.enqueue(dispatch_due_messages_task)
        time.sleep(1)
        return False

    wait_until(all_sent, timeout=120, interval=0.5)
    task_queue.enqueue(process_recorded_events_task)  # one more round finds nothing more
    task_queue.enqueue(dispatch_due_messages_task)
    time.sleep(2)

    phones = sorted(order.billing_address.phone for order in before + during)
    assert sorted(message.to for message in twilio.messages) == phones
    assert not InboxEvent.objects.filter(processed_at__isnull=True).exists()
