from saleor_sms_plugin.standalone_settings import *  # noqa: F403

SALEOR_SMS_BACKEND = "saleor_sms_plugin.backends.locmem.LocmemBackend"
