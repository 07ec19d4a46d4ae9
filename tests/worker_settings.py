"""Settings for the Celery worker process that end-to-end tests start."""

from saleor_sms_plugin.standalone_settings import *  # noqa: F403
