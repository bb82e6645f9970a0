"""Drop the `varchar_pattern_ops` twins Django adds to every CharField key index.

Ids here are 24-hex ObjectIds that are only ever compared for equality, so the `_like` indexes
(for `LIKE 'abc%'` lookups) are never used, while every INSERT and non-HOT UPDATE of these rows
pays for them. Django drops indexes with DROP INDEX IF EXISTS, so a later AlterField is unaffected.
"""

from django.db import migrations

HOT_TABLES = ("messaging_message", "messaging_thread", "messaging_messageevent", "messaging_sendattempt",
              "messaging_dedupguard", "leads_lead")

DROP_LIKE_INDEXES = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT indexname FROM pg_indexes
           WHERE schemaname = current_schema() AND tablename = ANY(%s)
             AND indexname LIKE '%%\\_like' AND indexdef LIKE '%%varchar_pattern_ops%%'
  LOOP
    EXECUTE format('DROP INDEX %%I', r.indexname);
  END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_drop_redundant_fk_indexes"),
        ("leads", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.RunSQL(sql=[(DROP_LIKE_INDEXES, [list(HOT_TABLES)])], reverse_sql=migrations.RunSQL.noop),
    ]
