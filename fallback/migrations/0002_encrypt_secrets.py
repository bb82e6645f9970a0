"""Secrets encrypted at rest: widen the columns to text (no table rewrite: varchar to text is binary
coercible), then encrypt the existing values in place. The reverse decrypts, then narrows back."""

import tuco.fields
from tuco.secret_columns import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('fallback', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='fallbackconfig',
            name='ghl_api_token',
            field=tuco.fields.EncryptedCharField(blank=True, default='', max_length=500),
        ),
        migrations.AlterField(
            model_name='fallbackconfig',
            name='twilio_auth_token',
            field=tuco.fields.EncryptedCharField(blank=True, default='', max_length=128),
        ),
        migrations.AlterField(
            model_name='fallbackconfig',
            name='webhook_secret',
            field=tuco.fields.EncryptedCharField(blank=True, default='', max_length=200),
        ),
        encrypt_columns('fallback_fallbackconfig', ['twilio_auth_token', 'ghl_api_token', 'webhook_secret']),
    ]
