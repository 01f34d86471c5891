"""The SQL homes of two more rules every statement asks (their Python twins are held equal to them by
``tests/db/test_rule_twins.py``): whether a parent's children have an outcome (``goals.lifecycle.fan_in``)
and what a final goal says as a Celery task result (``goals.lifecycle.results``). Simple immutable SQL
functions, inlined by the planner."""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION goals_children_decided(total bigint, final bigint, failed bigint,
                                                  failures_allowed bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT final >= total OR failed > COALESCE(failures_allowed, total) $$;

CREATE OR REPLACE FUNCTION goals_celery_status(state text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE state WHEN 'succeeded' THEN 'SUCCESS' WHEN 'failed' THEN 'FAILURE'
                            WHEN 'cancelled' THEN 'REVOKED' WHEN 'expired' THEN 'REVOKED' END $$;

CREATE OR REPLACE FUNCTION goals_celery_result(state text, result jsonb, error jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE state
        WHEN 'succeeded' THEN COALESCE(result, 'null'::jsonb)::text
        WHEN 'failed' THEN jsonb_build_object(
            'exc_type', regexp_replace(COALESCE(error->>'type', 'Exception'), '^.*[.]', ''),
            'exc_message', jsonb_build_array(COALESCE(error->>'message', 'goal failed')),
            'exc_module', CASE WHEN COALESCE(error->>'type', 'Exception') LIKE '%.%'
                               THEN regexp_replace(COALESCE(error->>'type', 'Exception'), '[.][^.]*$', '')
                               ELSE 'builtins' END)::text
        ELSE jsonb_build_object('exc_type', 'TaskRevokedError', 'exc_message', jsonb_build_array('goal ' || state),
                                'exc_module', 'celery.exceptions')::text
    END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("goals", "0013_run_kind_function"),
    ]

    operations = [
        migrations.RunSQL(
            sql=FUNCTIONS,
            reverse_sql="DROP FUNCTION IF EXISTS goals_children_decided(bigint, bigint, bigint, bigint);"
                        " DROP FUNCTION IF EXISTS goals_celery_status(text);"
                        " DROP FUNCTION IF EXISTS goals_celery_result(text, jsonb, jsonb);",
        ),
    ]
