from django.apps import AppConfig


class SaleorSmsPluginConfig(AppConfig):
    name = "saleor_sms_plugin"
    label = "saleor_sms_plugin"
    verbose_name = "SMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from .checks import check_sending_settings

        checks.register(check_sending_settings)

        from .scheduling import stop_offers_after_conversion
        from .signals import conversion

        conversion.connect(stop_offers_after_conversion, dispatch_uid="sms-stop-offers")
        self._register_inbox_handlers()

        from django.apps import apps

        if apps.is_installed("saleor.plugins"):
            from .plugin import follow_customer_accounts, run_periodic_tasks_in_saleor_beat

            follow_customer_accounts()
            run_periodic_tasks_in_saleor_beat()

    def _register_inbox_handlers(self) -> None:
        """The core's own event inbox handlers, in web and worker processes alike."""
        from . import handlers  # noqa: F401 - registers them when imported
