"""What the plugin costs the shopper at `checkoutComplete`: plugin active vs. inactive.

Inside a Saleor environment (Saleor importable, the plugin installed in it), against a
migrated Saleor database with `populatedb`'s data (a copy of one is best: the script writes
orders and configures the plugin in the channel):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<Saleor database> \\
        python bench/bench_checkout_overhead.py [--orders 40] [--block 4] [--port 8020]

1. Prepares the channel (`--channel`, default `default-channel`): unpaid orders allowed, the
   plugin configured as `bench_links.py` configures it (a product offer on a stocked variant,
   the post-purchase offers on, three offer texts an order), plus Twilio credentials, the
   order confirmation and a send window open all day, so that the confirmation is due at once
   whatever the hour. The shopper buys the first published variant that
   needs shipping and is stocked in the channel's warehouses (its stock raised to 1,000,000).
2. Starts Saleor (`uvicorn saleor.asgi:application`, `--workers` processes, DEBUG off) with
   Celery's broker in Redis database `--redis-db`, flushed at the start and the end: no
   worker runs, tasks only queue, nothing runs eagerly in the request.
3. Places orders as a shopper does, one after another, each on its own connection:
   `checkoutCreate` (email, the line, both addresses with the US mobile `--phone`, metadata
   `sms_marketing_consent=true`), `checkoutDeliveryMethodUpdate` (the first shipping method
   offered), then `checkoutComplete`, the only request timed (the client's wall time from
   sending it to reading the answer). Blocks of `--block` orders alternate between the plugin
   active and inactive in the channel (the `active` flag, saved through Saleor's plugin
   manager between blocks; Saleor reads it afresh in each request), in the order
   A B B A A B B A ..., so that a drift of the machine's load weighs on both arms alike.
   `--warmup` orders of each arm go first and are not counted.
4. Stops Saleor and handles the orders' events in this process, as the plugin's worker would
   have (the hook only records an event in the event inbox; the texts are scheduled there).
5. Prints the orders of each arm, their median and p90 in ms, the ratios active / inactive,
   the target (median wall-time ratio <= 1.03), the events recorded and texts scheduled for
   each arm's orders (rows of `saleor_sms_plugin_inboxevent` and `saleor_sms_plugin_message`:
   the hook ran in the active arm only), the worker's time per order, and the load average
   before and after. The same figures for the CPU time Saleor's process spent on each
   `checkoutComplete` (its CPU-time clock; Linux) tell the request's own cost apart from
   what the rest of a shared machine does to its wall time.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import http.client
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_links import (
    ROOT,
    Server,
    graphql,
    prepare_saleor_channel,
    saleor_environment,
    saleor_version,
    storefront_inputs,
    uvicorn_command,
)

TARGET_MEDIAN_RATIO = 1.03
ACTIVE, INACTIVE = "active", "inactive"
WALL, CPU = "wall time (client)", "Saleor's CPU time"
# Test credentials: the texts are only scheduled and queued here, never sent.
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "f" * 32
TWILIO_SENDER = "+14155550100"

CHECKOUT_CREATE = """
mutation ($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout { id shippingMethods { id } }
    errors { field message code }
  }
}
"""
DELIVERY_METHOD_UPDATE = """
mutation ($id: ID!, $method: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {
    errors { field message code }
  }
}
"""
CHECKOUT_COMPLETE = """
mutation ($id: ID!) {
  checkoutComplete(id: $id) { order { id } errors { field message code } }
}
"""


def main() -> int:
    args = parse_args()
    # The settings module is bench.saleor_bench_settings, and this checkout's plugin is the one
    # measured, in this process as in the server's (saleor_environment's PYTHONPATH).
    sys.path.insert(0, str(ROOT))
    env = saleor_environment(args)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "saleor_sms_plugin", verbosity=0)
    base_url = f"http://127.0.0.1:{args.port}"
    variant_id = prepare_channel(args, base_url)
    broker = flush_broker(env)
    load_before = os.getloadavg()
    print(
        f"Saleor {saleor_version()}, {args.workers} uvicorn worker(s), {os.cpu_count()} CPUs, "
        f"channel {args.channel}, {args.orders} orders an arm in blocks of {args.block} "
        f"(+{args.warmup} warm-up each), Celery broker {broker} (no worker)",
        flush=True,
    )
    try:
        command = uvicorn_command(args, "saleor.asgi:application", args.port)
        with Server(command, env, base_url) as server:
            timings, orders = place_orders(args, base_url, variant_id, server.process.pid)
        # The plugin is on again, as it was for the orders whose events were recorded.
        set_plugin_active(args.channel, True)
        worker_seconds = handle_recorded_events(orders[ACTIVE] + orders[INACTIVE])
    finally:
        set_plugin_active(args.channel, True)
        flush_broker(env)
    return report(timings, orders, worker_seconds, load_before)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=40, help="timed orders per arm")
    parser.add_argument("--block", type=int, default=4, help="orders per block of one arm")
    parser.add_argument("--warmup", type=int, default=4, help="untimed orders per arm first")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument("--redis-db", type=int, default=7, help="Celery's broker, flushed")
    parser.add_argument("--phone", default="+12015550123", help="the shopper's mobile number")
    args = parser.parse_args()
    if args.orders % args.block:
        parser.error("--orders must be a multiple of --block")
    return args


# Setting up -------------------------------------------------------------------------------


def prepare_channel(args: argparse.Namespace, base_url: str) -> str:
    """Unpaid orders allowed, the plugin configured with offers; returns the variant's id."""
    from saleor.channel.models import Channel
    from saleor.plugins.manager import get_plugins_manager

    from saleor_sms_plugin import conf
    from saleor_sms_plugin.constants import Flow

    Channel.objects.filter(slug=args.channel).update(allow_unpaid_orders=True)
    prepare_saleor_channel(args, base_url)
    values = {
        conf.ACCOUNT_SID: TWILIO_ACCOUNT_SID,
        conf.AUTH_TOKEN: TWILIO_AUTH_TOKEN,
        conf.SENDER: TWILIO_SENDER,
        conf.flow_switch(Flow.ORDER_CONFIRMATION): True,
        conf.OFFER_DELAYS_MINUTES: "15, 180, 1200",
        conf.SEND_WINDOW_START: "00:00",
        conf.SEND_WINDOW_END: "00:00",
    }
    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        conf.PLUGIN_ID,
        args.channel,
        {"active": True, "configuration": [{"name": k, "value": v} for k, v in values.items()]},
    )
    return shipped_variant(args.channel)


