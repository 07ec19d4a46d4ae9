"""Shared fixtures: real PostgreSQL rows, the Twilio-compatible server, a real Celery worker."""

from __future__ import annotations

import functools
import itertools
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from saleor_sms_plugin import conf
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.events import AddressSnapshot, OrderLineSnapshot, OrderSnapshot
from saleor_sms_plugin.models import ChannelConfiguration

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SENDER = "+14155550100"

CHANNELS: dict[str, dict[str, str]] = {
    "default-channel": {
        "shop_name": "Acme Outfitters",
        "default_country": "US",
        "currency": "USD",
    },
    "channel-pln": {"shop_name": "Acme Outfitters", "default_country": "PL", "currency": "PLN"},
}

TEE_VARIANT = "UHJvZHVjdFZhcmlhbnQ6MQ=="
PHONES = {"US": "+1 201 555 0123", "PL": "+48 600 100 200", "DE": "+49 151 23456789"}


@pytest.fixture(autouse=True)
def _empty_outbox() -> Iterator[None]:
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


def channel_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        conf.ACCOUNT_SID: ACCOUNT_SID,
        conf.AUTH_TOKEN: AUTH_TOKEN,
        conf.SENDER: SENDER,
        conf.flow_switch(Flow.ORDER_CONFIRMATION): True,
    }
    values.update(overrides)
    return values


@pytest.fixture
def configure_channel(db: None) -> Callable[..., ChannelConfiguration]:
    """Store a channel's configuration; keyword arguments override configuration values."""

    def configure(
        slug: str = "default-channel", *, active: bool = True, **overrides: Any
    ) -> ChannelConfiguration:
        facts = CHANNELS.get(slug, CHANNELS["default-channel"])
        row, _ = ChannelConfiguration.objects.update_or_create(
            channel_slug=slug,
            defaults={"active": active, "values": channel_values(**overrides), **facts},
        )
        return row

    return configure


@pytest.fixture
def channel(configure_channel: Callable[..., ChannelConfiguration]) -> ChannelConfiguration:
    return configure_channel()


_order_numbers = itertools.count(1000)


def make_order(
    *,
    channel_slug: str = "default-channel",
    country: str = "US",
    phone: str | None = None,
    language_code: str = "en",
    total: str = "59.90",
    currency: str = "USD",
    first_name: str = "Ada",
    email: str = "ada@example.com",
    user_id: str = "",
    created_at: datetime | None = None,
    country_area: str = "",
    **extra: Any,
) -> OrderSnapshot:
    address = AddressSnapshot(
        first_name=first_name,
        last_name="Lovelace",
        phone=PHONES.get(country, "") if phone is None else phone,
        country=country,
        country_area=country_area,
        city="Springfield",
        postal_code="12345",
        street_address_1="1 Main Street",
    )
    return OrderSnapshot(
        id=str(uuid.uuid4()),
        number=str(next(_order_numbers)),
        channel_slug=channel_slug,
        email=email,
        total=Decimal(total),
        currency=currency,
        created_at=created_at or timezone.now(),
        language_code=language_code,
        user_id=user_id,
        billing_address=address,
        shipping_address=address,
        lines=(OrderLineSnapshot(variant_id=TEE_VARIANT, product_name="Tee", quantity=1),),
        **extra,
    )


@pytest.fixture
def order_factory() -> Callable[..., OrderSnapshot]:
    return make_order


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[Any]:
    """The Twilio-compatible server on loopback, shared by the session, reset per use."""
    from saleor_sms_plugin.testing import TwilioServer

    server = TwilioServer(accounts={ACCOUNT_SID: AUTH_TOKEN})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def twilio(twilio_server: Any, settings: Any) -> Iterator[Any]:
    """Send through the real Twilio SDK to the loopback server."""
    twilio_server.reset()
    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.twilio.TwilioBackend"
    settings.SALEOR_SMS_TWILIO_API_URL = twilio_server.base_url
    yield twilio_server
    twilio_server.reset()


def _redis_db() -> int:
    return int(os.environ.get("SMS_TEST_REDIS_DB", "9"))


