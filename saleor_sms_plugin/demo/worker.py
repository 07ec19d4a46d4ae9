"""The demo's Celery app: the standalone app with the plugin's tasks, on the simulated clock.

`celery -A saleor_sms_plugin.demo.worker worker` runs the plugin's own tasks exactly as the
standalone app does. Tasks travel on a queue of the demo's own (`SALEOR_SMS_DEMO_QUEUE`), so a
demo never hands work to another worker on the same Redis, and results come back through the
broker, so the demo knows when the worker has done what was due.
"""

from __future__ import annotations

import os

from django.utils import timezone

from ..standalone_celery import app
from . import clock

QUEUE_VARIABLE = "SALEOR_SMS_DEMO_QUEUE"
DEFAULT_QUEUE = "saleor-sms-demo"

clock.install()
app.conf.task_default_queue = os.environ.get(QUEUE_VARIABLE) or DEFAULT_QUEUE
app.conf.result_backend = app.conf.broker_url
app.conf.result_expires = 600


# Bound to this app, not the current one: a ping client made meanwhile would be current.
@app.task(name="saleor_sms_plugin.demo.clock_reading")
def clock_reading() -> str:
    """The worker's time, once every task queued before this one is done."""
    return timezone.now().isoformat()


__all__ = ["app", "clock_reading"]
