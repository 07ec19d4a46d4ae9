"""What an order costs the request that places it, with the broker up, down and unanswering.

    .venv/bin/python bench/bench_order_request.py [--orders 200] [--publishes 200]

1. Placing orders, each in its own transaction as Saleor reports them, after-commit publishing
   included: directly (`handlers.on_order_placed`: the scheduling rules and rows in the request,
   the text due now handed to a worker) and through the event inbox
   (`handlers.record_order_placed`: one INSERT, the event handed to a worker), with the broker up
   and then down. Then the worker's side: handling the recorded events (`event_inbox.process_due`).
2. One publish alone, broker down: Celery's defaults (`task.delay`, what the core did before:
   three retries) against `task_queue.enqueue` (no retry, short timeouts), with and without the
   pause that follows a failure.
3. One publish alone, to a broker that takes no connection (a host dropping packets): Celery's
   defaults (given up on after 10 s) against `task_queue.enqueue`.

The broker is a Redis server of the benchmark's own on a free port, stopped in between; the
database is its own, `saleor_sms_bench_request` (dropped and created again). Nothing is sent:
no worker runs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_common import print_rows, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "saleor_sms_bench_request"
CHANNEL = "bench"
DEFAULT_PUBLISH_GIVE_UP = 10.0  # seconds before Celery's default publish is called hung
_numbers = itertools.count(1)


def main() -> int:
    args = parse_args()
    port = free_port()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "saleor_sms_plugin.standalone_settings",
            "SMS_DATABASE_NAME": DATABASE,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "PYTHONPATH": str(ROOT),
        }
    )
    recreate_database(DATABASE)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # Read once into the settings; left in the environment, Celery would prefer it to any
    # broker a client app is given (the unanswering broker of phase 3).
    del os.environ["CELERY_BROKER_URL"]
    # The plugin's tasks publish through this app (through Saleor's, inside Saleor).
    from saleor_sms_plugin.standalone_celery import app

    assert app.conf.broker_url == f"redis://127.0.0.1:{port}/0"
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    configure_channel()
    figures: dict[str, Any] = {"args": vars(args), "cpus": os.cpu_count()}
    with private_redis(port) as redis:
        place_orders(2, "direct")  # first-use costs (imports, connections) out of the way
        place_orders(2, "inbox")
        figures["up"] = progress("up", bench_orders(args.orders))
        redis.kill()
        redis.wait()
        figures["down"] = progress("down", bench_orders(args.orders))
        figures["publish_down"] = progress("publish_down", bench_publish_down(args.publishes))
    figures["worker"] = progress("worker", bench_inbox_worker())
    figures["publish_unanswered"] = progress("publish_unanswered", bench_publish_unanswered())
    report(figures)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per path and state")
    parser.add_argument("--publishes", type=int, default=200)
    return parser.parse_args()


def progress(phase: str, result: dict[str, Any]) -> dict[str, Any]:
    print(f"{phase}: {json.dumps(result, default=str)}", flush=True)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = ["redis-cli", "-p", str(port), "ping"]
            if subprocess.run(ping, capture_output=True, text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def configure_channel() -> None:
    from saleor_sms_plugin import conf
    from saleor_sms_plugin.constants import Flow
    from saleor_sms_plugin.models import ChannelConfiguration

    ChannelConfiguration.objects.create(
        channel_slug=CHANNEL,
        shop_name="Bench Outfitters",
        default_country="PL",
        currency="PLN",
        values={
            conf.ACCOUNT_SID: "AC" + "be" * 16,
            conf.AUTH_TOKEN: "bench" * 6 + "00",
            conf.SENDER: "+14155550100",
            conf.flow_switch(Flow.ORDER_CONFIRMATION): True,
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
        },
    )


def order() -> Any:
    from django.utils import timezone

    from saleor_sms_plugin.events import AddressSnapshot, OrderLineSnapshot, OrderSnapshot

    number = next(_numbers)
    address = AddressSnapshot(
        first_name="Zofia", phone=f"+48600{number:06d}", country="PL", city="Kraków"
    )
    return OrderSnapshot(
        id=str(uuid.uuid4()),
        number=str(number),
        channel_slug=CHANNEL,
        email=f"shopper{number}@example.com",
        total=Decimal("249.00"),
        currency="PLN",
        created_at=timezone.now(),
        language_code="pl",
        billing_address=address,
        shipping_address=address,
        lines=(
            OrderLineSnapshot(
                variant_id="UHJvZHVjdFZhcmlhbnQ6MQ==", product_name="Tee", quantity=1
            ),
        ),
        metadata={"sms_marketing_consent": "true"},
    )


def place_orders(count: int, path: str) -> dict[str, Any]:
    """Place `count` orders one transaction each: the hook's own time, then the commit with
    the after-commit publish; SQL statements per order (BEGIN and COMMIT not counted)."""
    from django.db import connection, transaction

    from saleor_sms_plugin import handlers

    place: Callable[[Any], object] = (
        handlers.on_order_placed if path == "direct" else handlers.record_order_placed
    )
    orders = [order() for _ in range(count)]
    statements = 0

    def count_statement(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(*args)

    hooks, commits = [], []
    with connection.execute_wrapper(count_statement):
        for placed in orders:
            with transaction.atomic():
                started = time.perf_counter()
                place(placed)
                hooked = time.perf_counter()
            committed = time.perf_counter()
            hooks.append(hooked - started)
            commits.append(committed - hooked)
    totals = sorted(hook + commit for hook, commit in zip(hooks, commits, strict=True))
    return {
        "orders": count,
        "hook_ms": 1000 * sum(hooks) / count,
        "commit_and_publish_ms": 1000 * sum(commits) / count,
        "ms_per_order": 1000 * sum(totals) / count,
        "p99_ms": 1000 * totals[int(0.99 * (count - 1))],
        "statements_per_order": statements / count,
    }


def bench_orders(count: int) -> dict[str, Any]:
    return {"direct": place_orders(count, "direct"), "inbox": place_orders(count, "inbox")}


def publishing_paused_after_failure(paused: bool) -> None:
    from django.conf import settings

    from saleor_sms_plugin import task_queue

    settings.SALEOR_SMS_PUBLISH_PAUSE = 5 if paused else 0
    task_queue.resume()


def time_publishes(count: int, publish: Callable[[int], object]) -> dict[str, Any]:
    started = time.perf_counter()
    for number in range(count):
        publish(number)
    seconds = time.perf_counter() - started
    return {"publishes": count, "ms_per_publish": 1000 * seconds / count}


def celery_default_publish(message_id: int) -> None:
    """What the core did before: Celery's defaults, the error caught."""
    from kombu.exceptions import OperationalError

    from saleor_sms_plugin.tasks import send_message_task

    with contextlib.suppress(OperationalError):
        send_message_task.delay(message_id)


