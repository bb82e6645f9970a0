"""Secrets encrypted at rest: widen the columns to text (no table rewrite: varchar to text is binary
coercible), then encrypt the existing values in place. The reverse decrypts, then narrows back."""

import tuco.fields
from tuco.secret_columns import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tuco', '0002_webhooks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='webhookendpoint',
            name='secret',
            field=tuco.fields.EncryptedCharField(max_length=100),
        ),
        encrypt_columns('tuco_webhookendpoint', ['secret']),
    ]
