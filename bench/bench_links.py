"""Offer link benchmark: click -> prefilled checkout -> redirect, at 20 concurrent clients.

Inside a Saleor environment (Saleor importable, the plugin installed in it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a migrated Saleor database> \\
        python bench/bench_links.py [--clients 20] [--requests 400] [--port 8010] [--workers 2]

1. Prepares the channel (`--channel`, default `default-channel`): the plugin configured with a
   product offer (one sellable variant, a 10 % voucher `SMSBENCH10` created if missing), and
   three sets of `--requests` (+ `--warmup`) offer texts, each with its link. The checkouts of
   the first two sets are prepared in this process, as the periodic task would (its rate is
   printed); the third set's are not.
2. Starts Saleor (`uvicorn saleor.asgi:application`, `--workers` processes, DEBUG off, the click
   rate limit kept in Redis `--redis-db` and raised so that the clients, all on 127.0.0.1, are
   counted but never stopped: `bench/saleor_bench_settings.py`). With `--clients` concurrent
   clients on kept-alive connections and a phone's User-Agent:
   (a) the first set's links through Saleor's plugin route: the checkout is prepared, the
       click only checks it is open, records the click and redirects (302);
   (c) the third set's links: each click makes a Saleor checkout with the order's email,
       addresses, language, the product and the voucher, then redirects;
   (d) the third set's links again: the open checkout is reused;
   (e) the storefront's way to the same checkout: `checkoutCreate` (email, addresses,
       language, the line) then `checkoutAddPromoCode` over HTTP to Saleor's GraphQL API,
       asking for nothing but the checkout's id (neither way computes the checkout's prices).
3. Stops Saleor and starts the link server on port `--port` + 1 with the same settings, as
   docs/offers.md recommends deploying it: gunicorn's sync workers (`--link-workers`, CPUs + 1
   by default), each answering one click at a time and closing the connection after it (a
   shopper's phone opens its own connection anyway), with database connections kept
   (`--db-conn-max-age`, 60 s). `--link-server asgi` runs it under uvicorn instead (as many
   workers as Saleor). (b) the second set's links as the link host writes them,
   `/<channel>/l/<token>`.
4. Checks a sample of both ways' checkouts for the voucher in the total and prints p50, p99
   and requests per second of each row, their ratios to the storefront's and to the 150 ms
   target.

Without Saleor, the same clicks are measured against the standalone app (Django's threaded
development server, the in-memory checkout gateway, database `saleor_sms_links_bench`) and no
storefront comparison is possible; the output says so.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
STOREFRONT = "https://shop.example.com/{channel}/{language}/checkout?checkout={checkout_id}"
VOUCHER_CODE = "SMSBENCH10"
TARGET_P99_MS = 150.0
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+12015550123",
    "country": "US",
    "country_area": "CA",
    "city": "Mountain View",
    "postal_code": "94043",
    "street_address_1": "1600 Amphitheatre Pkwy",
}
CHECKOUT_CREATE = """
mutation ($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) { checkout { id } errors { field message code } }
}
"""
ADD_PROMO_CODE = """
mutation ($id: ID!, $code: String!) {
  checkoutAddPromoCode(id: $id, promoCode: $code) {
    checkout { id } errors { field message code }
  }
}
"""


def main() -> int:
    args = parse_args()
    if importlib.util.find_spec("saleor") is None:
        return bench_standalone(args)
    return bench_saleor(args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument(
        "--link-server",
        choices=("wsgi", "asgi"),
        default="wsgi",
        help="the link server under gunicorn's sync workers (wsgi) or uvicorn (asgi)",
    )
    parser.add_argument(
        "--link-workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="gunicorn workers (wsgi; default: CPUs + 1)",
    )
    parser.add_argument(
        "--db-conn-max-age",
        type=int,
        default=60,
        help="DB_CONN_MAX_AGE for the link server (0, Saleor's default: a new database "
        "connection per click)",
    )
    return parser.parse_args()


# Measuring --------------------------------------------------------------------------------


def run_clients(
    base_url: str, clients: int, jobs: Sequence[Any], do: Callable[[Any, Any], None]
) -> tuple[list[float], float]:
    """Run `do(connection, job)` for every job on `clients` threads; (latencies in s, wall s).

    Each thread has one HTTP connection, kept alive where the server keeps it (Saleor's
    uvicorn does; the link server's sync workers close it after each answer, and the next
    request opens a new one, within the time measured).
    """
    parts = urlsplit(base_url)
    work: queue.Queue[Any] = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        while True:
            try:
                job = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                do(connection, job)
            except BaseException as error:  # reported after the run
                errors.append(error)
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]!r}")
    return latencies, wall


def figures(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "rps": len(ordered) / wall,
    }


def click(connection: http.client.HTTPConnection, path: str) -> None:
    connection.request("GET", path, headers={"User-Agent": PHONE_UA})
    response = connection.getresponse()
    response.read()
    if response.status != 302 or "checkout=" not in (response.getheader("Location") or ""):
        raise RuntimeError(f"click answered {response.status} {response.getheader('Location')}")


def graphql(connection: http.client.HTTPConnection, query: str, variables: dict[str, Any]) -> Any:
    body = json.dumps({"query": query, "variables": variables})
    connection.request("POST", "/graphql/", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = json.loads(response.read())
    if response.status != 200 or data.get("errors"):
        raise RuntimeError(f"GraphQL answered {response.status}: {data}")
    return data["data"]


def print_figures(name: str, values: dict[str, float]) -> None:
    print(
        f"{name:<44} {values['requests']:>5} requests  p50 {values['p50_ms']:7.1f} ms  "
        f"p99 {values['p99_ms']:7.1f} ms  {values['rps']:7.1f} req/s",
        flush=True,
    )


# Against Saleor ---------------------------------------------------------------------------


def bench_saleor(args: argparse.Namespace) -> int:
    env = saleor_environment(args)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "saleor_sms_plugin", verbosity=0)
    base_url = f"http://127.0.0.1:{args.port}"
    link_server_url = f"http://127.0.0.1:{args.port + 1}"
    variant_id = prepare_saleor_channel(args, base_url)
    count = args.requests + args.warmup
    link_server = (
        f"{args.link_workers} gunicorn worker(s)"
        if args.link_server == "wsgi"
        else f"{args.workers} uvicorn worker(s)"
    )
    print(
        f"Saleor {saleor_version()}, {args.workers} uvicorn worker(s) for Saleor, {link_server} "
        f"for the link server (DB_CONN_MAX_AGE={args.db_conn_max_age}), {os.cpu_count()} CPUs, "
        f"{args.clients} concurrent clients, channel {args.channel}",
        flush=True,
    )
    set_aside_earlier_links(args)
    prepared_route = offer_link_paths(args, count)
    prepared_host = [link_host_path(args, path) for path in offer_link_paths(args, count)]
    prepare_all_checkouts(2 * count)
    cold = offer_link_paths(args, count)  # made after the preparer ran: no checkout yet
    rows: dict[str, dict[str, float]] = {}
    with Server(saleor_server_command(args), env, base_url):
        rows["a"] = measure(args, base_url, prepared_route, click)
        rows["c"] = measure(args, base_url, cold, click)
        rows["d"] = measure(args, base_url, cold, click, warmup=0)
        inputs = storefront_inputs(args, variant_id, count)
        rows["e"] = measure(args, base_url, inputs, storefront_checkout)
    # Saleor's own server keeps Saleor's default: under uvicorn every thread of its pool would
    # keep a connection open. The link server runs its views on one thread per process.
    link_env = {**env, "DB_CONN_MAX_AGE": str(args.db_conn_max_age)}
    with Server(link_server_command(args), link_env, link_server_url):
        rows["b"] = measure(args, link_server_url, prepared_host, click)
    check_vouchers_applied(args)
    print_table(rows)
    best = rows["b"]
    return 0 if best["p99_ms"] <= TARGET_P99_MS and best["p50_ms"] <= rows["e"]["p50_ms"] else 1


ROWS = {
    "a": "(a) prepared checkout, Saleor's plugin route",
    "b": "(b) prepared checkout, link server",
    "c": "(c) click creates the checkout (cold)",
    "d": "(d) repeat click (checkout reused)",
    "e": "(e) storefront: checkoutCreate + AddPromoCode",
}


def measure(
    args: argparse.Namespace,
    base_url: str,
    jobs: Sequence[Any],
    do: Callable[[Any, Any], None],
    warmup: int | None = None,
) -> dict[str, float]:
    """Warm up on the first `warmup` jobs (default --warmup), measure the rest."""
    warmup = args.warmup if warmup is None else warmup
    if warmup:
        run_clients(base_url, args.clients, jobs[:warmup], do)
    measured = jobs[args.warmup :]
    return figures(*run_clients(base_url, args.clients, measured, do))


def storefront_checkout(connection: http.client.HTTPConnection, checkout_input: Any) -> None:
    created = graphql(connection, CHECKOUT_CREATE, {"input": checkout_input})
    checkout = created["checkoutCreate"]
    if checkout["errors"]:
        raise RuntimeError(checkout["errors"])
    added = graphql(
        connection, ADD_PROMO_CODE, {"id": checkout["checkout"]["id"], "code": VOUCHER_CODE}
    )["checkoutAddPromoCode"]
    if added["errors"]:
        raise RuntimeError(added["errors"])


def link_host_path(args: argparse.Namespace, plugin_path: str) -> str:
    """The same link as the link host writes it: /<channel>/l/<token>."""
    return f"/{args.channel}/l/{plugin_path.rsplit('/', 1)[1]}"


def set_aside_earlier_links(args: argparse.Namespace) -> None:
    """Links an interrupted earlier run left waiting are not this run's to prepare."""
    from saleor_sms_plugin.models import CheckoutPreparation, OfferLink

    left = OfferLink.objects.filter(
        channel_slug=args.channel, prepare_state=CheckoutPreparation.PENDING
    ).update(prepare_state=CheckoutPreparation.SKIPPED)
    if left:
        print(f"set aside {left} links an earlier run left waiting", flush=True)


