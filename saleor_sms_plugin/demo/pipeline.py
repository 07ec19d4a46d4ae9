"""The parts the demo runs on: its own database, the plugin's routes, a Celery worker.

Nothing here is a stand-in: the database is PostgreSQL, the routes are the plugin's own Django
views served over HTTP on loopback, the worker is a `celery worker` process on Redis.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

DATABASE_VARIABLE = "SMS_DEMO_DATABASE_NAME"
DEFAULT_DATABASE = "saleor_sms_demo"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def database_name() -> str:
    return os.environ.get(DATABASE_VARIABLE) or DEFAULT_DATABASE


def recreate_database(name: str) -> None:
    """Drop the demo's database (closing what is connected to it) and create it empty.

    Raises RuntimeError when PostgreSQL cannot be reached."""
    import psycopg
    from psycopg import sql

    server = "host={} port={} user={} dbname=postgres".format(
        os.environ.get("PGHOST", "127.0.0.1"),
        os.environ.get("PGPORT", "5432"),
        os.environ.get("PGUSER", "postgres"),
    )
    try:
        db = psycopg.connect(server, autocommit=True)
    except psycopg.OperationalError as error:
        raise RuntimeError(f"PostgreSQL cannot be reached ({error})") from error
    with db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
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
def serve(application: Any) -> Iterator[str]:
    """A WSGI application on loopback, a thread per request; yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, application, _ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER


def require_broker() -> None:
    """Raises RuntimeError, saying what to start, when Redis cannot be reached."""
    from ..standalone_celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        raise RuntimeError(
            f"Redis at {broker_url()} cannot be reached ({error}): start Redis, or point "
            "CELERY_BROKER_URL at one"
        ) from error


@contextmanager
def worker(env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The demo's Celery worker process, on a queue of this run's own; stopped on the way out."""
    from ..standalone_celery import app, start_worker
    from .worker import DEFAULT_QUEUE, QUEUE_VARIABLE

    broker = broker_url()
    queue = os.environ.get(QUEUE_VARIABLE) or DEFAULT_QUEUE
    process = start_worker(
        "sms-demo",
        broker=broker,
        env={**env, QUEUE_VARIABLE: queue, "PYTHONWARNINGS": "ignore"},
        timeout=60,
        app_module="saleor_sms_plugin.demo.worker",
        stdout=subprocess.DEVNULL,  # its shutdown notice; warnings and errors still show
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _delete_queue(app, queue)


def new_queue_name() -> str:
    return f"saleor-sms-demo-{uuid.uuid4().hex[:12]}"


def _delete_queue(app: Any, name: str) -> None:
    """Remove the run's queue and the exchange Celery made for it from the broker."""
    from kombu import Exchange, Queue

    with app.connection_for_write() as connection:
        # Declared here first: kombu forgets only the bindings this connection knows of.
        queue = Queue(name, Exchange(name), routing_key=name).bind(connection.default_channel)
        queue.declare()
        queue.delete()
