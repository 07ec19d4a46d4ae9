"""A Celery app for running the core's tasks outside Saleor (demo, tests).

Inside Saleor, Saleor's own app (saleor.celeryconf) discovers the plugin's tasks.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_sms_plugin.standalone_settings")

app = Celery("saleor_sms_plugin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_sms_plugin"])