def shipped_variant(channel_slug: str) -> str:
    """A published variant that needs shipping, stocked in the channel's warehouses."""
    import graphene
    from saleor.product.models import ProductVariant
    from saleor.warehouse.models import Stock

    variant = (
        ProductVariant.objects.filter(
            product__product_type__is_shipping_required=True,
            channel_listings__channel__slug=channel_slug,
            channel_listings__price_amount__gt=0,
            product__channel_listings__channel__slug=channel_slug,
            product__channel_listings__is_published=True,
            stocks__warehouse__channels__slug=channel_slug,
        )
        .order_by("pk")
        .first()
    )
    if variant is None:
        sys.exit(f"no published variant that needs shipping in {channel_slug}: run populatedb")
    # Every order allocates one; plenty for any number of runs.
    Stock.objects.filter(product_variant=variant, quantity__lt=10_000).update(quantity=1_000_000)
    return graphene.Node.to_global_id("ProductVariant", variant.pk)


def set_plugin_active(channel_slug: str, active: bool) -> None:
    """Switch the plugin on or off in the channel, as the Dashboard's save does."""
    from saleor.plugins.manager import get_plugins_manager

    from saleor_sms_plugin import conf
    from saleor_sms_plugin.saleor_bridge import load_channel_settings

    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        conf.PLUGIN_ID, channel_slug, {"active": active}
    )
    settings = load_channel_settings(channel_slug)
    if settings is None or settings.active != active:
        sys.exit(f"the plugin did not turn {'on' if active else 'off'} in {channel_slug}")


def flush_broker(env: dict[str, str]) -> str:
    import redis

    url = env["CELERY_BROKER_URL"]
    redis.Redis.from_url(url).flushdb()
    return url


# Measuring --------------------------------------------------------------------------------


