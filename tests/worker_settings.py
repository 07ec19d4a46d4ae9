"""Settings for the Celery worker process that end-to-end tests start."""

import os

from saleor_sms_plugin.standalone_settings import *  # noqa: F403

# Concurrent sends per batch, when a test wants a batch to take several rounds.
if os.environ.get("SALEOR_SMS_CONCURRENCY"):
    SALEOR_SMS_CONCURRENCY = int(os.environ["SALEOR_SMS_CONCURRENCY"])