def prepare_all_checkouts(expected: int) -> None:
    """Run the preparer in this process until no link waits, as the periodic task would."""
    from saleor_sms_plugin.prepared_checkouts import prepare_checkouts

    started, prepared, failed = time.perf_counter(), 0, 0
    while True:
        report = prepare_checkouts(batch_size=20)
        prepared, failed = prepared + report.prepared, failed + report.failed
        if report.claimed == 0:
            break
    elapsed = time.perf_counter() - started
    print(
        f"background preparation: {prepared} checkouts in {elapsed:.1f} s "
        f"({prepared / elapsed:.1f}/s, one process), {failed} failed",
        flush=True,
    )
    if prepared != expected:
        sys.exit(f"expected {expected} prepared checkouts, got {prepared}")


def print_table(rows: dict[str, dict[str, float]]) -> None:
    storefront = rows["e"]
    print(
        f"{'':<46} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}   "
        f"{'p50/sf':>6} {'p99/sf':>6} {'rps/sf':>6}   {'p99/150':>7}",
        flush=True,
    )
    for key, name in ROWS.items():
        row = rows[key]
        verdict = "met" if row["p99_ms"] <= TARGET_P99_MS else "missed"
        print(
            f"{name:<46} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['rps']:7.1f}   "
            f"{row['p50_ms'] / storefront['p50_ms']:6.2f} "
            f"{row['p99_ms'] / storefront['p99_ms']:6.2f} "
            f"{row['rps'] / storefront['rps']:6.2f}   "
            f"{row['p99_ms'] / TARGET_P99_MS:5.2f} {verdict}",
            flush=True,
        )
    print(
        f"({int(rows['a']['requests'])} requests a row; sf = storefront (e); "
        f"target p99 <= {TARGET_P99_MS:.0f} ms)",
        flush=True,
    )


