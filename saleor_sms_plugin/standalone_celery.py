"""A Celery app for running the core's tasks outside Saleor (demo, tests, benchmarks).

Inside Saleor, Saleor's own app (saleor.celeryconf) discovers the plugin's tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from celery import Celery

from saleor_sms_plugin import periodic

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_sms_plugin.standalone_settings")

app = Celery("saleor_sms_plugin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_sms_plugin"])
periodic.add_to_beat_schedule(app)


def start_worker(
    name: str,
    *,
    broker: str,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    app_module: str = __name__,
    stdout: int | None = None,
) -> subprocess.Popen[bytes]:
    """A `celery worker` of this app (or of the app in `app_module`, such as the demo's) in a
    process of its own, once it answers on `broker`. `stdout` as for `subprocess.Popen` (the
    worker's notices go there; its warnings and errors to stderr).

    One task at a time (`--pool=solo`), warnings only. Raises RuntimeError when the process
    exits or does not answer a ping within `timeout` seconds; the caller stops it
    (`terminate()`) when done.
    """
    hostname = f"{name}-{uuid.uuid4().hex[:8]}@%h"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "--quiet", "-A", app_module, "worker"),
            *("--pool=solo", "--concurrency=1", "--loglevel=WARNING"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("--hostname", hostname),
        ],
        cwd=cwd,
        env={**os.environ, **(env or {}), "CELERY_BROKER_URL": broker},
        stdout=stdout,
    )
    # A client app of its own: this process's app may hold connections to another broker. Not
    # made the current app, which the plugin's tasks publish through.
    with Celery(broker=broker, set_as_current=False) as pinger:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {worker.returncode}")
            if pinger.control.ping(timeout=0.5):
                return worker
    worker.terminate()
    worker.wait(timeout=15)
    raise RuntimeError("the Celery worker did not answer a ping in time")


def start_beat(
    *,
    broker: str,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.Popen[bytes]:
    """`celery beat` of this app with django-celery-beat's database scheduler, in a process of
    its own; the caller stops it (`terminate()`) when done."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "--quiet", "-A", __name__, "beat"),
            *("--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"),
            "--loglevel=WARNING",
        ],
        cwd=cwd,
        env={**os.environ, **(env or {}), "CELERY_BROKER_URL": broker},
    )
