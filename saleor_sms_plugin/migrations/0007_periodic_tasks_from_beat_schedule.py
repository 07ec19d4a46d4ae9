"""The periodic tasks now reach the scheduler through the Celery app's beat schedule.

Earlier versions wrote them into django-celery-beat's `PeriodicTask` table after every
migration. Saleor's beat never runs rows of that table alone, and when it starts it creates its
own rows under the same names, which a leftover row would collide with: remove them. A
standalone django-celery-beat scheduler writes them anew from the beat schedule when it starts.
"""

from django.db import migrations

OLD_NAMES = (
    "saleor-sms-plugin: send due messages",
    "saleor-sms-plugin: prepare offer checkouts",
    "saleor-sms-plugin: forward replies, purge old texts",
)


def remove_rows_written_after_migrating(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:  # django-celery-beat is not installed, or not migrated yet
        return
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name__in=OLD_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [("saleor_sms_plugin", "0006_offer_link_prepare_after")]

    operations = [
        migrations.RunPython(remove_rows_written_after_migrating, migrations.RunPython.noop)
    ]