def saleor_environment(args: argparse.Namespace) -> dict[str, str]:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL must name a migrated Saleor database")
    return {
        "DJANGO_SETTINGS_MODULE": "bench.saleor_bench_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "saleor-sms-bench"),
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ALLOWED_CLIENT_HOSTS": "127.0.0.1,localhost",
        "CACHE_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "RSA_PRIVATE_KEY": os.environ.get("RSA_PRIVATE_KEY") or _rsa_private_key(),
        "SEND_USAGE_TELEMETRY": "False",
        "DB_CONN_MAX_AGE": "0",
    }


def _rsa_private_key() -> str:
    """A throwaway signing key: Saleor wants one for its tokens when DEBUG is off."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def saleor_version() -> str:
    import saleor

    return str(getattr(saleor, "__version__", "?"))


def prepare_saleor_channel(args: argparse.Namespace, base_url: str) -> str:
    """The plugin's configuration with a product offer; returns the offered variant's id."""
    import graphene
    from saleor.channel.models import Channel
    from saleor.discount import DiscountValueType
    from saleor.discount.models import Voucher, VoucherChannelListing, VoucherCode
    from saleor.plugins.manager import get_plugins_manager
    from saleor.product.models import ProductVariant

    from saleor_sms_plugin import conf
    from saleor_sms_plugin.constants import Flow

    channel = Channel.objects.get(slug=args.channel)
    variant = (
        ProductVariant.objects.filter(
            channel_listings__channel=channel,
            channel_listings__price_amount__gt=0,
            product__channel_listings__channel=channel,
            product__channel_listings__is_published=True,
            stocks__quantity__gt=10_000,
        )
        .order_by("pk")
        .first()
    ) or _stocked_variant(channel)
    if not VoucherCode.objects.filter(code=VOUCHER_CODE).exists():
        voucher = Voucher.objects.create(
            name="SMS bench", discount_value_type=DiscountValueType.PERCENTAGE
        )
        VoucherCode.objects.create(voucher=voucher, code=VOUCHER_CODE)
        VoucherChannelListing.objects.create(
            voucher=voucher, channel=channel, discount_value=10, currency=channel.currency_code
        )
    variant_id = graphene.Node.to_global_id("ProductVariant", variant.pk)
    offers = [
        {
            "id": "bench",
            "flow": Flow.POST_PURCHASE_OFFER.value,
            "kind": "products",
            "discount_type": "percentage",
            "discount_value": 10,
            "voucher_code": VOUCHER_CODE,
            "products": [variant_id],
            "lifetime_days": 1,
        }
    ]
    values = {
        conf.PUBLIC_BASE_URL: base_url,
        conf.CHECKOUT_URL_TEMPLATE: STOREFRONT,
        conf.OFFERS: json.dumps(offers),
        conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
    }
    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        conf.PLUGIN_ID,
        channel.slug,
        {"active": True, "configuration": [{"name": k, "value": v} for k, v in values.items()]},
    )
    return variant_id


def _stocked_variant(channel: Any) -> Any:
    """A published variant of the channel given plenty of stock (reservations hold some)."""
    from saleor.product.models import ProductVariant
    from saleor.warehouse.models import Stock

    variant = (
        ProductVariant.objects.filter(
            channel_listings__channel=channel,
            channel_listings__price_amount__gt=0,
            product__channel_listings__channel=channel,
            product__channel_listings__is_published=True,
            stocks__isnull=False,
        )
        .order_by("pk")
        .first()
    )
    if variant is None:
        sys.exit(f"no published variant with stock in {channel.slug}: run populatedb")
    Stock.objects.filter(product_variant=variant).update(quantity=1_000_000)
    return variant


def offer_link_paths(args: argparse.Namespace, count: int) -> list[str]:
    """`count` offer texts of one run, each with its link; returns the links' paths."""
    from django.utils import timezone

    from saleor_sms_plugin import links
    from saleor_sms_plugin.conf import get_channel_settings
    from saleor_sms_plugin.models import Message

    channel = get_channel_settings(args.channel)
    assert channel is not None
    run = uuid.uuid4().hex[:8]
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(
            channel_slug=args.channel,
            flow="post_purchase_offer",
            step=1,
            dedupe_key=f"bench-links:{run}:{index}",
            order_id=str(uuid.uuid4()),
            context={
                "order": {
                    "email": f"bench-{run}-{index}@example.com",
                    "language_code": "en",
                    "shipping_address": ADDRESS,
                    "billing_address": ADDRESS,
                }
            },
            status="sent",
            due_at=now,
            sent_at=now,
        )
        for index in range(count)
    )
    paths = []
    for message in messages:
        variables = links.offer_variables(message, channel, "en")
        paths.append(urlsplit(variables["offer_link"]).path)
    return paths