def enqueue(message_id: int) -> None:
    from saleor_sms_plugin import task_queue
    from saleor_sms_plugin.tasks import send_message_task

    task_queue.enqueue(send_message_task, message_id)


def bench_publish_down(count: int) -> dict[str, Any]:
    import logging

    logging.getLogger("saleor_sms_plugin.task_queue").setLevel(logging.ERROR)  # one line each
    figures = {"celery_defaults": time_publishes(max(count // 20, 3), celery_default_publish)}
    publishing_paused_after_failure(False)
    figures["enqueue_no_pause"] = time_publishes(count, enqueue)
    publishing_paused_after_failure(True)
    figures["enqueue"] = time_publishes(count, enqueue)
    return figures


def bench_inbox_worker() -> dict[str, Any]:
    """The worker's side: handling every event recorded above, as the periodic sweep does."""
    from saleor_sms_plugin import event_inbox

    started = time.perf_counter()
    report = event_inbox.process_due()
    seconds = time.perf_counter() - started
    return {
        "handled": report.processed,
        "ms_per_event": 1000 * seconds / max(report.processed, 1),
        "outcomes": dict(report.counts),
    }


@contextmanager
def unanswering_broker() -> Iterator[str]:
    """The app publishes to an address whose connections never complete: a listening socket
    that accepts nothing, its backlog taken (as a host that drops packets)."""
    from saleor_sms_plugin.standalone_celery import app

    with socket.socket() as listener, socket.socket() as first:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        first.connect(listener.getsockname())
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        before = app.conf.broker_write_url
        app.conf.broker_write_url = url  # where the app publishes
        try:
            yield url
        finally:
            app.conf.broker_write_url = before


def celery_default_publish_to(url: str) -> None:
    """Celery's defaults on a client app of its own (the bench's app holds its own pool)."""
    from celery import Celery
    from kombu.exceptions import OperationalError

    with (
        Celery(broker=url, set_as_current=False) as client,
        contextlib.suppress(OperationalError),
    ):
        client.send_task("saleor_sms_plugin.send_message", args=(1,))


def bench_publish_unanswered() -> dict[str, Any]:
    from saleor_sms_plugin.settings import get_setting

    figures: dict[str, Any] = {"timeout_s": get_setting("SALEOR_SMS_PUBLISH_TIMEOUT")}
    with unanswering_broker() as url:
        publishing_paused_after_failure(False)
        figures["enqueue_no_pause"] = time_publishes(5, enqueue)
        publishing_paused_after_failure(True)
        figures["enqueue"] = time_publishes(100, enqueue)
        # In a thread that is left behind if it does not return.
        started = time.perf_counter()
        publisher = threading.Thread(target=celery_default_publish_to, args=(url,), daemon=True)
        publisher.start()
        publisher.join(DEFAULT_PUBLISH_GIVE_UP)
        figures["celery_defaults"] = {
            "returned": not publisher.is_alive(),
            "ms_per_publish": 1000 * (time.perf_counter() - started),
        }
    return figures


def report(figures: dict[str, Any]) -> None:
    up, down = figures["up"], figures["down"]
    publish, hung, worker = (
        figures["publish_down"],
        figures["publish_unanswered"],
        figures["worker"],
    )

    def order_line(state: dict[str, Any], path: str) -> str:
        f = state[path]
        return (
            f"{f['ms_per_order']:.2f} ms per order (p99 {f['p99_ms']:.2f}): hook "
            f"{f['hook_ms']:.2f}, commit and publish {f['commit_and_publish_ms']:.2f}; "
            f"{f['statements_per_order']:.0f} statements"
        )

    celery_hung = hung["celery_defaults"]
    defaults_down = publish["celery_defaults"]["ms_per_publish"]
    rows = [
        ("CPUs", f"{figures['cpus']}"),
        ("Broker up: direct (scheduling in the request)", order_line(up, "direct")),
        ("Broker up: event inbox (one INSERT)", order_line(up, "inbox")),
        (
            "  ratio (direct / inbox)",
            f"whole {up['direct']['ms_per_order'] / up['inbox']['ms_per_order']:.1f}x, "
            f"hook {up['direct']['hook_ms'] / up['inbox']['hook_ms']:.1f}x",
        ),
        ("Broker down: direct", order_line(down, "direct")),
        ("Broker down: event inbox", order_line(down, "inbox")),
        (
            "  down / up",
            f"direct {down['direct']['ms_per_order'] / up['direct']['ms_per_order']:.2f}, "
            f"inbox {down['inbox']['ms_per_order'] / up['inbox']['ms_per_order']:.2f}",
        ),
        (
            "Worker: handling a recorded order",
            f"{worker['ms_per_event']:.2f} ms per event ({worker['handled']} events)",
        ),
        (
            "Publish, broker down: Celery's defaults",
            f"{publish['celery_defaults']['ms_per_publish']:.1f} ms",
        ),
        (
            "  task_queue.enqueue, no pause",
            f"{publish['enqueue_no_pause']['ms_per_publish']:.3f} ms",
        ),
        ("  task_queue.enqueue, paused", f"{publish['enqueue']['ms_per_publish']:.4f} ms"),
        (
            "  ratio (defaults / no pause)",
            f"{defaults_down / publish['enqueue_no_pause']['ms_per_publish']:.0f}x",
        ),
        (
            "Publish, broker unanswering: Celery's defaults",
            f"{celery_hung['ms_per_publish']:.0f} ms"
            + ("" if celery_hung["returned"] else " and still waiting (given up on)"),
        ),
        (
            f"  task_queue.enqueue, no pause (timeout {hung['timeout_s']} s)",
            f"{hung['enqueue_no_pause']['ms_per_publish']:.1f} ms",
        ),
        (
            "  task_queue.enqueue, paused (100 publishes)",
            f"{hung['enqueue']['ms_per_publish']:.2f} ms on average",
        ),
    ]
    print_rows(rows)


if __name__ == "__main__":
    sys.exit(main())
