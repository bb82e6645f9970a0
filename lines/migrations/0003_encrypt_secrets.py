"""Secrets encrypted at rest: widen the columns to text (no table rewrite: varchar to text is binary
coercible), then encrypt the existing values in place. The reverse decrypts, then narrows back."""

import lines.models
import tuco.fields
from tuco.secret_columns import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('lines', '0002_device_chat_guid_prefix_device_os_version_and_more'),
    ]

    operations = [
        migrations.AlterField(
            model_name='device',
            name='relay_password',
            field=tuco.fields.EncryptedCharField(max_length=500),
        ),
        migrations.AlterField(
            model_name='line',
            name='smtp_password',
            field=tuco.fields.EncryptedCharField(blank=True, default='', max_length=500),
        ),
        migrations.AlterField(
            model_name='line',
            name='webhook_secret',
            field=tuco.fields.EncryptedCharField(default=lines.models._webhook_secret, max_length=64),
        ),
        encrypt_columns('lines_device', ['relay_password']),
        encrypt_columns('lines_line', ['smtp_password', 'webhook_secret']),
    ]