def arm_sequence(args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """(arm, timed) for each order: warm-up blocks, then blocks in the order A B B A A B ..."""
    for arm in (ACTIVE, INACTIVE):
        for _ in range(args.warmup):
            yield arm, False
    pairs = args.orders // args.block
    for pair in range(pairs):
        first, second = (ACTIVE, INACTIVE) if pair % 2 == 0 else (INACTIVE, ACTIVE)
        for arm in (first, second):
            for _ in range(args.block):
                yield arm, True


Timings = dict[str, dict[str, list[float]]]


def place_orders(
    args: argparse.Namespace, base_url: str, variant_id: str, server_pid: int
) -> tuple[Timings, dict[str, list[str]]]:
    """`checkoutComplete`'s wall time and Saleor's CPU time (s), and the order ids, by arm."""
    sequence = list(arm_sequence(args))
    inputs = storefront_inputs(args, variant_id, len(sequence))
    run = uuid.uuid4().hex[:8]
    timings: Timings = {WALL: {ACTIVE: [], INACTIVE: []}, CPU: {ACTIVE: [], INACTIVE: []}}
    orders: dict[str, list[str]] = {ACTIVE: [], INACTIVE: []}
    current: bool | None = None
    port = int(base_url.rsplit(":", 1)[1])
    for index, ((arm, timed), checkout_input) in enumerate(zip(sequence, inputs, strict=True)):
        if current != (arm == ACTIVE):
            current = arm == ACTIVE
            set_plugin_active(args.channel, current)
        shopper = shopper_input(args, checkout_input, f"bench-checkout-{run}-{index}@example.com")
        order_id, wall, cpu = place_order(port, shopper, server_pid)
        orders[arm].append(order_id)
        if timed:
            timings[WALL][arm].append(wall)
            timings[CPU][arm].append(cpu)
    return timings, orders


def shopper_input(args: argparse.Namespace, checkout_input: Any, email: str) -> dict[str, Any]:
    """The storefront's checkout input with the shopper's number and marketing consent."""
    return {
        **checkout_input,
        "email": email,
        "shippingAddress": {**checkout_input["shippingAddress"], "phone": args.phone},
        "billingAddress": {**checkout_input["billingAddress"], "phone": args.phone},
        "metadata": [{"key": "sms_marketing_consent", "value": "true"}],
    }


def place_order(
    port: int, checkout_input: dict[str, Any], server_pid: int
) -> tuple[str, float, float]:
    """The shopper's three mutations; the order's database id, and checkoutComplete's wall
    time and Saleor's CPU time for it (s)."""
    import graphene

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        created = no_errors(
            graphql(connection, CHECKOUT_CREATE, {"input": checkout_input})["checkoutCreate"]
        )
        checkout = created["checkout"]
        if not checkout["shippingMethods"]:
            sys.exit("no shipping method ships the variant to the shopper's address")
        no_errors(
            graphql(
                connection,
                DELIVERY_METHOD_UPDATE,
                {"id": checkout["id"], "method": checkout["shippingMethods"][0]["id"]},
            )["checkoutDeliveryMethodUpdate"]
        )
        cpu_before = cpu_time(server_pid)
        started = time.perf_counter()
        completed = graphql(connection, CHECKOUT_COMPLETE, {"id": checkout["id"]})
        wall = time.perf_counter() - started
        cpu = cpu_time(server_pid) - cpu_before
    finally:
        connection.close()
    order = no_errors(completed["checkoutComplete"])["order"]
    return graphene.Node.from_global_id(order["id"])[1], wall, cpu


def cpu_time(pid: int) -> float:
    """CPU seconds of the server's process and its worker processes so far.

    The client's wall time counts whatever else the machine runs; the server's own CPU time
    shows the cost of the request alone (PostgreSQL's share is not in it). A process's CPU
    clock counts every thread it ever ran: Django's ASGI handler runs each request in a thread
    of its own, gone by the time the answer has been read.
    """
    return sum(time.clock_gettime(process_cpu_clock(p)) for p in [pid, *child_pids(pid)])


def process_cpu_clock(pid: int) -> int:
    """The id of another process's CPU-time clock (POSIX clock_getcpuclockid; Python has none)."""
    clock = ctypes.c_int()  # clockid_t
    error = libc().clock_getcpuclockid(pid, ctypes.byref(clock))
    if error:
        raise OSError(error, os.strerror(error), f"CPU clock of process {pid}")
    return clock.value


@functools.cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"))


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def no_errors(result: dict[str, Any]) -> dict[str, Any]:
    if result["errors"]:
        raise RuntimeError(result["errors"])
    return result


def handle_recorded_events(order_ids: list[str]) -> float:
    """Handle the orders' inbox events here, as the worker would; the seconds it took."""
    from saleor_sms_plugin import event_inbox
    from saleor_sms_plugin.models import InboxEvent

    started = time.perf_counter()
    for event_id in InboxEvent.objects.filter(key__in=order_ids).values_list("pk", flat=True):
        outcome = event_inbox.process_event(event_id)
        if outcome != event_inbox.Outcome.PROCESSED:
            sys.exit(f"the inbox event {event_id} was not handled: {outcome}")
    return time.perf_counter() - started


# Reporting --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def events_recorded(order_ids: list[str]) -> int:
    from saleor_sms_plugin.models import InboxEvent

    return InboxEvent.objects.filter(key__in=order_ids).count()


def texts_scheduled(order_ids: list[str]) -> dict[str, int]:
    """Rows of saleor_sms_plugin_message for these orders, by flow."""
    from django.db.models import Count

    from saleor_sms_plugin.models import Message

    rows = (
        Message.objects.filter(order_id__in=order_ids)
        .values("flow")
        .annotate(count=Count("id"))
        .order_by("flow")
    )
    return {row["flow"]: row["count"] for row in rows}


def report(
    timings: Timings,
    orders: dict[str, list[str]],
    worker_seconds: float,
    load_before: tuple[float, float, float],
) -> int:
    ratios = {measure: print_measure(measure, values) for measure, values in timings.items()}
    for arm in (ACTIVE, INACTIVE):
        texts = texts_scheduled(orders[arm])
        by_flow = ", ".join(f"{flow} {count}" for flow, count in texts.items()) or "none"
        print(
            f"{len(orders[arm])} {arm} orders (with warm-up): {events_recorded(orders[arm])} "
            f"events recorded in the request, {sum(texts.values())} texts scheduled ({by_flow})"
        )
    handled = events_recorded(orders[ACTIVE] + orders[INACTIVE])
    if handled:
        print(
            f"the worker's side, in this process: {worker_seconds / handled * 1000:.1f} ms an "
            f"order ({handled} events)"
        )
    load_after = os.getloadavg()
    print(
        "load average before: " + " ".join(f"{value:.2f}" for value in load_before),
        "after: " + " ".join(f"{value:.2f}" for value in load_after),
        sep="; ",
    )
    median_ratio = ratios[WALL]
    met = median_ratio <= TARGET_MEDIAN_RATIO
    print(
        f"[{'PASS' if met else 'MISS'}] checkoutComplete's median wall time active/inactive "
        f"{median_ratio:.3f} <= {TARGET_MEDIAN_RATIO}",
        flush=True,
    )
    return 0 if met else 1


def print_measure(measure: str, values: dict[str, list[float]]) -> float:
    """One table of a measure: orders, median and p90 of each arm, ratios; the median ratio."""
    figures = {
        arm: (statistics.median(seconds) * 1000, percentile(seconds, 0.9) * 1000)
        for arm, seconds in values.items()
    }
    print(f"checkoutComplete, {measure:<18} {'orders':>6} {'median ms':>10} {'p90 ms':>9}")
    for arm in (ACTIVE, INACTIVE):
        median, p90 = figures[arm]
        print(f"  plugin {arm:<29} {len(values[arm]):>6} {median:10.1f} {p90:9.1f}")
    median_ratio = figures[ACTIVE][0] / figures[INACTIVE][0]
    p90_ratio = figures[ACTIVE][1] / figures[INACTIVE][1]
    difference = figures[ACTIVE][0] - figures[INACTIVE][0]
    print(
        f"  {'ratio active/inactive':<44} {median_ratio:10.3f} {p90_ratio:9.3f}"
        f"   ({difference:+.1f} ms at the median)",
        flush=True,
    )
    return median_ratio


if __name__ == "__main__":
    sys.exit(main())