def use_broker(settings: Any, broker: str) -> None:
    """Make this process's Celery app (what the core publishes through) use `broker`."""
    from saleor_sms_plugin.standalone_celery import app

    app.set_current()  # the app the plugin's tasks publish through
    settings.CELERY_BROKER_URL = broker
    app.conf.CELERY_BROKER_URL = broker
    # The app's connection pools belong to the broker they were made for; the app reads its
    # settings through Django's, so it may see the new broker already while its pools do not.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def publish_to(settings: Any) -> Iterator[Callable[[str], None]]:
    """`publish_to(url)`: this process publishes tasks to `url` until the test ends."""
    from saleor_sms_plugin.standalone_celery import app

    before = app.conf.broker_url
    yield functools.partial(use_broker, settings)
    use_broker(settings, before)


@pytest.fixture
def refusing_broker(publish_to: Callable[[str], None]) -> Iterator[str]:
    """This process publishes to an address that refuses connections (a port bound, not
    listening): for tests that run the work themselves and want no task published anywhere."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        publish_to(url)
        yield url


@pytest.fixture
def celery_worker_factory(
    settings: Any, django_db_blocker: Any
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real Celery workers in their own processes, on the test database.

    `start(broker=None)` uses the real Redis (`SMS_TEST_REDIS_DB`) unless given another broker
    URL. Tests using it need `transactional_db` so the workers see committed rows.
    """

    from saleor_sms_plugin.standalone_celery import app, start_worker

    workers: list[subprocess.Popen[bytes]] = []
    broker_before = app.conf.broker_url

    def start(broker: str | None = None) -> subprocess.Popen[bytes]:
        broker = broker or f"redis://127.0.0.1:6379/{_redis_db()}"
        use_broker(settings, broker)
        app.connection_for_write().default_channel.client.flushdb()
        worker = start_worker("sms-test", broker=broker, cwd=ROOT, env=process_env(settings))
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        stop_process(worker)
    use_broker(settings, broker_before)


def process_env(settings: Any) -> dict[str, str]:
    """The environment of a worker or beat process working on the test database."""
    from django.db import connection

    return {
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "SMS_DATABASE_NAME": connection.settings_dict["NAME"],
        "SALEOR_SMS_TWILIO_API_URL": settings.SALEOR_SMS_TWILIO_API_URL or "",
        "SALEOR_SMS_BACKEND": settings.SALEOR_SMS_BACKEND or "",
        "PYTHONPATH": str(ROOT),
    }


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def celery_worker_process(
    celery_worker_factory: Callable[..., subprocess.Popen[bytes]],
) -> subprocess.Popen[bytes]:
    """A real Celery worker in its own process, on the real Redis broker and the test database.

    Tests using it need `transactional_db` so the worker sees committed rows.
    """
    return celery_worker_factory()


