"""Drop the `varchar_pattern_ops` twins Django adds to every CharField key index.

Ids here are 24-hex ObjectIds that are only ever compared for equality, so the `_like` indexes
(for `LIKE 'abc%'` lookups) are never used, while every INSERT and non-HOT UPDATE of these rows
pays for them. Dropped CONCURRENTLY, one by one, outside a transaction: no exclusive lock is queued
behind running transactions. Django drops indexes with DROP INDEX IF EXISTS, so a later AlterField is
unaffected.
"""

from django.db import migrations

LIKE_INDEXES = [
    "messaging_message_id_762a91ea_like",
    "messaging_message_reply_to_id_f28e3285_like",
    "messaging_thread_id_2e65ddb8_like",
    "messaging_thread_lead_id_d3c49dc7_like",
    "messaging_thread_line_id_d878556f_like",
    "messaging_sendattempt_line_id_1c5a687a_like",
    "leads_lead_id_e1ac0735_like",
    "leads_lead_list_id_cf5307dc_like",
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0007_drop_redundant_fk_indexes"),
        ("leads", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.RunSQL(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"', reverse_sql=migrations.RunSQL.noop)
        for name in LIKE_INDEXES
    ]
