"""Scheduling and dispatch benchmark: win-back for 1,000,000 past customers, 100,000 texts sent.

    .venv/bin/python bench/bench_dispatch.py [--customers 1000000] [--dispatch 100000]
        [--workers 1] [--loops 3] [--batch-size 500] [--concurrency 64] [--latency 0.1]
        [--naive 500]

1. Scheduling: `past_customers.start_win_back` for `--customers` customers (COPY into a temporary
   table, INSERT ... SELECT), `--dispatch` of them due now; compared with scheduling row by row
   through the ORM (`scheduling.insert_new`, one INSERT per text) on a sample.
2. Dispatch: `--workers` processes each run `dispatch.dispatch_all` (what the periodic task runs:
   `--loops` batch loops side by side, `--concurrency` sends in flight per batch) against the
   bundled Twilio-compatible server answering after `--latency` seconds. Reported: texts per
   second per process, SQL statements per batch, memory. The server runs in this script's
   process: on a 2-core machine it takes much of the second core, so one worker process
   (the default) measures what a process can do; `--workers 2` shows them sharing the CPU.
3. Naive design: one Celery task per text (`send_message_task`) on a real worker and Redis, for
   `--naive` texts, and the ratio between the two.

Runs against its own database, `saleor_sms_bench` (dropped and created again), and Redis database
`--redis-db`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_common import print_rows, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "saleor_sms_bench"
CHANNEL = "bench"
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench" * 6 + "00"
SENDER = "+14155550100"
TARGETS = {"schedule_seconds": 60.0, "per_process_rate": 500.0, "memory_growth_mb": 100.0}


def main() -> int:
    args = parse_args()
    if args.role == "dispatcher":
        return run_dispatcher(args)
    os.environ.update(django_environment(args))
    recreate_database(DATABASE)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    configure_channel(args)
    figures: dict[str, Any] = {"args": vars(args), "cpus": os.cpu_count()}
    figures["schedule"] = progress("schedule", bench_scheduling(args))
    figures["schedule_naive"] = progress("schedule_naive", bench_scheduling_row_by_row(args))
    from saleor_sms_plugin.testing import TwilioServer

    with TwilioServer(accounts={ACCOUNT_SID: AUTH_TOKEN}, latency=args.latency) as server:
        os.environ["SALEOR_SMS_TWILIO_API_URL"] = server.base_url
        figures["dispatch"] = progress("dispatch", bench_dispatch(args, server))
        figures["naive"] = progress("naive", bench_naive(args, server))
        figures["server_total"] = server_message_count(server)
    report(figures)
    return 0


def progress(phase: str, result: dict[str, Any]) -> dict[str, Any]:
    """Print a phase's figures as soon as it ends (a long run keeps what it measured)."""
    print(f"{phase}: {json.dumps(result, default=str)}", flush=True)
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--dispatch", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--loops", type=int, default=3, help="batch loops per process")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--naive-schedule", type=int, default=5_000)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    return parser.parse_args()


def django_environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "saleor_sms_plugin.standalone_settings",
        "SMS_DATABASE_NAME": DATABASE,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "SALEOR_SMS_BACKEND": "saleor_sms_plugin.backends.twilio.TwilioBackend",
        "PYTHONPATH": str(ROOT),
    }


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def configure_channel(args: argparse.Namespace) -> None:
    from saleor_sms_plugin import conf
    from saleor_sms_plugin.constants import Flow
    from saleor_sms_plugin.models import ChannelConfiguration

    ChannelConfiguration.objects.create(
        channel_slug=CHANNEL,
        shop_name="Bench Outfitters",
        default_country="PL",
        currency="PLN",
        values={
            conf.ACCOUNT_SID: ACCOUNT_SID,
            conf.AUTH_TOKEN: AUTH_TOKEN,
            conf.SENDER: SENDER,
            conf.flow_switch(Flow.WIN_BACK): True,
            # The shipped win-back texts name an offer's discount and code; without offers
            # (and links) a text of the same length that needs none.
            conf.text_override("win_back_1"): "{{ shop_name }}: tęsknimy{% if first_name %}, "
            "{{ first_name }}{% endif %}! 10% taniej z kodem WRACAM10 w sklepie.",
            # The benchmark measures throughput, not the clock it happens to run at.
            conf.SEND_WINDOW_START: "00:00",
            conf.SEND_WINDOW_END: "00:00",
        },
    )


