"""Recovery benchmark: 5,000 texts left `sending`, settled while new texts go out.

    .venv/bin/python bench/bench_recovery.py [--stuck 5000] [--new 2000] [--latency 0.1]
        [--concurrency 64] [--old-sample 500] [--database saleor_sms_bench_recovery]

Setup: `--stuck` win-back texts are sent through the bundled Twilio-compatible server, then
left `sending` an hour ago without their outcome, as a worker that died between Twilio's answers
and recording them leaves them. The server then answers every request after `--latency` s.

1. The old way: the provider asked about stuck texts one at a time, as `recover_stale` did
   before it ran in its own task, on `--old-sample` of them (500: what one run of the old
   dispatch task asked about before it sent anything).
2. New texts alone: `--new` texts due now, sent by one process running the dispatch task.
3. Recovery and new texts together: one process runs the recovery task (until no text is left
   `sending`), another the dispatch task, started at the same moment, as two worker processes
   would run them. The new texts are another `--new` due now.

It prints the time to settle every stuck text, and for the new texts the time until the first
was claimed (sending began), the first sent (its batch recorded) and the last sent, alone and
beside recovery. Runs against its own database (dropped and created
again); Redis is not used. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_common import print_rows, recreate_database

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_dispatch  # its channel and customers

ROOT = bench_dispatch.ROOT
TARGET_SECONDS = 15.0  # 5,000 stuck texts settled at 100 ms latency
POLL = 0.1


def main() -> int:
    args = parse_args()
    os.environ.update(django_environment(args))
    if args.role != "main":
        return run_role(args)
    recreate_database(args.database)
    bench_dispatch.setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench_dispatch.configure_channel(args)
    from saleor_sms_plugin.testing import TwilioServer

    figures: dict[str, Any] = {"args": vars(args), "cpus": os.cpu_count()}
    with TwilioServer(accounts={bench_dispatch.ACCOUNT_SID: bench_dispatch.AUTH_TOKEN}) as server:
        os.environ["SALEOR_SMS_TWILIO_API_URL"] = server.base_url
        stuck = progress("setup", leave_stuck(args))
        server.latency = args.latency
        figures["old"] = progress("old", old_way(args, stuck["ids"]))
        figures["alone"] = progress("alone", run_together(args, new_offset(args, 0), []))
        figures["together"] = progress(
            "together", run_together(args, new_offset(args, 1), stuck["ids"])
        )
        figures["server_messages"] = len(server.messages)
    report(args, figures)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stuck", type=int, default=5_000)
    parser.add_argument("--new", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--old-sample", type=int, default=500)
    parser.add_argument("--database", default="saleor_sms_bench_recovery")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    return parser.parse_args()


def django_environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "saleor_sms_plugin.standalone_settings",
        "SMS_DATABASE_NAME": args.database,
        "SALEOR_SMS_BACKEND": "saleor_sms_plugin.backends.twilio.TwilioBackend",
        "SALEOR_SMS_CONCURRENCY": str(args.concurrency),
        "PYTHONPATH": str(ROOT),
    }


def progress(phase: str, result: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in result.items() if key != "ids"}
    print(f"{phase}: {json.dumps(shown, default=str)}", flush=True)
    return result


def new_offset(args: argparse.Namespace, index: int) -> int:
    return args.stuck + index * args.new


# Setup ----------------------------------------------------------------------------------------


def schedule_due_now(count: int, offset: int) -> list[int]:
    """Win-back texts for `count` past customers from `offset` on, each due now."""
    from django.utils import timezone

    from saleor_sms_plugin.constants import Status
    from saleor_sms_plugin.models import Message
    from saleor_sms_plugin.past_customers import start_win_back

    start_win_back(bench_dispatch.CHANNEL, bench_dispatch.past_customers(count, count, offset))
    refs = [f"customer-{index}" for index in range(offset, offset + count)]
    due = Message.objects.filter(
        customer_ref__in=refs, status=Status.SCHEDULED, due_at__lte=timezone.now()
    )
    ids = sorted(due.values_list("pk", flat=True))
    # One import made them: one range of ids, which the progress reads rely on.
    assert len(ids) == count, "not every customer has a text due now"
    assert ids[-1] - ids[0] == count - 1, "the texts' ids are not one range"
    return ids


def leave_stuck(args: argparse.Namespace) -> dict[str, Any]:
    """Send `--stuck` texts, then leave them `sending` as a worker that died would."""
    from datetime import timedelta

    from django.utils import timezone

    from saleor_sms_plugin import dispatch
    from saleor_sms_plugin.constants import Status
    from saleor_sms_plugin.models import Message

    started = time.perf_counter()
    ids = schedule_due_now(args.stuck, 0)
    while dispatch.dispatch_all():
        pass
    left = Message.objects.filter(pk__in=ids).update(
        status=Status.SENDING,
        provider_id=None,
        sent_at=None,
        claimed_at=timezone.now() - timedelta(hours=1),
        renewed_at=None,
    )
    return {"ids": ids, "stuck": left, "setup_seconds": time.perf_counter() - started}


# The old way ----------------------------------------------------------------------------------


def old_way(args: argparse.Namespace, ids: list[int]) -> dict[str, Any]:
    """Ask the provider about stuck texts one after another, as the old `recover_stale` did."""
    from datetime import timedelta

    from saleor_sms_plugin.backends import get_backend
    from saleor_sms_plugin.conf import get_channel_settings
    from saleor_sms_plugin.models import Message

    sample = list(Message.objects.filter(pk__in=ids[: args.old_sample]).select_related("recipient"))
    started = time.perf_counter()
    found = 0
    for message in sample:
        channel = get_channel_settings(message.channel_slug)
        assert channel is not None
        assert message.recipient is not None
        since = message.claimed_at - timedelta(minutes=1)
        found += bool(
            get_backend(channel).find_sent(message.recipient.phone or "", message.body, since)
        )
    seconds = time.perf_counter() - started
    return {
        "asked": len(sample),
        "found": found,
        "seconds": seconds,
        "per_text_ms": seconds / len(sample) * 1000,
        "projected_seconds_for_all": seconds / len(sample) * len(ids),
    }


# Recovery beside dispatch ---------------------------------------------------------------------


def run_together(args: argparse.Namespace, offset: int, stuck: list[int]) -> dict[str, Any]:
    """New texts due now, sent by a dispatch process; with `stuck`, a recovery process
    starts at the same moment. Progress is read from the database every 100 ms, by id range
    (each set was inserted by one statement): cheap enough not to slow what it measures."""
    from saleor_sms_plugin.constants import Status
    from saleor_sms_plugin.models import Message

    new = schedule_due_now(args.new, offset)
    roles = ["dispatch"] + (["recovery"] if stuck else [])
    processes = [start_role(args, role) for role in roles]
    for process in processes:  # each has set Django up
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    started = time.perf_counter()
    new_rows = Message.objects.filter(pk__range=(new[0], new[-1]))
    unsettled = (
        Message.objects.filter(pk__range=(stuck[0], stuck[-1]), status=Status.SENDING)
        if stuck
        else None
    )
    first_claimed = first_sent = all_sent = settled = None
    while all_sent is None or (unsettled is not None and settled is None):
        elapsed = time.perf_counter() - started
        if first_claimed is None and new_rows.exclude(status=Status.SCHEDULED).exists():
            first_claimed = elapsed
        sent = new_rows.filter(status=Status.SENT).count()
        if sent and first_sent is None:
            first_sent = elapsed
        if sent == len(new) and all_sent is None:
            all_sent = elapsed
        if settled is None and unsettled is not None and not unsettled.exists():
            settled = elapsed
        time.sleep(POLL)
    results = [
        json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes
    ]
    return {
        "new_texts": len(new),
        "first_new_claimed_seconds": first_claimed,
        "first_new_sent_seconds": first_sent,
        "all_new_sent_seconds": all_sent,
        "stuck_settled_seconds": settled,
        "stuck_sent": Message.objects.filter(pk__in=stuck, status=Status.SENT).count(),
        "processes": dict(zip(roles, results, strict=True)),
    }


def start_role(args: argparse.Namespace, role: str) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--role", role, "--database", args.database]
    command += ["--concurrency", str(args.concurrency)]
    return subprocess.Popen(
        command,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run_role(args: argparse.Namespace) -> int:
    """A worker process running one periodic task over and over until it has nothing to do;
    it starts when told to on its standard input."""
    bench_dispatch.setup_django()
    from saleor_sms_plugin import tasks

    task = {
        "dispatch": tasks.dispatch_due_messages_task,
        "recovery": tasks.recover_stale_messages_task,
    }[args.role]
    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu_started = time.perf_counter(), bench_dispatch.cpu_seconds()
    runs, done = 0, 0
    while count := task():
        runs, done = runs + 1, done + count
    seconds, cpu = time.perf_counter() - started, bench_dispatch.cpu_seconds() - cpu_started
    print(json.dumps({"runs": runs + 1, "done": done, "seconds": seconds, "cpu_seconds": cpu}))
    return 0


# Report ---------------------------------------------------------------------------------------


def new_texts(figures: dict[str, Any]) -> str:
    return (
        f"first claimed after {figures['first_new_claimed_seconds']:.2f} s, "
        f"first sent after {figures['first_new_sent_seconds']:.2f} s, "
        f"all sent after {figures['all_new_sent_seconds']:.1f} s"
    )


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    old, alone, together = figures["old"], figures["alone"], figures["together"]
    settled = together["stuck_settled_seconds"]
    rows = [
        ("CPUs", f"{figures['cpus']}"),
        ("Provider latency", f"{args.latency * 1000:.0f} ms, {args.concurrency} in flight"),
        (
            f"Old: one by one ({old['asked']} texts)",
            f"{old['seconds']:.1f} s ({old['per_text_ms']:.0f} ms a text); "
            f"{args.stuck:,} would take {old['projected_seconds_for_all']:.0f} s",
        ),
        (
            "  new texts waited, per old task run",
            f"{old['seconds']:.1f} s before the first was claimed",
        ),
        (
            f"New: {args.stuck:,} stuck texts settled",
            f"{settled:.1f} s ({together['stuck_sent']:,} found sent), "
            f"{old['projected_seconds_for_all'] / settled:.0f}x the old way",
        ),
        (f"  {args.new:,} new texts alone", new_texts(alone)),
        (f"  {args.new:,} new texts beside recovery", new_texts(together)),
        (
            "  all new texts sent, beside recovery / alone",
            f"{together['all_new_sent_seconds'] / alone['all_new_sent_seconds']:.2f}x",
        ),
        ("Texts the server accepted", f"{figures['server_messages']:,}"),
    ]
    print_rows(rows)
    expected = args.stuck + 2 * args.new
    checks = [
        (f"{args.stuck:,} stuck texts settled in <= {TARGET_SECONDS:.0f} s", settled <= 15.0),
        (
            "new texts start going out beside recovery at once (first claimed within 0.5 s)",
            together["first_new_claimed_seconds"] <= 0.5,
        ),
        ("every stuck text found sent, none sent twice", figures["server_messages"] == expected),
    ]
    for label, passed in checks:
        print(f"[{'PASS' if passed else 'FAIL'}] {label}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    sys.exit(main())