def storefront_inputs(args: argparse.Namespace, variant_id: str, count: int) -> list[Any]:
    address = {
        "firstName": ADDRESS["first_name"],
        "lastName": ADDRESS["last_name"],
        "phone": ADDRESS["phone"],
        "country": ADDRESS["country"],
        "countryArea": ADDRESS["country_area"],
        "city": ADDRESS["city"],
        "postalCode": ADDRESS["postal_code"],
        "streetAddress1": ADDRESS["street_address_1"],
    }
    return [
        {
            "channel": args.channel,
            "email": f"storefront-{index}@example.com",
            "languageCode": "EN",
            "lines": [{"variantId": variant_id, "quantity": 1}],
            "shippingAddress": address,
            "billingAddress": address,
        }
        for index in range(count)
    ]


def saleor_server_command(args: argparse.Namespace) -> list[str]:
    return uvicorn_command(args, "saleor.asgi:application", args.port)


def link_server_command(args: argparse.Namespace) -> list[str]:
    if args.link_server == "wsgi":
        # Sync workers: one click at a time per process, so one database connection per
        # process that DB_CONN_MAX_AGE keeps open, and whichever process is free takes the
        # next connection (kept-alive connections would each stay with one process).
        return [
            *(sys.executable, "-m", "gunicorn", "saleor_sms_plugin.link_server:wsgi_application"),
            *("--bind", f"127.0.0.1:{args.port + 1}", "--workers", str(args.link_workers)),
            *("--worker-class", "sync", "--log-level", "warning"),
        ]
    return uvicorn_command(args, "saleor_sms_plugin.link_server:application", args.port + 1)