# Scheduling -----------------------------------------------------------------------------------


def past_customers(count: int, due_now: int, offset: int = 0) -> Iterator[Any]:
    from django.utils import timezone

    from saleor_sms_plugin.past_customers import PastCustomer

    now = timezone.now()
    # Purchase times repeat with a period of days x minutes: computed once, not per customer.
    due = [now - timedelta(days=8 + i % 90, minutes=i % 1440) for i in range(90 * 1440)]
    later = [now - timedelta(days=i % 6, minutes=i % 1440) for i in range(6 * 1440)]
    for index in range(offset, offset + count):
        # The first `due_now` bought more than a week ago: their first text is due at once.
        moments = due if index - offset < due_now else later
        yield PastCustomer(
            f"customer-{index}",
            f"+4860{index:07d}",
            f"order-{index}",
            moments[index % len(moments)],
            "PL",
            "pl",
            True,
        )


def bench_scheduling(args: argparse.Namespace) -> dict[str, Any]:
    from saleor_sms_plugin.past_customers import start_win_back

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    scheduled = start_win_back(CHANNEL, past_customers(args.customers, args.dispatch))
    seconds = time.perf_counter() - started
    return {
        "scheduled": scheduled,
        "seconds": seconds,
        "per_second": scheduled / seconds,
        "peak_rss_growth_mb": peak_rss_mb() - rss_before,
    }


def bench_scheduling_row_by_row(args: argparse.Namespace) -> dict[str, Any]:
    """The naive way: one ORM INSERT per text (what a hook does for a single order)."""
    from django.db import transaction

    from saleor_sms_plugin import scheduling
    from saleor_sms_plugin.flows import Timings, plan_win_back
    from saleor_sms_plugin.models import Message
    from saleor_sms_plugin.phones import NormalizedPhone

    timings = Timings.of(channel_settings())
    customers = list(past_customers(args.naive_schedule, 0, offset=args.customers))
    started = time.perf_counter()
    with transaction.atomic():
        for customer in customers:
            recipient = scheduling.upsert_recipient(
                NormalizedPhone(customer.phone, "PL"), customer_ref=customer.customer_ref
            )
            planned = plan_win_back(
                customer.customer_ref,
                customer.last_order_id,
                customer.last_purchase_at,
                1,
                timings,
            )
            scheduling.insert_new(
                [
                    scheduling.message_row(
                        planned,
                        channel_slug=CHANNEL,
                        recipient=recipient,
                        context={},
                        order_id=customer.last_order_id,
                        customer_ref=customer.customer_ref,
                    )
                ]
            )
    seconds = time.perf_counter() - started
    # Leave the sample out of the dispatch phase.
    Message.objects.filter(customer_ref__in=[c.customer_ref for c in customers]).delete()
    return {"scheduled": len(customers), "seconds": seconds, "per_second": len(customers) / seconds}


def channel_settings() -> Any:
    from saleor_sms_plugin.conf import get_channel_settings

    return get_channel_settings(CHANNEL)


# Dispatch -------------------------------------------------------------------------------------


def bench_dispatch(args: argparse.Namespace, server: Any) -> dict[str, Any]:
    from saleor_sms_plugin.constants import Status
    from saleor_sms_plugin.models import Message

    env = dict(os.environ)
    command = [sys.executable, __file__, "--role", "dispatcher"]
    command += ["--batch-size", str(args.batch_size), "--concurrency", str(args.concurrency)]
    command += ["--loops", str(args.loops)]
    command += ["--redis-db", str(args.redis_db)]
    started = time.perf_counter()
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(args.workers)
    ]
    results = [json.loads(worker.communicate()[0].strip().splitlines()[-1]) for worker in workers]
    seconds = time.perf_counter() - started
    sent = Message.objects.filter(status=Status.SENT).count()
    return {
        "sent": sent,
        "accepted_by_server": server_message_count(server),
        "seconds": seconds,
        "per_second": sent / seconds,
        "workers": results,
    }


