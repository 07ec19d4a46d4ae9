import os

from saleor_sms_plugin.standalone_settings import *  # noqa: F403

SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
# Tasks a test publishes without starting a worker go to the test Redis database (which the
# worker fixture empties), not to database 0 that the demo and other runs use.
CELERY_BROKER_URL = f"redis://127.0.0.1:6379/{os.environ.get('SMS_TEST_REDIS_DB', '9')}"
