"""`python -m saleor_sms_plugin demo`: the whole pipeline on this machine, without Saleor or Twilio.

Sample orders from two countries go through the real pipeline: the models in PostgreSQL, the
scheduling rules, a Celery worker on Redis running the plugin's tasks, the Twilio SDK talking to
the bundled Twilio-compatible server, and signed delivery callbacks back to the plugin's route.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

DEMO_DATABASE = "saleor_sms_demo"
ACCOUNT_SID = "AC" + "de60" * 8
AUTH_TOKEN = "demo" * 8
SENDER = "+14155550100"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("SMS_DATABASE_NAME", DEMO_DATABASE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "saleor_sms_plugin.standalone_settings"
    _create_database(os.environ["SMS_DATABASE_NAME"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from .testing import TwilioServer

    with TwilioServer(accounts={ACCOUNT_SID: AUTH_TOKEN}) as twilio, _callback_server() as base_url:
        _configure(twilio.base_url, base_url)
        with _worker(twilio.base_url) as worker_mode:
            messages = _place_orders()
            _wait_for_outcomes(messages, in_process=worker_mode == "in-process")
            _print_report(messages, twilio, worker_mode)
    return 0


def _create_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    server = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(server, autocommit=True) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        threading.Thread(target=self._handle, args=(request, client_address), daemon=True).start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def _callback_server() -> Iterator[str]:
    """The plugin's routes on loopback, where the Twilio-compatible server posts callbacks."""
    from django.core.wsgi import get_wsgi_application

    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), _ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _configure(api_url: str, public_base_url: str) -> None:
    from django.conf import settings

    from . import conf
    from .constants import Flow
    from .models import ChannelConfiguration, Message, Recipient

    settings.SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.twilio.TwilioBackend"
    settings.SALEOR_SMS_TWILIO_API_URL = api_url
    Message.objects.all().delete()
    Recipient.objects.all().delete()
    values = {
        conf.ACCOUNT_SID: ACCOUNT_SID,
        conf.AUTH_TOKEN: AUTH_TOKEN,
        conf.SENDER: SENDER,
        conf.PUBLIC_BASE_URL: public_base_url,
        conf.flow_switch(Flow.ORDER_CONFIRMATION): True,
    }
    for slug, country, currency in (("default-channel", "US", "USD"), ("channel-pln", "PL", "PLN")):
        ChannelConfiguration.objects.update_or_create(
            channel_slug=slug,
            defaults={
                "active": True,
                "values": values,
                "shop_name": "Acme Outfitters",
                "default_country": country,
                "currency": currency,
            },
        )


@contextmanager
def _worker(api_url: str) -> Iterator[str]:
    """A Celery worker process on Redis, or the same task code in this process without Redis."""
    from .standalone_celery import app, start_worker

    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    try:
        app.connection_for_write().ensure_connection(max_retries=1)
    except Exception as error:
        print(f"(Redis at {broker} is not reachable: {error}; running tasks in this process)")
        yield "in-process"
        return
    worker = start_worker(
        "sms-demo",
        broker=broker,
        env={
            "SALEOR_SMS_TWILIO_API_URL": api_url,
            "SALEOR_SMS_BACKEND": "saleor_sms_plugin.backends.twilio.TwilioBackend",
            "PYTHONWARNINGS": "ignore",
        },
        timeout=30,
    )
    try:
        yield "celery worker"
    finally:
        worker.terminate()
        worker.wait(timeout=15)


SAMPLE_ORDERS: tuple[dict[str, Any], ...] = (
    {
        "channel": "default-channel",
        "country": "US",
        "phone": "(201) 555-0123",
        "language": "en",
        "first_name": "Ada",
        "total": "59.90",
        "currency": "USD",
    },
    {
        "channel": "channel-pln",
        "country": "PL",
        "phone": "600 100 200",
        "language": "pl",
        "first_name": "Zofia",
        "total": "249.00",
        "currency": "PLN",
    },
    {
        "channel": "channel-pln",
        "country": "PL",
        "phone": "",
        "language": "pl",
        "first_name": "Jan",
        "total": "99.00",
        "currency": "PLN",
    },
)


def _place_orders() -> list[int]:
    import uuid

    from django.db import transaction
    from django.utils import timezone

    from .events import AddressSnapshot, OrderSnapshot
    from .handlers import on_order_placed

    ids: list[int] = []
    for number, sample in enumerate(SAMPLE_ORDERS, start=1001):
        address = AddressSnapshot(
            first_name=sample["first_name"], phone=sample["phone"], country=sample["country"]
        )
        order = OrderSnapshot(
            id=str(uuid.uuid4()),
            number=str(number),
            channel_slug=sample["channel"],
            email=f"{sample['first_name'].lower()}@example.com",
            total=Decimal(sample["total"]),
            currency=sample["currency"],
            created_at=timezone.now(),
            language_code=sample["language"],
            billing_address=address,
            shipping_address=address,
        )
        with transaction.atomic():  # as in Saleor: the hook runs inside the order's transaction
            ids.extend(message.id for message in on_order_placed(order))
    return ids


def _wait_for_outcomes(ids: list[int], *, in_process: bool, timeout: float = 30.0) -> None:
    from .constants import Status
    from .models import Message
    from .tasks import send_message_task

    due_now = Message.objects.filter(id__in=ids, status=Status.SCHEDULED)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = Message.objects.filter(
            id__in=ids, status__in=[Status.SCHEDULED, Status.SENDING, Status.SENT]
        ).exclude(due_at__gt=_now() + timedelta(seconds=1))
        if not waiting.exists():
            return
        if in_process and due_now.exists():
            for message_id in due_now.values_list("id", flat=True):
                send_message_task.apply(args=[message_id])
        time.sleep(0.2)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _print_report(ids: list[int], twilio: Any, worker_mode: str) -> None:
    from .models import Message

    print(f"\nSent by a {worker_mode} through the Twilio SDK to {twilio.base_url}\n")
    for message in Message.objects.filter(id__in=ids).select_related("recipient").order_by("id"):
        phone = message.recipient.phone if message.recipient else "-"
        when = message.sent_at.strftime("%H:%M:%S") if message.sent_at else "-"
        print(f"order {message.order_number} [{message.channel_slug}] {message.flow}")
        print(
            f"  to {phone} at {when}, language {message.language or '-'}, "
            f"{message.segments} segment(s), status {message.status}"
            + (f" ({message.reason})" if message.reason else "")
        )
        if message.body:
            print("  " + message.body.replace("\n", "\n  "))
    print(f"\n{len(twilio.messages)} text(s) reached the Twilio-compatible server.")
