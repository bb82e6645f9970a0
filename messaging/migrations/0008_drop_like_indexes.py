"""Drop the `varchar_pattern_ops` twins Django adds to every CharField key index.

Ids here are 24-hex ObjectIds that are only ever compared for equality, so the `_like` indexes
(for `LIKE 'abc%'` lookups) are never used, while every INSERT and non-HOT UPDATE of these rows
pays for them. Dropped CONCURRENTLY, one by one, outside a transaction: no exclusive lock is queued
behind running transactions. Django drops indexes with DROP INDEX IF EXISTS, so a later AlterField is
unaffected.
"""

from django.db import migrations

from tuco.migration_ops import drop_index_concurrently

# (table, column, index name) of the `varchar_pattern_ops` twins that stay unused.
LIKE_INDEXES = [
    ("messaging_message", "id", "messaging_message_id_762a91ea_like"),
    ("messaging_message", "reply_to_id", "messaging_message_reply_to_id_f28e3285_like"),
    ("messaging_thread", "id", "messaging_thread_id_2e65ddb8_like"),
    ("messaging_thread", "lead_id", "messaging_thread_lead_id_d3c49dc7_like"),
    ("messaging_thread", "line_id", "messaging_thread_line_id_d878556f_like"),
    ("messaging_sendattempt", "line_id", "messaging_sendattempt_line_id_1c5a687a_like"),
    ("leads_lead", "id", "leads_lead_id_e1ac0735_like"),
    ("leads_lead", "list_id", "leads_lead_list_id_cf5307dc_like"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0007_drop_redundant_fk_indexes"),
        ("leads", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [drop_index_concurrently(table, column, name, pattern_ops=True)
                  for table, column, name in LIKE_INDEXES]