def run_dispatcher(args: argparse.Namespace) -> int:
    """One dispatch process: `dispatch_all` until nothing is due, then its figures as JSON."""
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SALEOR_SMS_CONCURRENCY = args.concurrency  # concurrent sends inside a batch
    from saleor_sms_plugin import dispatch

    rss_start = current_rss_mb()
    batches: list[tuple[int, int, float]] = []  # (sent, SQL statements, RSS after), per batch
    dispatch_due = dispatch.dispatch_due

    def measured_batch(**kwargs: Any) -> Any:
        # Each batch loop runs in its own thread, with its own connection: captured per thread.
        with CaptureQueriesContext(connection) as captured:
            report = dispatch_due(**kwargs)
        if report.claimed:
            batches.append((report.sent, statements(captured.captured_queries), current_rss_mb()))
        connection.queries_log.clear()  # the capture keeps them: not the dispatcher's memory
        return report

    dispatch.dispatch_due = measured_batch  # type: ignore[assignment]
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    idle_since: float | None = None
    while True:
        if dispatch.dispatch_all(batch_size=args.batch_size, loops=args.loops):
            idle_since = None
            continue
        idle_since = idle_since or time.perf_counter()
        if time.perf_counter() - idle_since > 1.0:
            break
        time.sleep(0.1)
    seconds = (idle_since or time.perf_counter()) - started
    cpu = cpu_seconds() - cpu_started
    sent = sum(batch[0] for batch in batches)
    queries = [batch[1] for batch in batches]
    rss_peak = max((batch[2] for batch in batches), default=rss_start)
    # After the first batches: modules, the HTTP pool and its threads are in memory.
    rss_warm = batches[min(args.loops, len(batches)) - 1][2] if batches else rss_start
    print(
        json.dumps(
            {
                "sent": sent,
                "batches": len(batches),
                "loops": args.loops,
                "seconds": seconds,
                "per_second": sent / seconds if seconds else 0.0,
                "queries_per_batch": sorted(set(queries)),
                "queries_per_full_batch": max(queries, default=0),
                "rss_start_mb": rss_start,
                "rss_peak_mb": rss_peak,
                "rss_growth_mb": rss_peak - rss_start,
                "rss_after_first_batch_mb": rss_warm,
                "rss_growth_after_first_batch_mb": rss_peak - rss_warm,
                # CPU this process used: what bounds it when the machine is shared.
                "cpu_seconds": cpu,
                "cpu_ms_per_text": cpu / sent * 1000 if sent else 0.0,
                "cpu_share": cpu / seconds if seconds else 0.0,
            }
        )
    )
    return 0


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(captured: list[dict[str, str]]) -> int:
    """SQL statements sent, transaction control (BEGIN, COMMIT, ...) aside."""
    return sum(1 for query in captured if not query["sql"].startswith(TRANSACTION_CONTROL))


def server_message_count(server: Any) -> int:
    return len(server.messages)


# The naive design -----------------------------------------------------------------------------


