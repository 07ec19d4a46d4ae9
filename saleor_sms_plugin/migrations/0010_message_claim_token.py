from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('saleor_sms_plugin', '0009_periodic_task_run'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='claim_token',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='message',
            name='renewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
