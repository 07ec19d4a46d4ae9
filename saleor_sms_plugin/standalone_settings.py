"""Django settings for running the plugin's core without Saleor: the demo and the test suite.

Inside Saleor the app is added to Saleor's own settings; nothing here is used there.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "saleor-sms-plugin-standalone-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_celery_beat",
    "saleor_sms_plugin",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("SMS_DATABASE_NAME", "saleor_sms_plugin"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "TEST": {"NAME": os.environ.get("SMS_TEST_DATABASE_NAME", "test_saleor_sms_plugin")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ROOT_URLCONF = "saleor_sms_plugin.urls"
# The plugin serves no static files, but Django's live test server expects the setting.
STATIC_URL = "static/"
MIDDLEWARE: list[str] = []
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"saleor_sms_plugin": {"handlers": ["console"], "level": "WARNING"}},
}

# Offer links count clicks per client here (rate limiting); Saleor configures its own cache.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("SMS_CACHE_URL", "redis://127.0.0.1:6379/1"),
        "KEY_PREFIX": "saleor-sms",
    }
}