def bench_naive(args: argparse.Namespace, server: Any) -> dict[str, Any]:
    """One Celery task per text, on one worker process, for `--naive` texts."""
    from django.utils import timezone

    from saleor_sms_plugin.constants import Status
    from saleor_sms_plugin.models import Message
    from saleor_sms_plugin.past_customers import start_win_back
    from saleor_sms_plugin.standalone_celery import app
    from saleor_sms_plugin.tasks import send_message_task

    offset = args.customers + args.naive_schedule
    start_win_back(CHANNEL, past_customers(args.naive, args.naive, offset=offset))
    ids = list(
        Message.objects.filter(status=Status.SCHEDULED, due_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    app.conf.broker_url = os.environ["CELERY_BROKER_URL"]
    app.connection_for_write().default_channel.client.flushdb()
    worker = start_celery_worker()
    try:
        started = time.perf_counter()
        for message_id in ids:
            send_message_task.delay(message_id)
        while Message.objects.filter(pk__in=ids, status=Status.SENT).count() < len(ids):
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {"sent": len(ids), "seconds": seconds, "per_second": len(ids) / seconds}


def start_celery_worker() -> subprocess.Popen[bytes]:
    from saleor_sms_plugin.standalone_celery import start_worker

    return start_worker("sms-bench", broker=os.environ["CELERY_BROKER_URL"], cwd=ROOT)


# Report ---------------------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def report(figures: dict[str, Any]) -> None:
    schedule, naive_schedule = figures["schedule"], figures["schedule_naive"]
    dispatch, naive = figures["dispatch"], figures["naive"]
    per_process = [worker["per_second"] for worker in dispatch["workers"]]
    growth = max(worker["rss_growth_mb"] for worker in dispatch["workers"])
    queries = max(worker["queries_per_full_batch"] for worker in dispatch["workers"])
    rows = [
        ("CPUs", f"{figures['cpus']}"),
        (
            "Scheduling (COPY + INSERT ... SELECT)",
            f"{schedule['scheduled']:,} texts in {schedule['seconds']:.1f} s "
            f"({schedule['per_second']:,.0f}/s), peak RSS +{schedule['peak_rss_growth_mb']:.0f} MB",
        ),
        (
            "Scheduling row by row (ORM, sample)",
            f"{naive_schedule['scheduled']:,} texts in {naive_schedule['seconds']:.1f} s "
            f"({naive_schedule['per_second']:,.0f}/s)",
        ),
        ("  ratio", f"{schedule['per_second'] / naive_schedule['per_second']:.0f}x"),
        (
            "Dispatch (batched, concurrent sends)",
            f"{dispatch['sent']:,} texts in {dispatch['seconds']:.1f} s with "
            f"{len(per_process)} processes ({dispatch['per_second']:,.0f}/s in all)",
        ),
        ("  per worker process", ", ".join(f"{rate:,.0f}/s" for rate in per_process)),
        (
            "  CPU per text (dispatch process)",
            ", ".join(
                f"{worker['cpu_ms_per_text']:.2f} ms, {worker['cpu_share']:.0%} of a core"
                for worker in dispatch["workers"]
            ),
        ),
        (
            "  ceiling per process on a free core",
            ", ".join(f"{1000 / w['cpu_ms_per_text']:,.0f}/s" for w in dispatch["workers"]),
        ),
        ("  texts the server accepted", f"{dispatch['accepted_by_server']:,}"),
        ("  database queries per batch", f"{queries} (batch of {figures['args']['batch_size']})"),
        (
            "  worker memory growth",
            f"{growth:.1f} MB (peak RSS over the start), "
            f"{max(w['rss_growth_after_first_batch_mb'] for w in dispatch['workers']):.1f} MB "
            "after the first batch",
        ),
        (
            "Naive: one Celery task per text",
            f"{naive['sent']:,} texts in {naive['seconds']:.1f} s ({naive['per_second']:,.1f}/s)",
        ),
        ("  ratio per process", f"{min(per_process) / naive['per_second']:.0f}x"),
    ]
    print_rows(rows)
    checks = [
        (
            "scheduling at 1,000,000 per 60 s or faster",
            schedule["per_second"] >= 1_000_000 / TARGETS["schedule_seconds"],
        ),
        (">= 500 texts/s per worker process", min(per_process) >= TARGETS["per_process_rate"]),
        ("memory growth <= 100 MB", growth <= TARGETS["memory_growth_mb"]),
        ("every text sent once", figures["server_total"] == dispatch["sent"] + naive["sent"]),
    ]
    for label, passed in checks:
        print(f"[{'PASS' if passed else 'FAIL'}] {label}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    sys.exit(main())