def uvicorn_command(args: argparse.Namespace, application: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        application,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


class Server:
    """An ASGI application under uvicorn for the length of a `with` block."""

    def __init__(self, command: list[str], env: dict[str, str], base_url: str) -> None:
        import saleor

        self.command = command
        self.cwd = Path(saleor.__file__).resolve().parent.parent
        self.env = {**os.environ, **env}
        self.base_url = base_url

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.command[3]} exited with {self.process.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", urlsplit(self.base_url).port)
                connection.request("GET", "/health/")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.5)
        sys.exit(f"{self.command[3]} did not start within two minutes")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def check_vouchers_applied(args: argparse.Namespace) -> None:
    """Both ways made checkouts with the voucher in their total."""
    from saleor.checkout.models import Checkout

    for prefix, name in (("bench-", "offer links"), ("storefront-", "storefront")):
        checkouts = Checkout.objects.filter(email__startswith=prefix).order_by("-created_at")[:20]
        applied = sum(
            1 for c in checkouts if c.voucher_code == VOUCHER_CODE and c.discount_amount > 0
        )
        print(f"{name}: voucher {VOUCHER_CODE} applied in {applied}/{len(checkouts)} sampled")


# Standalone -------------------------------------------------------------------------------


STANDALONE_DATABASE = "saleor_sms_links_bench"


def bench_standalone(args: argparse.Namespace) -> int:
    """Clicks against the standalone app and the in-memory gateway (no Saleor here)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "saleor_sms_plugin.standalone_settings",
            "SMS_DATABASE_NAME": STANDALONE_DATABASE,
            "SMS_CACHE_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        }
    )
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", STANDALONE_DATABASE],
        check=True,
    )
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", STANDALONE_DATABASE], check=True
    )
    import django
    from django.conf import settings

    django.setup()
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (10_000_000, 60)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    base_url = f"http://127.0.0.1:{args.port}"
    prepare_standalone_channel(args, base_url)
    paths = offer_link_paths(args, args.requests + args.warmup)
    print(
        f"No Saleor here: the standalone app (Django's threaded server) with the in-memory "
        f"checkout gateway, {os.cpu_count()} CPUs, {args.clients} concurrent clients",
        flush=True,
    )
    server = standalone_server(args.port)
    try:
        run_clients(base_url, args.clients, paths[: args.warmup], click)
        ours = figures(*run_clients(base_url, args.clients, paths[args.warmup :], click))
    finally:
        server.shutdown()
    print_figures("offer link click -> checkout -> 302", ours)
    print("storefront comparison: needs Saleor (checkoutCreate + checkoutAddPromoCode)")
    return 0


def prepare_standalone_channel(args: argparse.Namespace, base_url: str) -> None:
    from decimal import Decimal

    from saleor_sms_plugin import checkouts, conf
    from saleor_sms_plugin.constants import Flow
    from saleor_sms_plugin.models import ChannelConfiguration
    from saleor_sms_plugin.offers import DiscountType

    variant = "UHJvZHVjdFZhcmlhbnQ6MQ=="
    checkouts.store.add_product(
        checkouts.CatalogueProduct(variant, "Tee", {"USD": Decimal("20.00")})
    )
    checkouts.store.vouchers[VOUCHER_CODE] = checkouts.Discount(
        DiscountType.PERCENTAGE, Decimal(10)
    )
    offers = [
        {
            "id": "bench",
            "flow": Flow.POST_PURCHASE_OFFER.value,
            "kind": "products",
            "discount_type": "percentage",
            "discount_value": 10,
            "voucher_code": VOUCHER_CODE,
            "products": [variant],
        }
    ]
    ChannelConfiguration.objects.update_or_create(
        channel_slug=args.channel,
        defaults={
            "active": True,
            "currency": "USD",
            "default_country": "US",
            "values": {
                conf.PUBLIC_BASE_URL: base_url,
                conf.CHECKOUT_URL_TEMPLATE: STOREFRONT,
                conf.OFFERS: json.dumps(offers),
                conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
            },
        },
    )


def standalone_server(port: int) -> Any:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    sys.exit(main())
