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

        from django.db.models.signals import post_migrate

        from .periodic import register_periodic_tasks

        post_migrate.connect(register_periodic_tasks, sender=self)

        from .scheduling import stop_offers_after_conversion
        from .signals import conversion

        conversion.connect(stop_offers_after_conversion, dispatch_uid="sms-stop-offers")

        from django.apps import apps

        if apps.is_installed("saleor.plugins"):
            from .plugin import follow_customer_accounts

            follow_customer_accounts()
