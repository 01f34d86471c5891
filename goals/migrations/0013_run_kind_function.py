"""The SQL home of "which executor runs the attempt" (``goals.run_kind``): one function every statement
calls, inlined by the planner (a simple immutable SQL function), so indexes and plans are as before."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("goals", "0012_family_findings"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE OR REPLACE FUNCTION goals_run_kind(kind text, continuation text) RETURNS text
                LANGUAGE sql IMMUTABLE PARALLEL SAFE
                AS $$ SELECT COALESCE(NULLIF(continuation, ''), kind) $$
            """,
            reverse_sql="DROP FUNCTION IF EXISTS goals_run_kind(text, text)",
        ),
    ]
