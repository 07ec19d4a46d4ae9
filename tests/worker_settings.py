"""Settings for the Celery worker process that end-to-end tests start.

The test passes `SALEOR_SMS_*` values through the environment, which the plugin reads.
"""

from saleor_sms_plugin.standalone_settings import *  # noqa: F403