@pytest.fixture
def celery_beat_process(
    celery_worker_process: subprocess.Popen[bytes], settings: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """Celery beat with django-celery-beat's database scheduler in its own process, beside a
    real worker, on the real Redis broker and the test database."""
    from saleor_sms_plugin.standalone_celery import start_beat

    beat = start_beat(broker=settings.CELERY_BROKER_URL, cwd=ROOT, env=process_env(settings))
    yield beat
    stop_process(beat)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    """A Redis server of the test's own, which it may stop and start again (never the shared
    one, which other runs use)."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10)

    def stop(self) -> None:
        """Kill the server: what it held (queued tasks) goes with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False
        )
        return result.stdout.strip() == "PONG"


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A running Redis on a free port, stopped after the test."""
    redis = PrivateRedis(free_port())
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(autouse=True)
def _publishing_resumed() -> Iterator[None]:
    """A broker failure in one test must not pause publishing in the next."""
    from saleor_sms_plugin import task_queue

    task_queue.resume()
    yield
    task_queue.resume()


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


SENT_STATUSES = {"sent", "delivered", "undelivered"}


@pytest.fixture
def message_factory(db: None) -> Callable[..., Any]:
    """Store a message as the dispatcher and the provider's callbacks would leave it.

    `at` is when it went out (or is due); `sent` defaults to the status implying the provider
    accepted it; `revenue` marks it clicked and converted.
    """
    from saleor_sms_plugin.models import Message

    def create(
        flow: str = Flow.ORDER_CONFIRMATION,
        status: str = "sent",
        *,
        channel_slug: str = "default-channel",
        at: datetime | None = None,
        sent: bool | None = None,
        segments: int = 1,
        clicked: bool = False,
        revenue: str | None = None,
        currency: str = "USD",
        **fields: Any,
    ) -> Message:
        at = at or timezone.now()
        sent = str(status) in SENT_STATUSES if sent is None else sent
        values: dict[str, Any] = {
            "channel_slug": channel_slug,
            "flow": str(flow),
            "dedupe_key": f"test:{uuid.uuid4()}",
            "status": str(status),
            "due_at": at,
            "body": "Hello from Acme Outfitters" if sent else "",
            "segments": segments if sent else 0,
            "provider_id": f"SM{uuid.uuid4().hex}" if sent else None,
            "sent_at": at if sent else None,
            "delivered_at": at if str(status) == "delivered" else None,
            "clicked_at": at if clicked or revenue else None,
            "converted_at": at if revenue else None,
            "revenue": Decimal(revenue) if revenue else None,
            "revenue_currency": currency if revenue else "",
        }
        values.update(fields)
        return Message.objects.create(**values)

    return create


GRAPHQL_PERMISSIONS = ("MANAGE_ORDERS",)


@pytest.fixture
def staff_token() -> Callable[..., str]:
    """A signed token (the stand-in for Saleor's tokens outside Saleor) for a viewer."""
    from saleor_sms_plugin import auth

    def issue(
        *permissions: str,
        kind: str = "staff",
        id: str = "VXNlcjox",
        email: str = "staff@example.com",
    ) -> str:
        return auth.issue_token(kind, id, permissions=permissions, email=email)

    return issue


@pytest.fixture
def graphql(client: Any, staff_token: Callable[..., str]) -> Callable[..., Any]:
    """POST a query to a channel's GraphQL route; by default as staff with MANAGE_ORDERS.

    Returns the decoded JSON answer (with the HTTP status under "status").
    """

    def execute(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = "",
        channel_slug: str = "default-channel",
    ) -> dict[str, Any]:
        headers = {}
        token = staff_token(*GRAPHQL_PERMISSIONS) if token == "" else token
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        response = client.post(
            f"/plugins/channel/{channel_slug}/{conf.PLUGIN_ID}/graphql/",
            data={"query": query, "variables": variables or {}},
            content_type="application/json",
            **headers,
        )
        return {"status": response.status_code, **response.json()}

    return execute


EXAMPLE_RE = re.compile(r"<!-- example: (?P<name>\w+) -->\s*```python\n(?P<code>.*?)```", re.S)


@pytest.fixture
def docs_example() -> Iterator[Callable[[str], dict[str, Any]]]:
    """Run a code example of docs/extending.md; returns its namespace.

    Receivers it connects and custom flows it registers are removed after the test.
    """
    from django.dispatch import Signal

    from saleor_sms_plugin import registry, signals

    examples = {
        match["name"]: match["code"]
        for match in EXAMPLE_RE.finditer((ROOT / "docs" / "extending.md").read_text("utf-8"))
    }
    namespaces: list[dict[str, Any]] = []
    flows_before = {flow.name for flow in registry.registered_flows()}

    def run(name: str) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": f"docs_example_{name}"}
        exec(compile(examples[name], f"docs/extending.md ({name})", "exec"), namespace)  # noqa: S102
        namespaces.append(namespace)
        return namespace

    yield run
    all_signals = [value for value in vars(signals).values() if isinstance(value, Signal)]
    for namespace in namespaces:
        for value in namespace.values():
            if callable(value):
                for signal in all_signals:
                    signal.disconnect(value)
    for flow in registry.registered_flows():
        if flow.name not in flows_before:
            registry.unregister_flow(flow.name)


# Offer links --------------------------------------------------------------------------------

STOREFRONT = "https://shop.example.com"
CHECKOUT_URL_TEMPLATE = STOREFRONT + "/{channel}/{language}/checkout?checkout={checkout_id}"
MUG_VARIANT = "UHJvZHVjdFZhcmlhbnQ6Mg=="
CAP_VARIANT = "UHJvZHVjdFZhcmlhbnQ6Mw=="
SOCKS_VARIANT = "UHJvZHVjdFZhcmlhbnQ6NA=="
UNIQUE_VOUCHER = "Vm91Y2hlcjo3"
OFFERS: list[dict[str, Any]] = [
    {
        "id": "thanks15",
        "flow": "post_purchase_offer",
        "step": 1,
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 15,
        "voucher_code": "THANKS15",
    },
    {
        "id": "pick-one",
        "flow": "post_purchase_offer",
        "step": 2,
        "kind": "choice",
        "discount_type": "percentage",
        "discount_value": 20,
        "voucher_id": UNIQUE_VOUCHER,
        "products": [MUG_VARIANT, CAP_VARIANT, SOCKS_VARIANT],
    },
    {
        "id": "mug-deal",
        "flow": "post_purchase_offer",
        "step": 3,
        "kind": "products",
        "discount_type": "fixed",
        "discount_value": "5",
        "voucher_code": "FIVEOFF",
        "products": [MUG_VARIANT],
        "lifetime_days": 1,
    },
]


@pytest.fixture
def link_cache(settings: Any) -> Iterator[Any]:
    """Click rate limits counted in the real Redis (SMS_TEST_REDIS_DB), emptied around a test."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:6379/{_redis_db()}",
            "KEY_PREFIX": "sms-test",
        }
    }
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def checkout_store(settings: Any) -> Iterator[Any]:
    """The in-memory checkout gateway with four products and the offers' vouchers."""
    from saleor_sms_plugin import checkouts
    from saleor_sms_plugin.offers import DiscountType

    settings.SALEOR_SMS_CHECKOUT_GATEWAY = checkouts.LOCMEM_GATEWAY
    store = checkouts.store
    store.clear()
    for variant, name, usd, pln in (
        (TEE_VARIANT, "Tee", "20.00", "80.00"),
        (MUG_VARIANT, "Enamel mug", "12.00", "49.00"),
        (CAP_VARIANT, "Canvas cap", "18.50", "75.00"),
        (SOCKS_VARIANT, "Wool socks", "9.90", "39.00"),
    ):
        store.add_product(
            checkouts.CatalogueProduct(variant, name, {"USD": Decimal(usd), "PLN": Decimal(pln)})
        )
    store.channel_currencies.update({"default-channel": "USD", "channel-pln": "PLN"})
    store.vouchers["THANKS15"] = checkouts.Discount(DiscountType.PERCENTAGE, Decimal(15))
    store.vouchers["FIVEOFF"] = checkouts.Discount(DiscountType.FIXED, Decimal(5))
    store.voucher_sources[UNIQUE_VOUCHER] = checkouts.Discount(DiscountType.PERCENTAGE, Decimal(20))
    yield store
    store.clear()


WIN_BACK_OFFERS: list[dict[str, Any]] = [
    {
        "id": "comeback",
        "flow": "win_back",
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 10,
        "voucher_code": "COMEBACK10",
    }
]


def offer_links(offers: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration values that give texts these offers, with links to the storefront."""
    import json

    return {
        conf.PUBLIC_BASE_URL: "https://api.example.com",
        conf.CHECKOUT_URL_TEMPLATE: CHECKOUT_URL_TEMPLATE,
        conf.STORE_URL: STOREFRONT + "/{channel}/{language}/",
        conf.OFFERS: json.dumps(offers),
    }


def offer_channel_values(**overrides: Any) -> dict[str, Any]:
    """Configuration with post-purchase offers on, and links leading to the storefront."""
    values: dict[str, Any] = {
        conf.flow_switch(Flow.ORDER_CONFIRMATION): False,
        conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
        conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
        **offer_links(OFFERS),
    }
    values.update(overrides)
    return values


@pytest.fixture
def offers_channel(
    configure_channel: Callable[..., ChannelConfiguration], checkout_store: Any, link_cache: Any
) -> Callable[..., ChannelConfiguration]:
    """Configure a channel for offer links (keyword arguments override values)."""

    def configure(slug: str = "default-channel", **overrides: Any) -> ChannelConfiguration:
        return configure_channel(slug, **offer_channel_values(**overrides))

    configure()
    return configure


OFFER_ORDER_PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)  # 14:00 in Warsaw


@pytest.fixture
def offer_order(order_factory: Callable[..., OrderSnapshot]) -> Callable[[int], Any]:
    """An order in Poland (Polish) with consent; `send(step)` sends its offer `step` at its
    due time and returns the message as recorded. `send.order` is the order."""
    from saleor_sms_plugin import dispatch, handlers
    from saleor_sms_plugin.models import Message

    order = order_factory(
        country="PL",
        language_code="pl",
        created_at=OFFER_ORDER_PLACED,
        metadata={"sms_marketing_consent": "true"},
    )
    handlers.on_order_placed(order)

    def send(step: int) -> Any:
        message = Message.objects.get(order_id=order.id, step=step)
        dispatch.send_message(message.pk, now=message.due_at + timedelta(seconds=1))
        message.refresh_from_db()
        return message

    send.order = order  # type: ignore[attr-defined]
    return send
