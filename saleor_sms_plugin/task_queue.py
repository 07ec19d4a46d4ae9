"""Handing work to a Celery worker from a request, without making the request wait on the broker.

Whatever a request hands over is already stored (an event in the inbox, a text due now): the
task only makes a worker start at once instead of at the next periodic run. So a publish that
cannot be made quickly is given up and logged, never retried and never raised. Celery's own
defaults would retry a failed publish three times (about 0.6 s) and let a lost connection
retry for seconds more, inside the shopper's request.

Publishes go through a pool of broker connections of the plugin's own, with short timeouts,
so Saleor's broker settings (which its own tasks use) stay as they are. After a failed publish
the process hands nothing to the broker for `SALEOR_SMS_PUBLISH_PAUSE`: a broker that drops
packets would otherwise cost every request the whole timeout.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any

from celery import Celery, Task
from kombu.connection import ConnectionPool
from kombu.exceptions import KombuError, LimitExceeded

from .settings import get_setting

logger = logging.getLogger(__name__)

# time.monotonic() until which nothing is published; process-wide, like the pool.
_paused_until = 0.0


def enqueue(task: Task, *args: Any) -> bool:
    """Publish `task(*args)` for a worker; True once the broker has taken it.

    False when the broker did not take it within `SALEOR_SMS_PUBLISH_TIMEOUT`, or while
    publishing is paused after such a failure: the caller's work must be stored so that a
    periodic task finds it. Never raises.
    """
    if time.monotonic() < _paused_until:
        return False
    timeout: float = get_setting("SALEOR_SMS_PUBLISH_TIMEOUT")
    try:
        broker = task.app.conf.broker_write_url or task.app.conf.broker_url
        pool = _pool(task.app, broker, timeout, os.getpid())
        with pool.acquire(block=True, timeout=timeout) as connection:
            _publish(task, args, connection)
    except LimitExceeded:
        # Every connection of the pool stayed busy: the process is busy, the broker may be fine.
        logger.warning("No broker connection free for %s%r; a periodic task will", task.name, args)
        return False
    except (KombuError, OSError) as error:
        _pause()
        logger.warning(
            "The broker did not take %s%r (a periodic task will): %s",
            *(task.name, args, error),
        )
        return False
    except Exception:
        # A bug, not an outage; the request goes on all the same, as the work is stored.
        logger.exception("Could not publish %s%r; a periodic task will run it", task.name, args)
        return False
    return True


class Published:
    """What a publish returns here: the task's id, and no result to wait for."""

    def __init__(self, task_id: str) -> None:
        self.id = task_id
        self.ignored = True


def _publish(task: Task, args: tuple[Any, ...], connection: Any) -> None:
    if task.app.conf.task_always_eager:
        task.apply_async(args)  # runs it here and now, as Celery's eager mode does
        return
    # Not `apply_async`: it makes an AsyncResult, which looks the result backend up once per
    # thread, about 10 ms of CPU (every request has a thread of its own under Django's ASGI
    # handler), for a result nobody reads. Measured: +8 ms per checkoutComplete, 4 % of it.
    task.app.send_task(
        task.name,
        args,
        connection=connection,
        retry=False,
        ignore_result=True,
        result_cls=Published,
    )


def resume() -> None:
    """Publish again at once (after a pause that followed a failure)."""
    global _paused_until
    _paused_until = 0.0


def _pause() -> None:
    global _paused_until
    pause = get_setting("SALEOR_SMS_PUBLISH_PAUSE").total_seconds()
    _paused_until = time.monotonic() + pause


@functools.lru_cache(maxsize=8)
def _pool(app: Celery, broker_url: str | None, timeout: float, pid: int) -> ConnectionPool:
    """Broker connections that give up quickly, one pool per process (a forked web worker must
    not share its parent's sockets), app, broker and timeout."""
    connection = app.connection_for_write(
        broker_url,
        connect_timeout=timeout,
        transport_options={
            # One attempt at connecting: kombu's default sleeps 2 s between attempts.
            "max_retries": 0,
            # Redis (the socket options are unset by default: wait forever).
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            # RabbitMQ (py-amqp)
            "read_timeout": timeout,
            "write_timeout": timeout,
        },
    )
    return connection.Pool(limit=app.conf.broker_pool_limit)
